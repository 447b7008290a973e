"""How the offline model writes: Slack text made plain, drafts a person could have written,
the text of a post, and revisions that show what changed. Pure and deterministic.

Drafts are shown escaped (``agent.mrkdwn.fit``), so they hold plain names (``@bob``,
``#ops``), never Slack's ``<@U…>`` markup; a post's text is Slack mrkdwn, so a person it
names by id is a real mention there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agent.mrkdwn import fit_written

_CHANNEL = re.compile(r"<#([A-Z0-9]{2,32})(?:\|([^<>|]*))?>")
_USER = re.compile(r"<@([A-Z0-9]{2,32})(?:\|([^<>|]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|<>]+)(?:\|([^<>]+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^<>]*)?>")
_LABELLED = re.compile(r"<![^<>|]*\|([^<>]*)>")  # dates, user groups: their fallback text
_SHORTER = re.compile(r"\b(short|shorter|shorten|brief|briefer|concise|tighten|trim|tl;?dr)\b")
_ADD = re.compile(r"^(?:please\s+)?(?:also\s+)?(?:mention|add|include|say|note)\s+(?:that\s+)?")
_REMOVE = re.compile(
    r"^(?:please\s+)?(?:remove|drop|cut|delete|leave out|do not mention|don't mention)\s+"
)
NOTE = "_What changed: "
BULLET = "• "
MOST_BULLETS = 5
QUOTE_CHARS = 80
POST_LIMIT = 3000
FILLER = frozenset({"a", "an", "the", "please", "just", "really", "very", "quite", "that"})


def plain(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as a person reads it: ``@bob``, ``#general``, a link's label, and
    ``&``, ``<``, ``>`` as themselves. ``names`` maps user ids Slack sent bare to names."""
    known = names or {}
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _USER.sub(lambda m: f"@{m.group(2) or known.get(m.group(1), m.group(1))}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = _LABELLED.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def sentence(text: str) -> str:
    """One line, capitalised, ending in a full stop unless it already ends a sentence."""
    line = " ".join(text.split()).strip(" ,;:")
    if not line:
        return ""
    line = line[0].upper() + line[1:]
    return line if line[-1] in ".!?" else line + "."


def cut(text: str, limit: int = QUOTE_CHARS) -> str:
    """At most ``limit`` characters of one line, cut at a word, with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


@dataclass(frozen=True)
class Said:
    """One message read from a channel: who wrote it and what they said (plain text)."""

    who: str
    text: str


@dataclass(frozen=True)
class Reading:
    """What one channel's history held; ``asked`` when the task named the channel."""

    label: str
    said: tuple[Said, ...]
    asked: bool


PostStatus = Literal["posted", "changes", "rejected", "expired", "failed", "nowhere"]


@dataclass(frozen=True)
class PostOutcome:
    """How one post the task asked for ended: where, what, and who stopped it and why."""

    label: str
    text: str
    status: PostStatus
    why: str = ""
    attempts: int = 1


def bullets(said: Sequence[Said]) -> list[str]:
    return [f"{BULLET}{s.who}: {cut(s.text)}" for s in said[:MOST_BULLETS]]


def summary(readings: Sequence[Reading]) -> str:
    """What the channels said, as a post: a line per channel, a bullet per message."""
    parts = []
    for reading in readings:
        if reading.said:
            parts += [f"Latest in {reading.label}:", *bullets(reading.said)]
    if not parts:
        where = " or ".join(reading.label for reading in readings)
        parts.append(f"Nothing new from people in {where}.")
    return "\n".join(parts)


def draft(title: str, readings: Sequence[Reading], outcomes: Sequence[PostOutcome]) -> str:
    """The answer: the task as a title, who said what in each channel, what was posted."""
    lines = [f"*{title}*"]
    for reading in readings:
        if reading.said:
            lines += ["", f"*In {reading.label}*", *bullets(reading.said)]
        elif reading.asked:
            lines += ["", f"{reading.label} has no messages from people yet."]
    if outcomes:
        lines += ["", "*Done*", *(BULLET + _outcome_line(o) for o in outcomes)]
    return "\n".join(lines)


def _outcome_line(outcome: PostOutcome) -> str:
    where = outcome.label
    match outcome.status:
        case "posted":
            revised = " (revised as the reviewer asked)" if outcome.attempts > 1 else ""
            return f"Posted to {where}{revised}: “{cut(plain(outcome.text), 60)}”"
        case "changes":
            return f"Not posted to {where}: {outcome.why}"
        case "rejected":
            return f"Not posted to {where}: {outcome.why}"
        case "expired":
            return f"Not posted to {where}: nobody approved it in time."
        case "failed":
            return f"Could not post to {where}: {cut(outcome.why, 200)}"
        case "nowhere":
            return "Not posted: the task names no channel (write #name) and this run has none."


def post_text(verb: str, what: str, readings: Sequence[Reading]) -> str:
    """The text of a post: a summary of what was read when that is what the task asks to
    share, else what the task says, headed by the kind of post."""
    if readings and (not what or _asks_for_summary(what)):
        return fit_written(summary(readings), POST_LIMIT)
    what = re.sub(r"^(?:that|about|an?)\s+", "", what, flags=re.IGNORECASE)
    said = fit_written(sentence(what), POST_LIMIT)  # mentions stay mentions: they notify
    match verb:
        case "announce":
            return f"Announcement: {_lower_first(said)}"
        case "notify" | "tell":
            return f"Heads-up: {_lower_first(said)}"
        case _:
            return said


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _asks_for_summary(what: str) -> bool:
    words = r"\b(summary|summarise|summarize|recap|digest|update|findings|it|this|that|them)\b"
    return re.search(words, what, re.IGNORECASE) is not None


def shorten(text: str) -> str:
    """A shorter text: the first line and the first point under each heading, cut short."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(NOTE)]
    kept: list[str] = []
    bullet_seen = False
    for line in lines:
        is_bullet = line.startswith(BULLET)
        if is_bullet and bullet_seen:
            continue
        bullet_seen = is_bullet
        kept.append(_cut_line(line))
    shorter = "\n".join(kept)
    if len(shorter) >= len(text) and lines:
        shorter = _terse(lines[0])
    return shorter if len(shorter) < len(text) else text


def _terse(line: str) -> str:
    """One line without its filler words, else its first half."""
    words = line.split()
    kept = [w for w in words if w.strip("*_").lower() not in FILLER]
    if len(kept) < len(words):
        lead, end = (words[0][0], words[-1][-1]) if line.startswith("*") else ("", "")
        kept_line = " ".join(kept).strip("*")
        return lead + kept_line[:1].upper() + kept_line[1:] + end
    return " ".join(words[: max(1, len(words) // 2)]) + "…"


def _cut_line(line: str) -> str:
    if len(line) > 2 and line.startswith("*") and line.endswith("*"):  # a heading stays bold
        return f"*{cut(line[1:-1], 58)}*"
    return cut(line, 60)


def revise(text: str, feedback: str) -> str:
    """The text again with the reviewer's feedback taken in, ending with what changed."""
    feedback = " ".join(plain(feedback).split())
    body = "\n".join(line for line in text.splitlines() if not line.startswith(NOTE)).rstrip()
    if _SHORTER.search(feedback.lower()):
        return shorten(body)
    changed, what = apply(body, feedback)
    return f"{changed}\n\n{NOTE}{what}._"


def apply(text: str, feedback: str) -> tuple[str, str]:
    """``text`` changed as ``feedback`` asks, and a few words saying how."""
    lowered = feedback.lower()
    if (removal := _REMOVE.match(lowered)) is not None:
        gone = feedback[removal.end() :].strip(" .")
        kept = [line for line in text.splitlines() if gone.lower() not in line.lower()]
        if len(kept) == len(text.splitlines()):
            return text, f"nothing mentioned “{gone}”, so nothing was removed"
        return "\n".join(kept), f"removed what mentioned “{gone}”"
    if (addition := _ADD.match(lowered)) is not None:
        added = feedback[addition.end() :].strip(" .")
        return f"{text}\n{BULLET}{sentence(added)}", f"added “{added}”"
    return f"{text}\n{BULLET}{sentence(feedback)}", f"took in “{feedback.rstrip('.')}”"


def revise_post(text: str, feedback: str) -> str:
    """A post's text again with a reviewer's feedback taken in (no note: it is posted)."""
    feedback = " ".join(plain(feedback).split())
    if _SHORTER.search(feedback.lower()):
        return shorten(text)
    return apply(text, feedback)[0]
