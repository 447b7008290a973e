"""The conversation with Claude, rebuilt from step results on every replay (pure).

The run keeps a transcript of small entries: the task, each checkpointed reply, each turn's
tool outcomes and each piece of reviewer feedback. ``build_messages`` turns it into Messages
API messages; large payloads stay as references until ``resolve`` (inside a step) fetches them.
The same transcript always yields byte-identical messages, so each request extends the last
one's prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.model.prompts import load_prompt
from agent.models import RunRequest

Resolve = Callable[[dict[str, Any]], str]


def task_entry(request: RunRequest) -> dict[str, Any]:
    """The first user message: who asked, where, and the task."""
    where = f" in <#{request.channel}>" if request.channel else ""
    text = load_prompt("task", requester=request.requester, where=where, task=request.task)
    return {"kind": "user_text", "text": text}


def reply_entry(reply: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "reply", "content": reply["content"]}


def outcomes_entry(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "tool_outcomes", "outcomes": outcomes}


def feedback_entry(feedback: str) -> dict[str, Any]:
    """A reviewer's feedback (``feedback`` marks it for agent.model.caching's TTL choice)."""
    text = load_prompt("revise_draft", feedback=feedback)
    return {"kind": "user_text", "text": text, "feedback": True}


def build_messages(transcript: list[dict[str, Any]], resolve: Resolve) -> list[dict[str, Any]]:
    """Messages API messages for the transcript, with references resolved."""
    messages: list[dict[str, Any]] = []
    for entry in transcript:
        match entry["kind"]:
            case "user_text":
                message = {"role": "user", "content": [{"type": "text", "text": entry["text"]}]}
            case "reply":
                blocks = [_resolve_block(block, resolve) for block in entry["content"]]
                message = {"role": "assistant", "content": blocks}
            case "tool_outcomes":
                results = [tool_result_block(outcome, resolve) for outcome in entry["outcomes"]]
                message = {"role": "user", "content": results}
            case other:
                raise ValueError(f"unknown transcript entry {other!r}")
        messages.append(message)
    return messages


def tool_result_block(outcome: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    """One ``tool_result``; a failed, rejected or expired call is an ``is_error`` result."""
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": outcome["tool_use_id"],
        "content": resolve(outcome["output"]),
    }
    if outcome["status"] != "ok":
        block["is_error"] = True
    return block


def _resolve_block(block: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    if block.get("type") == "text" and "blob" in block:
        return {"type": "text", "text": resolve(block)}
    return block


def inline_only(value: dict[str, Any]) -> str:
    """A resolver for values known to be inline (pure tests, the offline draft)."""
    if "blob" in value:
        return str(value.get("preview", ""))
    return str(value["text"])
