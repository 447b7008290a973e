"""A deterministic stand-in for Claude, for running the whole stack with no API key.

Like pydantic-ai's TestModel it exercises the real loop: on the first turn it calls every
read-only tool it can fill with schema-valid arguments, then writes a draft built from the
task and the tool results, and a revised draft that takes the reviewer's feedback in.
Every card says when a draft came from this model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.model.request import ModelRequest

NAME = "offline"
MODEL_ID = "signoff-offline-model"
CHANNEL_MENTION = re.compile(r"<#([A-Z0-9]{2,32})(?:\|[^>]*)?>")
FEEDBACK_MARK = "The reviewer asked for changes to your draft:"


class OfflineModel:
    """Scripted turns: read-only tools first, then a draft; honours revision feedback."""

    name = NAME

    def __init__(self, read_only_tools: frozenset[str] = frozenset({"read_slack_history"})):
        self._read_only = read_only_tools

    def complete(self, request: ModelRequest) -> dict[str, Any]:
        """The next turn of a deterministic conversation."""
        task = _text_of(request.messages[0])
        last = request.messages[-1]
        if len(request.messages) == 1:
            calls = self._tool_calls(request.tools, task)
            if calls:
                return _reply(calls, "tool_use", request)
        if FEEDBACK_MARK in _text_of(last):
            return _reply([_text(_revised(request.messages))], "end_turn", request)
        return _reply([_text(_draft(task, request.messages))], "end_turn", request)

    def _tool_calls(self, tools: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
        channel = CHANNEL_MENTION.search(task)
        context = {"channel": channel.group(1)} if channel else {}
        calls: list[dict[str, Any]] = []
        for tool in tools:
            if tool["name"] not in self._read_only:
                continue
            arguments = schema_valid_arguments(tool["input_schema"], context)
            if arguments is not None:
                calls.append(
                    {
                        "type": "tool_use",
                        "id": f"toolu_offline_{len(calls)}",
                        "name": tool["name"],
                        "input": arguments,
                    }
                )
        return calls


def schema_valid_arguments(
    schema: dict[str, Any], context: dict[str, str]
) -> dict[str, Any] | None:
    """Arguments for the required properties, or None when one cannot be filled sensibly."""
    arguments: dict[str, Any] = {}
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        spec = properties.get(name, {})
        if name in context:
            arguments[name] = context[name]
        elif "default" in spec:
            arguments[name] = spec["default"]
        elif spec.get("type") == "integer":
            arguments[name] = spec.get("minimum", 1)
        elif spec.get("type") == "boolean":
            arguments[name] = False
        elif spec.get("type") == "string" and "pattern" not in spec:
            arguments[name] = "example"
        else:
            return None
    return arguments


def _draft(task: str, messages: list[dict[str, Any]]) -> str:
    findings = [
        f"- {block.get('tool_use_id', 'tool')}: {_summary(block)}"
        for message in messages[1:]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    request = task.split("\n", 2)[-1].strip()
    lines = [f"Draft: {request}"]
    if findings:
        lines += ["", "What I found:", *findings]
    return "\n".join(lines)


def _revised(messages: list[dict[str, Any]]) -> str:
    previous = next(
        _text_of(message) for message in reversed(messages) if message["role"] == "assistant"
    )
    feedback = _text_of(messages[-1]).split(FEEDBACK_MARK, 1)[1].split("\n\n")[1].strip()
    return f"{previous}\n\nRevised as asked: {feedback}"


def _summary(block: dict[str, Any]) -> str:
    content = block.get("content", "")
    text = content if isinstance(content, str) else json.dumps(content)
    prefix = "error: " if block.get("is_error") else ""
    return prefix + (text[:200] + "…" if len(text) > 200 else text)


def _text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if block.get("type") == "text")


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _reply(
    content: list[dict[str, Any]], stop_reason: str, request: ModelRequest
) -> dict[str, Any]:
    prompt_chars = len(json.dumps(request.messages)) + len(json.dumps(request.system))
    return {
        "model": MODEL_ID,
        "stop_reason": stop_reason,
        "content": content,
        "usage": {
            "input_tokens": prompt_chars // 4,
            "output_tokens": len(json.dumps(content)) // 4,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }
