"""``bench/results.json``: one object, metric name -> number, plus the machine and versions."""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
PACKAGES = ("aws-durable-execution-sdk-python", "anthropic", "slack-bolt", "boto3")


def merge_results(metrics: dict[str, Any]) -> None:
    """Add these metrics to the results file, with the machine they were measured on."""
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update(metrics)
    existing["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {name: version(name) for name in PACKAGES},
    }
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
