"""JSON nesting is measured before parsing, without recursion, strings left out."""

from __future__ import annotations

import json

import pytest

from agent.json_limits import MAX_JSON_DEPTH, TooDeep, loads, nesting_depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("", 0),
        ("42", 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),  # brackets inside a string are text
        ('["\\"[[[", "]]]\\\\", [[]]]', 3),  # escaped quotes and backslashes
        ("]]]", 0),
        ("not json [[ at all", 2),
    ],
)
def test_nesting_depth_counts_open_arrays_and_objects_only(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_depth_is_measured_where_the_parser_would_overflow() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert nesting_depth(deep) == 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)
    with pytest.raises(TooDeep, match="the body: JSON nested 100000 levels deep"):
        loads(deep, "the body")


def test_json_within_the_limit_parses_as_usual() -> None:
    within = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert nesting_depth(json.dumps(loads(within, "x"))) == MAX_JSON_DEPTH
    with pytest.raises(TooDeep):
        loads("[" + within + "]", "x")
    with pytest.raises(json.JSONDecodeError):
        loads(b"{not json", "x")
