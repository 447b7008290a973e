"""What the audit routes need beside the resolver: the export's time range and JSON Lines.

``GET /runs/{id}/audit`` and ``GET /audit`` answer ``application/x-ndjson``: one entry per
line, each line the entry's canonical JSON (``agent.storage.audit_chain``), so a line can be
hashed as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agent.storage.audit_chain import canonical

NDJSON = "application/x-ndjson"
NEXT_CURSOR_HEADER = "x-next-cursor"
MAX_EXPORT_DAYS = 366
DEFAULT_EXPORT_LIMIT = 500
MAX_EXPORT_LIMIT = 1000


class BadRange(ValueError):
    """The export's ``since``/``until`` cannot be read or make no range; says which."""


@dataclass(frozen=True)
class TimeRange:
    """From ``since`` (inclusive) to ``until`` (exclusive), in UTC."""

    since: datetime
    until: datetime


def parse_moment(text: str, name: str) -> datetime:
    """``2026-08-01`` (that day's start, UTC) or an ISO 8601 time (UTC when it names no zone)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRange(f"{name} {text!r} is not a date (2026-08-01) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def time_range(since: str, until: str | None, *, now: datetime) -> TimeRange:
    """The range an export covers (``until`` defaults to now); at most a year."""
    start = parse_moment(since, "since")
    end = parse_moment(until, "until") if until else now
    if end <= start:
        raise BadRange(f"until ({end.isoformat()}) must be after since ({start.isoformat()})")
    if end - start > timedelta(days=MAX_EXPORT_DAYS):
        raise BadRange(f"an export covers at most {MAX_EXPORT_DAYS} days: page by time range")
    return TimeRange(start, end)


def ndjson(entries: Iterable[dict[str, Any]]) -> str:
    """Entries as JSON Lines (canonical JSON, one per line, each line ended)."""
    return "".join(canonical(entry).decode("utf-8") + "\n" for entry in entries)
