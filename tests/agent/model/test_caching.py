"""Prompt caching breakpoints: where, how many, how long, and a byte-stable history."""

from __future__ import annotations

import json
from typing import Any

from agent.history import build_messages, feedback_entry, inline_only, outcomes_entry
from agent.model.caching import history_ttl, strip_breakpoints, with_breakpoints

SYSTEM = [{"type": "text", "text": "You are careful."}]
TOOLS = [{"name": "a", "input_schema": {}}, {"name": "b", "input_schema": {}}]


def transcript(turns: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [{"kind": "user_text", "text": "do the thing"}]
    for turn in range(turns):
        call = {"type": "tool_use", "id": f"t{turn}", "name": "a", "input": {}}
        entries.append({"kind": "reply", "content": [call]})
        outcome = {"tool_use_id": f"t{turn}", "status": "ok", "output": {"text": f"out {turn}"}}
        entries.append(outcomes_entry([outcome]))
    return entries


def request(entries: list[dict[str, Any]]) -> tuple[list[Any], list[Any], list[Any]]:
    return with_breakpoints(
        SYSTEM, TOOLS, build_messages(entries, inline_only), ttl=history_ttl(entries)
    )


def markers(value: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        if "cache_control" in value:
            found.append(value["cache_control"])
        for item in value.values():
            found += markers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += markers(item)
    return found


def test_four_breakpoints_at_most_static_parts_kept_an_hour() -> None:
    system, tools, messages = request(transcript(3))
    assert tools[-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert system[-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "cache_control" not in tools[0]
    assert len(markers((system, tools, messages))) == 4
    assert [m["ttl"] for m in markers(messages)] == ["5m", "5m"]


def test_a_first_request_has_three_breakpoints() -> None:
    assert len(markers(request(transcript(0)))) == 3


def test_each_request_reads_the_entry_the_previous_one_wrote() -> None:
    """Turn N+1's second-to-last history breakpoint sits where turn N's last one was, on
    byte-identical content: the prefix the cache matches."""
    for turns in range(1, 6):
        _, _, before = request(transcript(turns - 1))
        _, _, after = request(transcript(turns))
        end = len(before) - 1
        assert "cache_control" in before[end]["content"][-1]
        assert "cache_control" in after[end]["content"][-1]
        same = json.dumps(strip_breakpoints(after[: end + 1]), sort_keys=True)
        assert same == json.dumps(strip_breakpoints(before), sort_keys=True)


def test_a_review_loop_keeps_history_an_hour() -> None:
    entries = [*transcript(1), feedback_entry("shorter, please")]
    assert history_ttl(entries) == "1h"
    _, _, messages = request(entries)
    assert {m["ttl"] for m in markers(messages)} == {"1h"}


def test_breakpoints_never_change_the_callers_lists() -> None:
    messages = build_messages(transcript(2), inline_only)
    snapshot = json.dumps([SYSTEM, TOOLS, messages])
    with_breakpoints(SYSTEM, TOOLS, messages, ttl="5m")
    assert json.dumps([SYSTEM, TOOLS, messages]) == snapshot


def test_providers_without_ttl_get_plain_ephemeral_markers() -> None:
    system, _, _ = with_breakpoints(SYSTEM, TOOLS, [], ttl="5m", explicit_ttl=False)
    assert system[-1]["cache_control"] == {"type": "ephemeral"}
