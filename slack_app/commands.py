"""What ``/agent <text>`` asks for (pure), and the short texts the app answers with."""

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
class Usage:
    """Spending over the last ``days``: the caller's and the channel's, or one user's or
    channel's (``target``: a user id U…/W… or a channel id C…/G…)."""

    target: str | None
    days: int


@dataclass(frozen=True)
class Start:
    task: str


Command = Help | Status | Pending | Cancel | Usage | Start
MAX_TASK = 8000
# How Slack escapes a mention in command text: <@U123|name> or <#C123|name>.
_MENTION = re.compile(r"^<[@#](?P<id>[UWCG][A-Z0-9]{1,31})(\|[^>]*)?>$")


def parse_command(text: str) -> Command:
    """``help``, ``status [run]``, ``pending``, ``cancel <run>``, or a task to start."""
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
    if verb == "usage" and (usage := _parse_usage(rest)) is not None:
        return usage
    return Start(text.strip())


def _parse_usage(words: list[str]) -> Usage | None:
    """``[<@user>|<#channel>] [days]``; None when the words are something else (a task)."""
    target, days = None, DEFAULT_DAYS
    for word in words:
        if (mention := _MENTION.match(word)) is not None and target is None:
            target = mention["id"]
        elif word.isdigit() and 1 <= int(word) <= MAX_DAYS:
            days = int(word)
        else:
            return None
    return Usage(target, days)


def usage(command: str) -> str:
    """The help text."""
    return "\n".join(
        [
            f"*{command} <task>*: start a run; progress and approvals appear in its thread.",
            f"*{command} status [run]*: your latest runs, or one run.",
            f"*{command} pending*: your running runs and the approvals waiting on you.",
            f"*{command} cancel <run>*: stop a run (its requester or an approver).",
            f"*{command} usage [@user|#channel] [days]*: tokens and cost, yours and this "
            f"channel's by default (last {DEFAULT_DAYS} days).",
        ]
    )
