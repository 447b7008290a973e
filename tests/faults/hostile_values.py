"""Hostile values for generated requests: nasty and huge text, any JSON, JSON nested past
any parser's limit, text heavier in bytes than in characters, long principals, damage.

Strategies are module constants: building them inside each draw costs hypothesis more than
the request they go into.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from hypothesis import strategies as st

from agent.json_limits import MAX_JSON_DEPTH

NASTY_STRINGS = (
    "",
    " ",
    "\x00",
    "\u202e\u2066evil\u2069",  # bidi overrides
    "\U0001d56c\U0001d586\U0001d586 \U0001f44d\U0001f3fd",  # fraktur, an emoji with a skin tone
    "<@UAPPROVER> <!channel>",
    "null",
    "' OR '1'='1",
    "${jndi:ldap://127.0.0.1/x}",
    "../../../etc/passwd",
    "\r\nX-Injected: yes",
    "%00%ff",
    "\ud800",  # a lone surrogate: valid in JSON text, not in UTF-8
)


# Long runs of one character: cheap to draw, far past every limit Slack or the table sets.
HUGE_STRINGS = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["x", "é", "👍", "\u0301", "%", "<"]),
    st.integers(min_value=3_001, max_value=6_000),
)
SHORT_STRINGS = st.text(max_size=24) | st.sampled_from(NASTY_STRINGS)
STRINGS = SHORT_STRINGS | HUGE_STRINGS
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(STRINGS, inner, max_size=3),
    max_leaves=4,
)
NOT_STRINGS = JSON_VALUES.filter(lambda value: not isinstance(value, str))


def nested_json(depth: int, kind: str) -> str:
    """JSON text ``depth`` levels deep (as text: Python cannot build and dump it that deep)."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "null" + "}" * depth


# Just past the limit, or far past the parser's recursion limit.
DEEP_JSON = st.builds(
    nested_json,
    st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=MAX_JSON_DEPTH + 3)
    | st.integers(min_value=900, max_value=5_000),
    st.sampled_from(["array", "object"]),
)


def heavy_text(min_bytes: int) -> st.SearchStrategy[str]:
    """Text over ``min_bytes`` in UTF-8 but well under it in characters (2-4 bytes each)."""
    return st.sampled_from(["é", "€", "👍"]).flatmap(
        lambda char: st.integers(
            min_value=min_bytes // len(char.encode()) + 1,
            max_value=min_bytes // len(char.encode()) + 2_000,
        ).map(lambda count: char * count)
    )


# IAM principals as API Gateway reports them: SSO role sessions run past 100 characters,
# IAM allows 2,048, and nothing stops a test from sending more.
LONG_PRINCIPALS = st.builds(
    lambda role, session: f"arn:aws:sts::123456789012:assumed-role/{role}/{session}",
    st.just("AWSReservedSSO_AdministratorAccess_0123456789abcdef") | st.text("ab_", max_size=64),
    st.integers(min_value=1, max_value=3_000).map(lambda size: "s" * size),
)
# Damage, half the time: up to three (path index, replacement) pairs; the index picks among
# the payload's key paths. Replacements never yield an approver's id, the waiting gate's id
# or an action id, so damage cannot turn a harmless request into a decision.
_DELETE = object()
EDITS = st.just([]) | st.lists(
    st.tuples(st.integers(min_value=0, max_value=999), st.just(_DELETE) | JSON_VALUES),
    min_size=1,
    max_size=3,
)


@cache
def usually(
    value: Any, otherwise: st.SearchStrategy[Any] = SHORT_STRINGS
) -> st.SearchStrategy[Any]:
    """``value``, or anything ``otherwise`` draws."""
    return st.just(value) | otherwise


def damage(payload: dict[str, Any], edits: list[tuple[int, Any]], *, keep: str = "") -> Any:
    """The payload with the ``edits`` applied: a key deleted, or given another value."""
    damaged = json.loads(json.dumps(payload))
    paths = [path for path in _paths(damaged) if ".".join(path) != keep]
    for index, value in edits:
        *parents, key = paths[index % len(paths)]
        parent = damaged
        for name in parents:
            parent = parent.get(name) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or key not in parent:
            continue  # an earlier edit removed or replaced it
        if value is _DELETE:
            del parent[key]
        else:
            parent[key] = value
    return damaged


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path into nested dicts."""
    if not isinstance(value, dict):
        return []
    found = []
    for key, inner in value.items():
        found.append((*prefix, key))
        found.extend(_paths(inner, (*prefix, key)))
    return found
