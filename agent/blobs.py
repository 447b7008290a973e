"""Large payloads live in S3, referenced from checkpoints, so no operation nears 256 KB.

A tool output or model reply over ``spill_bytes`` is written to ``s3://bucket/<run>/<key>``
and the checkpoint keeps ``{"blob": key, "bytes": n, "preview": ...}``. Keys are derived from
the run and the operation, so a retried step overwrites the same object instead of adding one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREVIEW_CHARS = 500


@dataclass(frozen=True)
class BlobStore:
    """Text blobs in one S3 bucket."""

    s3: Any
    bucket: str

    def put_text(self, key: str, text: str) -> None:
        """Store ``text`` under ``key`` (overwrites: keys are deterministic)."""
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=text.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )

    def get_text(self, key: str) -> str:
        """The text stored under ``key``."""
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        return str(body.read().decode("utf-8"))


def spill(text: str, *, blobs: BlobStore, key: str, limit: int) -> dict[str, Any]:
    """``{"text": ...}`` when small, else store it and return a reference with a preview."""
    size = len(text.encode("utf-8"))
    if size <= limit:
        return {"text": text}
    blobs.put_text(key, text)
    return {"blob": key, "bytes": size, "preview": text[:PREVIEW_CHARS]}


def unspill(value: dict[str, Any], *, blobs: BlobStore) -> str:
    """The full text of a value made by ``spill``."""
    if "blob" in value:
        return blobs.get_text(str(value["blob"]))
    return str(value["text"])
