"""How the offline model reads a conversation: the task (its channels and the posts it asks
for), every tool call with its result, a reviewer's refusal of a call, feedback on a draft.

It reads what the loop writes in the prompts' own words: the task message is prompts/task.md
(a header naming the run's channel, a blank line, the task), and a refusal or feedback is
matched against prompts/tool_rejected.md and revise_draft.md as loaded, so their wording
lives in one place. Pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.model.prompts import load_prompt

ACTIONS = ("post", "send", "announce", "notify", "share", "tell")
# A channel as a task holds it: Slack's <#C123|ops> (or <#C123>), or a name typed as #ops.
CHANNEL = r"<#[A-Z0-9]{2,32}(?:\|[^<>|]*)?>|(?<![\w&/#])#[a-z0-9][a-z0-9._-]*"
_CHANNEL = re.compile(CHANNEL)
_ACTION = re.compile(
    r"(?:^|[,;.]\s*|\s(?:and|then|also)\s+)(?:(?:and|then|also|please)\s+)*"
    rf"(?P<verb>{'|'.join(ACTIONS)})\b",
    re.IGNORECASE,
)
_TARGET = re.compile(rf"\b(?:to|in|on|into|at)\s+(?:the\s+)?({CHANNEL})(?:\s+channel)?")
_LEADING = re.compile(rf"\s*({CHANNEL})")


@dataclass(frozen=True)
class Channel:
    """A channel as a tool argument takes it (an id, or ``#name``) and as a person reads it."""

    arg: str
    label: str

    @classmethod
    def of(cls, token: str) -> Channel:
        if token.startswith("<#"):
            channel_id, _, name = token[2:-1].partition("|")
            return cls(channel_id, f"#{name or channel_id}")
        return cls(token, token)


@dataclass(frozen=True)
class Call:
    """One tool call of the conversation and, once it ran, what it returned."""

    id: str
    name: str
    input: dict[str, Any]
    turn: int
    result: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class Plan:
    """One post the task asks for: where to (None: nowhere named) and what to say."""

    channel: Channel | None
    verb: str
    what: str


@dataclass
class Conversation:
    """What the model needs from the messages: the task, the calls so far, any feedback."""

    task: str
    run_channel: Channel | None
    calls: list[Call] = field(default_factory=list)
    turns: int = 0
    drafts: list[str] = field(default_factory=list)
    feedback: str | None = None

    @classmethod
    def read(cls, messages: list[dict[str, Any]]) -> Conversation:
        header, _, task = _text_of(messages[0]).partition("\n\n")
        where = _CHANNEL.search(header)  # prompts/task.md: "Task from <@U…> in <#C…>:"
        run_channel = Channel(Channel.of(where.group(0)).arg, "this channel") if where else None
        convo = cls(task.strip(), run_channel)
        results: dict[str, tuple[str, bool]] = {}
        for message in messages[1:]:
            blocks = message["content"] if isinstance(message["content"], list) else []
            if message["role"] == "assistant":
                convo.calls += [
                    _call(b, convo.turns) for b in blocks if b.get("type") == "tool_use"
                ]
                convo.drafts += [b["text"] for b in blocks if b.get("type") == "text"]
                convo.turns += 1
            for block in blocks:
                if block.get("type") == "tool_result":
                    results[block["tool_use_id"]] = (_content(block), bool(block.get("is_error")))
        convo.calls = [
            Call(**{**c.__dict__, "result": results[c.id][0], "is_error": results[c.id][1]})
            if c.id in results
            else c
            for c in convo.calls
        ]
        convo.feedback = _feedback(_text_of(messages[-1])) if len(messages) > 1 else None
        return convo

    def channels(self) -> list[Channel]:
        """The channels the task names, in order, each once (by id when Slack gave one)."""
        named = [Channel.of(m.group(0)) for m in _CHANNEL.finditer(self.task)]
        by_label: dict[str, Channel] = {}
        for channel in named:
            if channel.label not in by_label or channel.arg != channel.label:
                by_label[channel.label] = channel
        return list(by_label.values())

    def channel(self, token: str) -> Channel:
        """A channel the task names, as ``channels`` has it."""
        label = Channel.of(token).label
        return next(c for c in self.channels() if c.label == label)

    def label(self, arg: str) -> str:
        known = [*self.channels(), *([self.run_channel] if self.run_channel else [])]
        return next((c.label for c in known if c.arg == arg), arg)

    def plans(self) -> list[Plan]:
        """One plan per action the task asks for, in the order it asks."""
        starts = list(_ACTION.finditer(self.task))
        plans = []
        for index, start in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(self.task)
            rest = self.task[start.end() : end].strip(" ,.;:")
            plans.append(self._plan(start.group("verb").lower(), rest))
        return plans

    def _plan(self, verb: str, rest: str) -> Plan:
        targets = list(_TARGET.finditer(rest))
        if targets:
            where = targets[-1]
            what = rest[: where.start()] + rest[where.end() :]
            return Plan(self.channel(where.group(1)), verb, what.strip(" ,.;:"))
        leading = _LEADING.match(rest)
        if verb in ("notify", "tell") and leading is not None:
            return Plan(self.channel(leading.group(1)), verb, rest[leading.end() :].strip(" ,.;:"))
        return Plan(self.run_channel, verb, rest)


def refusal(call: Call) -> tuple[str, str, str] | None:
    """(verb, who, why) when the result says a reviewer did not let the call run."""
    found = _refusal_pattern().fullmatch((call.result or "").strip()) if call.is_error else None
    if found is None or found["tool"] != call.name:
        return None
    return found["verb"], found["by"] or "the reviewer", found["reason"]


@cache
def _refusal_pattern() -> re.Pattern[str]:
    """prompts/tool_rejected.md as a pattern, so the wording lives in one place."""
    groups = {
        "VERB": r"(?P<verb>.+?)",
        "TOOL": r"(?P<tool>\S+?)",
        "BY": r"(?: \((?P<by>[^()]*)\))?",
        "REASON": r"(?P<reason>.*)",
    }
    marked = {k.lower(): f"XMARK{k}X" for k in groups}
    pattern = re.escape(load_prompt("tool_rejected", **marked))
    for key, group in groups.items():
        pattern = pattern.replace(f"XMARK{key}X", group)
    return re.compile(pattern, re.DOTALL)


def _feedback(text: str) -> str | None:
    """The reviewer's words, when ``text`` is prompts/revise_draft.md filled with them."""
    before, _, after = load_prompt("revise_draft", feedback="XMARKFEEDBACKX").partition(
        "XMARKFEEDBACKX"
    )
    if text.startswith(before) and text.endswith(after) and len(text) >= len(before + after):
        return text[len(before) : len(text) - len(after)].strip()
    return None


def _call(block: dict[str, Any], turn: int) -> Call:
    return Call(block["id"], block["name"], dict(block.get("input") or {}), turn)


def _content(block: dict[str, Any]) -> str:
    content = block.get("content", "")
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))


def json_list(text: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(text or "")
    except json.JSONDecodeError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if block.get("type") == "text")
