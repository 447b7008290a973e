"""Reusable Claude turns for scenarios: tool calls, drafts, and a router by turn number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.claude import Reply

CHANNEL = "CGENERAL"


def tool_use(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def calls(*blocks: dict[str, Any]) -> Reply:
    return Reply(
        content=[{"type": "text", "text": "Working on it."}, *blocks], stop_reason="tool_use"
    )


def draft(text: str) -> Reply:
    return Reply(content=[{"type": "text", "text": text}], stop_reason="end_turn")


def assistant_turns(body: dict[str, Any]) -> int:
    """How many model turns the conversation already holds (the turn being asked for)."""
    return sum(1 for message in body["messages"] if message["role"] == "assistant")


def by_turn(*turns: Reply | Callable[[dict[str, Any]], Reply]) -> Callable[[dict[str, Any]], Any]:
    """Answer turn N with ``turns[N]``; a callable gets the request body."""

    def script(body: dict[str, Any]) -> Any:
        turn = turns[assistant_turns(body)]
        return turn(body) if callable(turn) else turn

    return script


def last_user_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["messages"][-1]["content"])


def tool_results(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The last user message's tool results, by tool_use_id."""
    return {
        block["tool_use_id"]: block
        for block in last_user_blocks(body)
        if block.get("type") == "tool_result"
    }
