"""Large payloads live in S3, referenced from checkpoints, so no operation nears 256 KB.

A tool output or model reply over ``spill_bytes`` is written to ``s3://bucket/<run>/<key>``
and the checkpoint keeps ``{"blob": key, "bytes": n, "preview": ...}``. Keys are derived from
the run and the operation, so a retried step overwrites the same object instead of adding one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PREVIEW_CHARS = 500
CACHE_BYTES = 64 * 1024 * 1024


@dataclass
class BlobStore:
    """Text blobs in one S3 bucket, with a per-process cache.

    Every turn rebuilds the conversation, so without the cache a warm Lambda would fetch
    every earlier large output again on each turn. A blob's content never changes for its
    key (a retried step writes the same run's same operation), so cached reads stay correct.
    """

    s3: Any
    bucket: str
    cache_bytes: int = CACHE_BYTES
    _cache: OrderedDict[str, str] = field(default_factory=OrderedDict, repr=False)
    _cached: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put_text(self, key: str, text: str) -> None:
        """Store ``text`` under ``key`` (overwrites: keys are deterministic)."""
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=text.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )
        self._remember(key, text)

    def get_text(self, key: str) -> str:
        """The text stored under ``key``."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        text = str(body.read().decode("utf-8"))
        self._remember(key, text)
        return text

    def _remember(self, key: str, text: str) -> None:
        with self._lock:
            if key in self._cache:
                self._cached -= len(self._cache.pop(key))
            self._cache[key] = text
            self._cached += len(text)
            while self._cached > self.cache_bytes and self._cache:
                _, evicted = self._cache.popitem(last=False)
                self._cached -= len(evicted)


def spill(text: str, *, blobs: BlobStore, key: str, limit: int) -> dict[str, Any]:
    """``{"text": ...}`` when small, else store it and return a reference with a preview."""
    size = len(text.encode("utf-8"))
    if size <= limit:
        return {"text": text}
    blobs.put_text(key, text)
    return {"blob": key, "bytes": size, "preview": text[:PREVIEW_CHARS]}


def full_text(blocks: Iterable[dict[str, Any]], *, blobs: BlobStore) -> str:
    """The whole text of a reply's blocks, spilled ones fetched: what a reviewer approves and
    what is delivered, byte for byte."""
    return "\n\n".join(unspill(block, blobs=blobs) for block in blocks).strip()


def unspill(value: dict[str, Any], *, blobs: BlobStore) -> str:
    """The full text of a value made by ``spill``."""
    if "blob" in value:
        return blobs.get_text(str(value["blob"]))
    return str(value["text"])
