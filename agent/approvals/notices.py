"""Direct messages about a gate: reaching each person who may decide where they are.

``dm_message`` is pure: what a DM says (what is asked, of whom, until when, the votes so far,
a link to the card). ``send_dms`` opens each person's DM with the app and posts there once per
person and key (a retried step finds its earlier DM by its metadata key and never DMs twice).
A DM is a courtesy: a person Slack refuses is logged and counted, and the others still get
theirs; it never fails the gate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from agent.approvals.quorum import is_group, tally
from agent.models import ApprovalRecord
from agent.mrkdwn import (
    Message,
    code,
    context,
    escape,
    fit,
    mention,
    message,
    one_line,
    section,
    slack_date,
)
from agent.storage.slack_messages import post_or_update
from agent.telemetry import AGENT_SERVICE, COUNT, emit

Why = Literal["asked", "reminder", "escalated"]
DRAFT_LINES = 4  # how much of a draft a DM quotes; the card has the rest
SUMMARY_LIMIT = 600
ARGUMENT_LIMIT = 80
TITLE_LIMIT = 200

_ASKED: dict[Why, str] = {
    "asked": ":inbox_tray: *You are asked to decide:* {title}",
    "reminder": ":alarm_clock: *Reminder: still waiting for your decision:* {title}",
    "escalated": ":rotating_light: *Escalated to you:* {title}",
}
_WHAT: dict[Why, str] = {
    "asked": "Approve, edit, request changes or reject it on the card.",
    "reminder": "Nobody has decided yet. Approve, edit, request changes or reject it on the card.",
    "escalated": (
        "Nobody decided in time, so you may decide now too. "
        "Approve, edit, request changes or reject it on the card."
    ),
}
_logger = logging.getLogger(__name__)


# What a DM says ------------------------------------------------------------------------------
def dm_message(
    record: ApprovalRecord, *, why: Why, permalink: str | None, now: datetime | None = None
) -> Message:
    """The DM for one person: what is asked, the summary, the deadline, votes and the link."""
    title = fit(one_line(record.title), TITLE_LIMIT)
    blocks: list[Block] = [
        section(_ASKED[why].format(title=title)),
        section(summary(record)),
        context(_facts(record, now)),
    ]
    votes = votes_line(record)
    if votes:
        blocks.append(context(votes))
    blocks.append(section(f"{_WHAT[why]} {card_link(record, permalink)}"))
    text = {"asked": "Approval needed", "reminder": "Reminder", "escalated": "Escalated to you"}
    return message(f"{text[why]}: {title}", blocks)


def summary(record: ApprovalRecord) -> str:
    """The card's content in short: the tool and its arguments, a draft's first lines, or
    the spending a budget gate asks about."""
    if record.kind == "tool":
        arguments = record.arguments or {}
        shown = [
            f"*{fit(one_line(str(name)), 60)}:* `{fit(one_line(_short(value)), ARGUMENT_LIMIT)}`"
            for name, value in list(arguments.items())[:6]
        ]
        more = len(arguments) - len(shown)
        if more > 0:
            shown.append(f"… and {more} more")
        tool = f"*Tool:* `{fit(one_line(record.tool_name or '?'), 100)}`"
        return "\n".join([tool, *shown])[:SUMMARY_LIMIT]
    if record.kind == "budget":
        spent = (record.spending or {}).get("spent") or {}
        usd = float(spent.get("usd", 0))
        return f"The run reached its spending cap (${usd:,.2f} so far): continue or stop it?"
    lines = (record.draft or "(empty draft)").strip().splitlines()
    first = "\n".join(lines[:DRAFT_LINES])
    if len(lines) > DRAFT_LINES:
        first += "\n…"
    return code(first, SUMMARY_LIMIT)


def _short(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _facts(record: ApprovalRecord, now: datetime | None) -> str:
    facts = [
        f"Requested by {mention(record.requester)}",
        f"run `{fit(record.run_id, 100)}`",
        f"decide by {slack_date(record.expires_at)}{_left(record, now)}",
    ]
    return " · ".join(facts)


def _left(record: ApprovalRecord, now: datetime | None) -> str:
    if now is None:
        return ""
    try:
        seconds = (datetime.fromisoformat(record.expires_at) - now).total_seconds()
    except (ValueError, TypeError):
        return ""
    return f" ({duration(seconds)} left)" if seconds > 0 else " (overdue)"


def duration(seconds: float) -> str:
    """A duration as people say it: ``45s``, ``12m``, ``3h``, ``2d``."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def votes_line(record: ApprovalRecord) -> str | None:
    """The votes so far when the gate needs more than one person ("1 of 2 approvals: @a"),
    else None."""
    counted = tally(record)
    if counted.required <= 1:
        return None
    who = ", ".join(mention(voter) for voter in counted.approved_by) or "nobody yet"
    return f"{len(counted.approved_by)} of {counted.required} approvals so far: {who}"


def card_link(record: ApprovalRecord, permalink: str | None) -> str:
    """A link to the card, or where to find it when Slack gave no link."""
    url = _safe_url(permalink)
    if url is not None:
        return f"<{url}|Open the card>"
    if record.channel:
        return f"The card is in <#{record.channel}>."
    return "Decide through the HTTP API (the run has no Slack thread)."


def _safe_url(url: str | None) -> str | None:
    """An https/http URL fit for ``<url|label>`` markup, or None."""
    if not url or not url.startswith(("https://", "http://")):
        return None
    if any(c in url for c in "|<> \n"):
        return None
    return escape(url)


# Sending -------------------------------------------------------------------------------------
def permalink(slack: Any, channel: str | None, ts: str | None) -> str | None:
    """The card's link (``chat.getPermalink``), or None when Slack gives none."""
    if slack is None or not channel or not ts:
        return None
    try:
        return str(slack.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except (SlackApiError, SlackClientError, OSError, KeyError) as err:
        _logger.warning("no permalink for %s/%s: %s", channel, ts, _error(err))
        return None


def members_of(slack: Any, groups: Iterable[str]) -> list[str] | None:
    """The members of Slack user groups (``usergroups.users.list``), each once; None when
    any group could not be read (so a caller can tell "nobody" from "unknown")."""
    members: list[str] = []
    for group in dict.fromkeys(groups):
        if slack is None:
            return None
        try:
            response = slack.usergroups_users_list(usergroup=group)
            members += [str(user) for user in response["users"]]
        except (SlackApiError, SlackClientError, OSError, KeyError) as err:
            _logger.warning("could not read user group %s: %s", group, _error(err))
            return None
    return list(dict.fromkeys(members))


def recipients(slack: Any, record: ApprovalRecord, people: Iterable[str]) -> list[str]:
    """The users behind ``people`` (a group's members in its place), each once, without the
    requester unless they may approve their own run. A group that cannot be read is skipped."""
    people = list(people)
    users = [p for p in people if not is_group(p)]
    for group in (p for p in people if is_group(p)):
        users += members_of(slack, [group]) or []
    return [
        user
        for user in dict.fromkeys(users)
        if record.allow_self_approval or user != record.requester
    ]


def send_dms(
    slack: Any,
    record: ApprovalRecord,
    users: Iterable[str],
    *,
    why: Why,
    key: str,
    maybe_posted: bool,
    dm: Message | None = None,
) -> int:
    """DM each of ``users`` (user groups: their members) about ``record`` once under ``key``
    (``dm``: what to say instead of the record's own DM); how many got theirs. A person Slack
    refuses is logged and counted, and the rest go on."""
    if slack is None:
        return 0
    if dm is None:
        link = permalink(slack, record.channel, record.message_ts)
        dm = dm_message(record, why=why, permalink=link)
    sent = 0
    for user in recipients(slack, record, users):
        try:
            channel = str(slack.conversations_open(users=user)["channel"]["id"])
            post_or_update(
                slack, channel=channel, message=dm, key=f"{key}-{user}", maybe_posted=maybe_posted
            )
            sent += 1
        except (SlackApiError, SlackClientError, OSError, KeyError) as err:
            _logger.warning("could not DM %s about %s: %s", user, record.approval_id, _error(err))
            emit(AGENT_SERVICE, {"DirectMessagesRefused": (1, COUNT)}, why=why)
    if sent:
        emit(AGENT_SERVICE, {"DirectMessagesSent": (sent, COUNT)}, why=why)
    return sent


def _error(err: Exception) -> str:
    """Slack's error code, or the exception's kind (never its text: it may echo a token)."""
    if isinstance(err, SlackApiError):
        return str(err.response.get("error"))
    return type(err).__name__
