"""``bench/results.json``: one object, metric name -> number, plus the machine and versions.

Each benchmark module merges its metrics in; ``python -m bench.results`` starts a fresh file
(``make bench`` does, so the file holds one run's figures only).
"""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
PACKAGES = (
    "aws-durable-execution-sdk-python",
    "aws-durable-execution-sdk-python-testing",
    "anthropic",
    "slack-bolt",
    "boto3",
)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {name: version(name) for name in PACKAGES},
    }


def load_results() -> dict[str, Any]:
    """The results so far (empty when there are none)."""
    return dict(json.loads(RESULTS.read_text())) if RESULTS.exists() else {}


def merge_results(metrics: dict[str, Any]) -> None:
    """Add these metrics to the results file, with the machine they were measured on."""
    existing = load_results()
    existing.update(metrics)
    existing["machine"] = machine()
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


def main() -> None:
    """Start a fresh results file."""
    RESULTS.write_text(json.dumps({"machine": machine()}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
