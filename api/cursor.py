"""``GET /runs`` cursors: opaque to callers, checked on the way back in.

A cursor is the table's ``LastEvaluatedKey`` (``agent.storage.store.Store.list_runs``) as
base64 JSON. One that comes back is used as ``ExclusiveStartKey`` only if it has the shape
that listing returns: the table's keys for a scan of every run, plus the index's keys (for
the same requester) for one requester's runs. Anything else, forged or from another
listing, is a 400 naming the cursor, never a DynamoDB error.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from agent.json_limits import TooDeep, loads

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
