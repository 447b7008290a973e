"""The prompt-cache figures of ``make bench`` measure caching against its own ideal."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from agent.model.caching import with_breakpoints
from agent.model.pricing import turn_cost
from bench.prompt_cache import bill_run, cache_read_share, input_bytes

MODEL = "claude-sonnet-5-5"
SYSTEM = [{"type": "text", "text": "You are careful. " * 300}]
TOOLS = [{"name": "fetch", "description": "Fetch a document. " * 200, "input_schema": {}}]


def conversation(turns: int) -> list[dict[str, Any]]:
    """The task, then ``turns`` turns that each add the same amount of content."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "weekly status"}]}
    ]
    for turn in range(turns):
        messages.append(
            {"role": "assistant", "content": [{"type": "text", "text": f"turn {turn} " * 400}]}
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": f"t{turn}", "content": "x" * 4000}
                ],
            }
        )
    return messages


def request(turns: int) -> dict[str, Any]:
    """The body the agent sends after ``turns`` turns, breakpoints as the agent sets them."""
    system, tools, messages = with_breakpoints(SYSTEM, TOOLS, conversation(turns), ttl="5m")
    return {"system": system, "tools": tools, "messages": messages}


def test_a_run_whose_turns_add_equal_content_reads_all_of_each_request_back() -> None:
    bodies = [request(turns) for turns in range(10)]
    shares = [cache_read_share(a, b) for a, b in itertools.pairwise(bodies)]
    assert shares == [pytest.approx(1.0, abs=1e-3)] * 9


def test_a_changed_history_or_no_history_breakpoint_reads_back_only_tools_and_system() -> None:
    before = request(3)
    static_share = input_bytes({"system": SYSTEM, "tools": TOOLS}) / input_bytes(before)
    edited = request(4)
    edited["messages"][1] = {"role": "assistant", "content": [{"type": "text", "text": "edited"}]}
    unmarked = {**request(4), "messages": conversation(4)}
    for after in (edited, unmarked):
        assert cache_read_share(before, after) == pytest.approx(static_share, abs=1e-3)
    assert static_share < 0.5


def requests(gaps: list[float]) -> list[tuple[dict[str, Any], dict[str, Any], float]]:
    """One request per turn, sent after ``gaps`` seconds each; input tokens = bytes / 4."""
    sent, at = [], 0.0
    for turns, gap in enumerate(gaps):
        at += gap
        body = request(turns)
        sent.append((body, {"input_tokens": input_bytes(body) // 4, "output_tokens": 200}, at))
    return sent


def test_the_ideal_reads_every_earlier_byte_and_writes_only_the_newest_turn() -> None:
    run = requests([0.0, 5.0, 5.0])
    bill = bill_run(MODEL, run)
    tokens = [usage["input_tokens"] for _, usage, _ in run]
    first, second, third = tokens
    ideal = [
        {"cache_creation_input_tokens": first, "output_tokens": 200},
        {"cache_read_input_tokens": first, "cache_creation_input_tokens": second - first},
        {"cache_read_input_tokens": second, "input_tokens": third - second},
    ]
    expected = sum(turn_cost(MODEL, {"output_tokens": 200, **usage}) for usage in ideal)
    assert bill.ideal_usd == pytest.approx(expected, rel=1e-3)
    assert bill.ideal_usd <= bill.cached_usd < bill.uncached_usd


def test_a_cache_that_expires_between_requests_costs_more_than_its_ideal() -> None:
    quick = bill_run(MODEL, requests([0.0, 5.0, 5.0, 5.0]))
    after_a_long_wait = bill_run(MODEL, requests([0.0, 6 * 3600.0, 5.0, 5.0]))
    assert after_a_long_wait.ideal_usd == pytest.approx(quick.ideal_usd)
    assert after_a_long_wait.cached_usd > quick.cached_usd
