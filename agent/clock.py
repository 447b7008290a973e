"""Wall-clock time for steps (never read it outside a step: replay would see another time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def iso_after(seconds: int) -> str:
    """The UTC time ``seconds`` from now, ISO 8601."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def utc_clock_after(seconds: int) -> str:
    """The UTC time of day ``seconds`` from now, for people (``14:05:09 UTC``)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%H:%M:%S UTC")
