"""``GET /runs`` and ``GET /audit`` cursors: opaque to callers, checked on the way back in.

A cursor is the table's ``LastEvaluatedKey`` (``agent.storage.store.Store.list_runs``) as
base64 JSON. One that comes back is used as ``ExclusiveStartKey`` only if it has the shape
that listing returns: the table's keys for a scan of every run, plus the index's keys (for
the same requester) for one requester's runs. Anything else, forged or from another
listing, is a 400 naming the cursor, never a DynamoDB error. An export's cursor is the day
it reads and the audit index's ``LastEvaluatedKey`` in that day (``ExportPosition``).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from agent.json_limits import TooDeep, loads
from agent.storage.audit import ExportPosition

TABLE_KEYS = frozenset({"pk", "sk"})
REQUESTER_INDEX_KEYS = TABLE_KEYS | {"gsi_requester", "created_at"}
MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key value
NOT_OURS = "cursor is not one this API returned for this listing"


class BadCursor(ValueError):
    """The cursor cannot have come from this listing."""


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """The next page's cursor, or None on the last page."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: str | None, *, requester: str | None) -> dict[str, str] | None:
    """The start key a cursor stands for; ``BadCursor`` for one this listing never made."""
    if not cursor:
        return None
    try:
        decoded = loads(base64.urlsafe_b64decode(cursor.encode()), "cursor")
    except (binascii.Error, TooDeep, UnicodeDecodeError, ValueError):
        raise BadCursor(NOT_OURS) from None
    expected = REQUESTER_INDEX_KEYS if requester else TABLE_KEYS
    if not isinstance(decoded, dict) or set(decoded) != expected:
        raise BadCursor(NOT_OURS)
    if not all(_a_key(value) for value in decoded.values()):
        raise BadCursor(NOT_OURS)
    if requester and decoded["gsi_requester"] != requester:
        raise BadCursor(f"{NOT_OURS}: it lists another requester's runs")
    return decoded


def _a_key(value: Any) -> bool:
    """A non-empty string that fits in a key attribute."""
    if not isinstance(value, str):
        return False
    return 0 < len(value.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES


AUDIT_INDEX_KEYS = TABLE_KEYS | {"audit_day", "audit_at"}


def encode_export_cursor(position: ExportPosition | None) -> str | None:
    """The next export page's cursor, or None on the last page."""
    if position is None:
        return None
    raw = json.dumps({"day": position.day, "after": position.after})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_export_cursor(cursor: str | None, *, days: list[str]) -> ExportPosition | None:
    """Where an export page starts; ``BadCursor`` for a cursor this export (these ``days``)
    never made."""
    if not cursor:
        return None
    try:
        decoded = loads(base64.urlsafe_b64decode(cursor.encode()), "cursor")
    except (binascii.Error, TooDeep, UnicodeDecodeError, ValueError):
        raise BadCursor(NOT_OURS) from None
    if not isinstance(decoded, dict) or set(decoded) != {"day", "after"}:
        raise BadCursor(NOT_OURS)
    day, after = decoded["day"], decoded["after"]
    if day not in days:
        raise BadCursor(f"{NOT_OURS}: it is for another time range")
    if after is not None:
        if not isinstance(after, dict) or set(after) != AUDIT_INDEX_KEYS:
            raise BadCursor(NOT_OURS)
        if not all(_a_key(value) for value in after.values()) or after["audit_day"] != day:
            raise BadCursor(NOT_OURS)
    return ExportPosition(day=day, after=after)
