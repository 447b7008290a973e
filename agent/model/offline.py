"""A deterministic stand-in for Claude, for running the whole stack with no API key.

Like pydantic-ai's TestModel it exercises the real loop, and every kind of sign-off in it:
1. it reads first: ``read_slack_history`` of each channel the task names (else the run's),
   and any other read-only tool it can fill with schema-valid arguments;
2. a task that asks to post, send, announce, notify, share or tell calls
   ``post_slack_message`` (gated: a person approves each post), one call per such action,
   all in one turn, to the channel named in that part of the task (else the run's);
3. a post a reviewer asks to change is made again with the change; one rejected is not;
4. then it writes a draft from what it read and did, and answers a reviewer's feedback with
   a visibly revised draft.
It reads the conversation with ``agent.model.offline_reading`` and writes with
``agent.model.offline_writing``.
5. an MCP tool (``mcp__<server>__<tool>``) whose name's words the task holds (``create
   ticket`` for ``create_ticket``) is called once, in the first turn, with schema-valid
   arguments from its input schema (the run gates it like any call).
It never calls another side-effecting or long-running tool. Every card says when a draft
came from this model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.model import offline_writing as writing
from agent.model.offline_reading import Call, Conversation, json_list, refusal
from agent.model.request import ModelRequest

NAME = "offline"
MODEL_ID = "signoff-offline-model"
POST_TOOL = "post_slack_message"
READ_TOOL = "read_slack_history"
TITLE_CHARS = 150
MCP_PREFIX = "mcp__"


class OfflineModel:
    """Scripted turns: reads, then gated posts the task asks for, then a draft; honours
    feedback on posts and on drafts."""

    name = NAME

    def __init__(self, read_only_tools: frozenset[str] = frozenset({READ_TOOL})):
        self._read_only = read_only_tools

    def complete(self, request: ModelRequest) -> dict[str, Any]:
        """The next turn of a deterministic conversation."""
        convo = Conversation.read(request.messages)
        if convo.feedback is not None and convo.drafts:
            return _reply([_text(writing.revise(convo.drafts[-1], convo.feedback))], request)
        tools = {tool["name"]: tool for tool in request.tools}
        calls = (
            self._reads(convo, tools) + _mcp_calls(convo.task, tools) if convo.turns == 0 else []
        )
        if not calls and POST_TOOL in tools:
            calls = _posts(convo)
        if calls:
            numbered = [
                {"type": "tool_use", "id": f"toolu_offline_{convo.turns}_{i}", **call}
                for i, call in enumerate(calls)
            ]
            return _reply(numbered, request, stop_reason="tool_use")
        return _reply([_text(_draft(convo))], request)

    def _reads(self, convo: Conversation, tools: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        channels = convo.channels() or ([convo.run_channel] if convo.run_channel else [])
        calls = []
        for name, tool in tools.items():
            if name not in self._read_only:
                continue
            schema = tool["input_schema"]
            per_channel = "channel" in schema.get("required", [])
            contexts = [{"channel": c.arg} for c in channels] if per_channel else [{}]
            for context in contexts:
                arguments = schema_valid_arguments(schema, context)
                if arguments is not None:
                    calls.append({"name": name, "input": arguments})
        return calls


def _mcp_calls(task: str, tools: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The MCP tools the task names by their words, with arguments from their schemas."""
    said = {word.removesuffix("s") for word in re.findall(r"[a-z0-9]+", task.lower())}
    calls = []
    for name, tool in tools.items():
        words = name.rpartition("__")[2].lower().split("_")
        if name.startswith(MCP_PREFIX) and all(w.removesuffix("s") in said for w in words):
            quoted = re.search(r'"([^"]{1,200})"', task)  # a title the task spells out
            title = quoted.group(1) if quoted else writing.plain(task)
            context = {"title": writing.cut(title, TITLE_CHARS)}
            arguments = schema_valid_arguments(tool["input_schema"], context)
            if arguments is not None:
                calls.append({"name": name, "input": arguments})
    return calls


def _posts(convo: Conversation) -> list[dict[str, Any]]:
    """The posts to make now: every planned one at first, then those a reviewer asked to
    change in the turn just before, with the change."""
    rounds = _post_rounds(convo)
    if not rounds:
        readings = _readings(convo)
        return [
            _post_call(plan.channel.arg, writing.post_text(plan.verb, plan.what, sources))
            for plan in convo.plans()
            if plan.channel is not None
            for sources in [[r for r in readings if r.label != plan.channel.label] or readings]
        ]
    if rounds[-1][0].turn != convo.turns - 1:
        return []
    again = [(call, refused) for call in rounds[-1] if (refused := refusal(call)) is not None]
    return [
        _post_call(call.input["channel"], writing.revise_post(call.input["text"], why))
        for call, (verb, _, why) in again
        if verb.startswith("asked for changes")
    ]


def _post_call(channel: str, text: str) -> dict[str, Any]:
    return {"name": POST_TOOL, "input": {"channel": channel, "text": text}}


def _post_rounds(convo: Conversation) -> list[list[Call]]:
    """The post calls, one list per turn that made any."""
    turns = sorted({c.turn for c in convo.calls if c.name == POST_TOOL})
    return [[c for c in convo.calls if c.name == POST_TOOL and c.turn == t] for t in turns]


def _draft(convo: Conversation) -> str:
    title = writing.cut(writing.plain(convo.task), TITLE_CHARS).rstrip(".!")
    return writing.draft(title[:1].upper() + title[1:], _readings(convo), _outcomes(convo))


def _readings(convo: Conversation) -> list[writing.Reading]:
    """What each channel read said (people only: the app's own posts are left out); a
    channel the task names other than as a post's target counts as asked about."""
    targets = {p.channel.arg for p in convo.plans() if p.channel is not None}
    asked = {c.arg for c in convo.channels()} - targets
    readings = []
    for call in convo.calls:
        channel = call.input.get("channel")
        if call.name != READ_TOOL or not isinstance(channel, str):
            continue
        messages = json_list(call.result) if not call.is_error else []
        names = {m["user"]: m["name"] for m in messages if m.get("user") and m.get("name")}
        said = tuple(
            writing.Said(
                str(m.get("name") or m.get("user") or "someone"), writing.plain(text, names)
            )
            for m in reversed(messages)  # oldest first, as people read a channel
            if not m.get("bot") and (text := str(m.get("text") or "").strip())
        )
        readings.append(writing.Reading(convo.label(channel), said, channel in asked))
    return readings


def _outcomes(convo: Conversation) -> list[writing.PostOutcome]:
    """How each planned post ended (its last attempt), in the task's order."""
    plans = convo.plans()
    rounds = _post_rounds(convo)
    slots: list[list[Call]] = [[call] for call in rounds[0]] if rounds else []
    for later in rounds[1:]:
        open_slots = [s for s in slots if _status(s[-1])[0] == "changes"]
        for slot, call in zip(open_slots, later, strict=False):
            slot.append(call)
    outcomes = []
    for slot in slots:
        last = slot[-1]
        status, why = _status(last)
        label = convo.label(str(last.input.get("channel", "")))
        text = str(last.input.get("text", ""))
        outcomes.append(writing.PostOutcome(label, text, status, why, len(slot)))
    nowhere = [p for p in plans if p.channel is None]
    return outcomes + [writing.PostOutcome("", "", "nowhere") for _ in nowhere]


def _status(call: Call) -> tuple[writing.PostStatus, str]:
    if not call.is_error:
        return "posted", ""
    refused = refusal(call)
    if refused is None:
        return "failed", call.result or "no answer"
    verb, by, why = refused
    if verb.startswith("asked for changes"):
        return "changes", f"{by} asked for changes: {why}"
    if verb == "rejected":
        return "rejected", f"{by} rejected it: {why}"
    return "expired", why


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


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _reply(
    content: list[dict[str, Any]], request: ModelRequest, stop_reason: str = "end_turn"
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
