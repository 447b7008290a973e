"""What ``/agent <text>`` asks for (pure), and the short texts the app answers with.

The command is created with ``should_escape``, so Slack sends ``@bob`` as ``<@U123|bob>``,
``#general`` as ``<#C123|general>``, and ``&``, ``<`` and ``>`` as HTML entities. Plain
``@bob`` and ``#general`` (an app created without escaping, or a name Slack did not know) are
accepted too: the listener looks them up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.control.usage import DEFAULT_DAYS, MAX_DAYS


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Status:
    run_id: str | None


@dataclass(frozen=True)
class Pending:
    pass


@dataclass(frozen=True)
class Cancel:
    run_id: str | None


@dataclass(frozen=True)
class Revoke:
    """End a standing approval: ``revoke <run> <tool>``."""

    run_id: str
    tool: str


@dataclass(frozen=True)
class Usage:
    """Spending over the last ``days``: the caller's and the channel's, or one user's or
    channel's (``target``: a user id U…/W…, a channel id C…/G…, or a name to look up:
    ``@bob`` or ``#general``)."""

    target: str | None
    days: int

    @property
    def needs_lookup(self) -> bool:
        return self.target is not None and self.target.startswith(("@", "#"))


@dataclass(frozen=True)
class Start:
    task: str


Command = Help | Status | Pending | Cancel | Revoke | Usage | Start
MAX_TASK = 8000
# How Slack escapes a mention in command text: <@U123|name> or <#C123|name>.
_MENTION = re.compile(r"^<[@#](?P<id>[UWCG][A-Z0-9]{1,31})(\|[^>]*)?>$")
# A name as typed: @bob, #general (Slack's handle and channel name characters).
_NAME = re.compile(r"^[@#][a-z0-9][a-z0-9._-]{0,79}$")
# Every subcommand, as help and the manifest's usage hint show them.
SUBCOMMANDS = (
    ("<task>", "start a run; progress and approvals appear in its thread."),
    ("status [run]", "your latest runs, or one run."),
    ("pending", "your running runs and the approvals waiting on you."),
    ("cancel <run>", "stop a run (its requester or an approver)."),
    ("revoke <run> <tool>", "end a standing approval of a tool in a run, from its next call."),
    (
        "usage [@user|#channel] [days]",
        "tokens and cost, yours and this channel's by default (last {days} days).",
    ),
    ("help", "this list."),
)


def unescape(text: str) -> str:
    """Slack's HTML entities in text back to characters (mentions stay ``<@U…>`` entities)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str) -> Command:
    """``help``, ``status [run]``, ``pending``, ``cancel <run>``, ``revoke <run> <tool>``,
    ``usage …``, or a task."""
    text = unescape(text)
    words = text.strip().split()
    if not words or words[0].lower() == "help":
        return Help()
    verb, rest = words[0].lower(), words[1:]
    if verb == "status" and len(rest) <= 1:
        return Status(rest[0] if rest else None)
    if verb == "pending" and not rest:
        return Pending()
    if verb == "cancel" and len(rest) <= 1:
        return Cancel(rest[0] if rest else None)
    if verb == "revoke" and len(rest) == 2:
        return Revoke(rest[0], rest[1])
    if verb == "usage" and (usage := _parse_usage(rest)) is not None:
        return usage
    return Start(text.strip())


def _parse_usage(words: list[str]) -> Usage | None:
    """``[@user|#channel] [days]``, the person or channel escaped by Slack or as typed; None
    when the words are something else (a task)."""
    target, days = None, DEFAULT_DAYS
    for word in words:
        if (mention := _MENTION.match(word)) is not None and target is None:
            target = mention["id"]
        elif _NAME.match(word) and target is None:
            target = word
        elif word.isdigit() and 1 <= int(word) <= MAX_DAYS:
            days = int(word)
        else:
            return None
    return Usage(target, days)


def usage(command: str) -> str:
    """The help text: every subcommand (``&``, ``<`` and ``>`` escaped for mrkdwn)."""
    lines = [
        f"*{command} {syntax}*: {what.format(days=DEFAULT_DAYS)}" for syntax, what in SUBCOMMANDS
    ]
    return "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def usage_hint() -> str:
    """The slash command's usage hint (the manifest's ``usage_hint``)."""
    return " | ".join(syntax for syntax, _ in SUBCOMMANDS)
