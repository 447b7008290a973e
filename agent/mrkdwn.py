"""Slack mrkdwn and Block Kit basics: escaping, cutting to Slack's limits, mentions, dates.

Pure functions, no I/O. User and model text is escaped (so a draft cannot ping
``<!channel>``) and cut to Slack's limits with a visible marker. Every message the app posts
(cards, progress, results) is built from these, and ``Message`` is what the Slack layer posts.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 3000
MAX_BLOCKS = 50
TRUNCATION_MARKER = "… (truncated, {} more characters)"
OFFLINE_NOTICE = ":robot_face: Written by the offline model (no API key configured), not Claude."
USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
GROUP_ID = re.compile(r"S[A-Z0-9]{1,31}")
# A person's or a channel's mention as Slack writes it: <@U123>, <@U123|bob>, <#C123|general>.
MENTION = re.compile(r"<(?:@[UW]|#[CG])[A-Z0-9]{1,31}(?:\|[^<>&|]{0,80})?>")


@dataclass(frozen=True)
class Message:
    """A Slack message: the notification fallback text and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Escape mrkdwn control characters so text shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut plain text to ``limit`` characters with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    keep = max(limit - len(TRUNCATION_MARKER.format(len(text))), 0)
    return (text[:keep] + TRUNCATION_MARKER.format(len(text) - keep))[:limit]


def fit(raw: str, limit: int) -> str:
    """Escape raw text for mrkdwn within ``limit`` characters; the marker counts raw characters."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    kept = escaped_prefix(raw, limit - len(TRUNCATION_MARKER.format(len(raw))))
    return escape(raw[:kept]) + TRUNCATION_MARKER.format(len(raw) - kept)


def fit_written(raw: str, limit: int) -> str:
    """Like ``fit``, for text a person wrote in Slack (a task): their mentions of people and
    channels stay mentions, so Slack shows ``@bob`` and ``#general``; anything else that
    Slack would read as markup (``<!channel>``, links) is escaped."""
    pieces, start = [], 0
    for found in MENTION.finditer(raw):
        pieces.append(escape(raw[start : found.start()]) + found.group(0))
        start = found.end()
    written = "".join(pieces) + escape(raw[start:])
    return truncate_mrkdwn(written, limit)


def escaped_prefix(raw: str, budget: int) -> int:
    """How many leading characters of ``raw`` fit in ``budget`` once escaped."""
    # Every character escapes to one or more, so the answer lies within raw[:budget].
    widths = list(accumulate(len(escape(char)) for char in raw[: max(budget, 0)]))
    return bisect_right(widths, budget)


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Last-resort cut of composed mrkdwn that never splits an ``&entity;`` or a ``<tag>``."""
    if len(text) <= limit:
        return text
    keep = max(limit - len(TRUNCATION_MARKER.format(len(text))), 0)
    for opener, closer in (("<", ">"), ("&", ";")):
        start = text.rfind(opener, 0, keep)
        if start != -1 and closer not in text[start:keep]:
            keep = start
    return text[:keep] + TRUNCATION_MARKER.format(len(text) - keep)


def slack_date(iso: str) -> str:
    """An ISO time as Slack date markup (shown in the reader's time zone; naive means UTC)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return fit(iso, 64)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fit(iso, 64)}>"


def mention(slack_id: str) -> str:
    """A user (U…/W…) or user group (S…) mention; any other identity is shown as text."""
    if GROUP_ID.fullmatch(slack_id):
        return f"<!subteam^{slack_id}>"
    if USER_ID.fullmatch(slack_id):
        return f"<@{slack_id}>"
    return fit(slack_id, 256)


def one_line(text: str) -> str:
    return " ".join(text.split())


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate_mrkdwn(text, SECTION_LIMIT)))


def context(*lines: str) -> ContextBlock:
    texts = [MarkdownTextObject(text=truncate_mrkdwn(line, CONTEXT_LIMIT)) for line in lines]
    return ContextBlock(elements=texts)


def code(raw: str, limit: int = SECTION_LIMIT) -> str:
    """Raw text as a code block of at most ``limit`` characters, fences included."""
    return "```" + fit(raw, limit - 6) + "```"


def message(text: str, blocks: list[Block]) -> Message:
    """``text`` is already mrkdwn-safe; blocks beyond Slack's cap are dropped."""
    dicts = [block.to_dict() for block in blocks[:MAX_BLOCKS]]
    return Message(text=truncate_mrkdwn(text, FALLBACK_LIMIT), blocks=dicts)


def pretty_json(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, indent=2, ensure_ascii=False, sort_keys=True)


def plain_text(part: Message) -> Message:
    """The same part without blocks: the shape Slack takes when it refuses the blocks."""
    texts = [b["text"]["text"] for b in part.blocks if b["type"] == "section"]
    labels = [e["text"] for b in part.blocks if b["type"] == "context" for e in b["elements"]]
    body = "".join(texts) or part.text
    return Message(text="\n".join([body, *labels]), blocks=[])
