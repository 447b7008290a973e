"""Deployment package sizes, built the way ``make bundles`` builds them.

Each bundle is built (or found up to date) with ``infra.build_bundles``, then measured twice:
unzipped (the files Lambda unpacks, against its 250 MB limit) and zipped with deflate, as
the CDK uploads an asset directory (against the 50 MB limit of a direct upload). MB here
are 10^6 bytes.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

from bench.harness import log
from bench.results import merge_results
from infra.build_bundles import build_bundle, find_toolchain
from infra.bundles import BUNDLES, DEFAULT_BUNDLE_ROOT

MB = 1_000_000


def unzipped_bytes(root: Path) -> int:
    """Bytes of every file under ``root``."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def zipped_bytes(root: Path) -> int:
    """Bytes of ``root`` zipped with deflate (level 6)."""
    with tempfile.TemporaryFile() as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
        return raw.tell()


def main() -> None:
    tools = find_toolchain()
    metrics: dict[str, float] = {}
    for name in ("agent", "slack", "api"):
        built = build_bundle(BUNDLES[name], DEFAULT_BUNDLE_ROOT, tools)
        log(f"bundles: {name} {built.action}")
        metrics[f"bundle_mb_{name}"] = round(zipped_bytes(built.path) / MB, 1)
        metrics[f"bundle_mb_{name}_unzipped"] = round(unzipped_bytes(built.path) / MB, 1)
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
