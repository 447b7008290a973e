"""The App Home tab as an inbox: every approval waiting on the viewer, with its buttons.

``home_view`` is pure (Block Kit through slack_sdk's models). ``publish_home`` lists the open
gates, keeps those the viewer may decide (the same ``refusal_reason`` every click is checked
with) and have not approved yet, and publishes the view; ``refresh_homes`` does it for each
person an approval's change concerns. Buttons carry only the approval id; a click goes the
same authorised, exactly-once way as the card's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
)
from slack_sdk.models.views import View

from agent.approvals.authz import approver_groups, refusal_reason
from agent.approvals.notices import card_link, duration, permalink, votes_line
from agent.approvals.quorum import is_group, tally
from agent.models import ApprovalRecord
from agent.mrkdwn import context, fit, mention, one_line, section, slack_date
from agent.storage.store import Store

ACTION_HOME_APPROVE = "signoff_home_approve"
ACTION_HOME_REJECT = "signoff_home_reject"
ACTION_HOME_OPEN = "signoff_home_open"
HOME_BLOCK_LIMIT = 100  # Slack's cap on a Home tab's blocks
BLOCKS_PER_ITEM = 3  # its section, its buttons, a divider
# Header, notice, the "N more" line and a spare: what the list leaves room for.
MAX_LISTED = (HOME_BLOCK_LIMIT - 4) // BLOCKS_PER_ITEM
GroupMembers = Callable[[str], list[str]]
_logger = logging.getLogger(__name__)


def home_view(
    viewer: str,
    approvals: Iterable[ApprovalRecord],
    *,
    now: datetime,
    links: Mapping[str, str | None],
    notice: str | None = None,
) -> dict[str, Any]:
    """The Home tab: "Waiting on you", oldest first, each with Approve, Reject and Open;
    ``notice`` (mrkdwn, already escaped) is one line on top, the answer to a click."""
    waiting = sorted(approvals, key=lambda record: record.created_at)
    blocks: list[Block] = [section(notice)] if notice else []
    blocks.append(HeaderBlock(text="Waiting on you"))
    if not waiting:
        blocks.append(section(":white_check_mark: Nothing is waiting on you."))
        blocks.append(context("Approvals you may decide show up here as soon as they open."))
    for record in waiting[:MAX_LISTED]:
        blocks += [
            _item(record, now),
            _buttons(record, links.get(record.approval_id)),
            DividerBlock(),
        ]
    more = len(waiting) - MAX_LISTED
    if more > 0:
        blocks.append(
            context(f"… and {more} more waiting on you (the longest waiting come first).")
        )
    view = View(type="home", callback_id="signoff_home", private_metadata=viewer, blocks=blocks)
    return view.to_dict()


def _item(record: ApprovalRecord, now: datetime) -> Block:
    title = fit(one_line(record.title), 200)
    facts = [
        f"Run `{fit(record.run_id, 100)}`",
        f"requested by {mention(record.requester)}",
        f"opened {_age(record, now)} ago",
        f"decide by {slack_date(record.expires_at)}",
    ]
    lines = [f"*{title}*", " · ".join(facts)]
    votes = votes_line(record)
    if votes:
        lines.append(votes)
    return section("\n".join(lines))


def _age(record: ApprovalRecord, now: datetime) -> str:
    try:
        opened = datetime.fromisoformat(record.created_at)
        if opened.tzinfo is None:
            opened = opened.replace(tzinfo=UTC)
        return duration((now - opened).total_seconds())
    except (ValueError, TypeError):
        return "a while"


def _buttons(record: ApprovalRecord, link: str | None) -> ActionsBlock:
    value = record.approval_id  # the only thing a click carries back
    budget = record.kind == "budget"
    confirm = ConfirmObject(
        title="Stop the run?" if budget else "Reject?",
        text="You will be asked why." if budget else "You will be asked for a reason.",
        confirm="Stop" if budget else "Reject",
        deny="Cancel",
    )
    buttons = [
        ButtonElement(
            text="Continue" if budget else "Approve",
            action_id=ACTION_HOME_APPROVE,
            value=value,
            style="primary",
        ),
        ButtonElement(
            text="Stop" if budget else "Reject",
            action_id=ACTION_HOME_REJECT,
            value=value,
            style="danger",
            confirm=confirm,
        ),
    ]
    url = _url(record, link)
    if url is not None:
        buttons.append(ButtonElement(text="Open", action_id=ACTION_HOME_OPEN, value=value, url=url))
    return ActionsBlock(block_id=f"signoff_home:{value}", elements=buttons)


def _url(record: ApprovalRecord, link: str | None) -> str | None:
    """The card's link when it is one a button may carry (``card_link`` vets it)."""
    shown = card_link(record, link)
    return link if link and shown.startswith("<http") else None


# Publishing ----------------------------------------------------------------------------------
def waiting_on(
    user_id: str,
    approvals: Iterable[ApprovalRecord],
    group_members: GroupMembers,
    *,
    now: datetime,
) -> list[ApprovalRecord]:
    """The open approvals ``user_id`` may decide and has not approved yet."""
    mine = []
    for record in approvals:
        if record.state != "pending" or _expired(record, now):
            continue
        members = [m for group in approver_groups(record) for m in group_members(group)]
        if refusal_reason(user_id, record, members) is not None:
            continue
        if user_id in tally(record).approved_by:
            continue
        mine.append(record)
    return mine


def _expired(record: ApprovalRecord, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(record.expires_at) <= now
    except (ValueError, TypeError):
        return False


def publish_home(
    slack: Any,
    store: Store,
    user_id: str,
    group_members: GroupMembers,
    *,
    notice: str | None = None,
    approvals: list[ApprovalRecord] | None = None,
    links: dict[str, str | None] | None = None,
) -> None:
    """Publish ``user_id``'s Home tab (``views.publish``) from the approvals open now
    (``approvals`` and ``links``: read once for several people, see ``refresh_homes``)."""
    now = datetime.now(UTC)
    open_now = store.pending_approvals() if approvals is None else approvals
    waiting = waiting_on(user_id, open_now, group_members, now=now)
    links = {} if links is None else links
    for record in waiting[:MAX_LISTED]:
        if record.approval_id not in links:
            links[record.approval_id] = permalink(slack, record.channel, record.message_ts)
    view = home_view(user_id, waiting, now=now, links=links, notice=notice)
    slack.views_publish(user_id=user_id, view=view)


def refresh_homes(
    slack: Any, store: Store, user_ids: Iterable[str], group_members: GroupMembers
) -> int:
    """Publish the Home tab of each person (a group: its members) an approval's change
    concerns; how many were published. A failure is logged and the others go on. The open
    approvals, their links and each group's members are read once for everyone."""
    members = cache(group_members)
    people = list(user_ids)
    users = [p for p in people if not is_group(p)]
    for group in (p for p in people if is_group(p)):
        users += members(group)
    open_now = store.pending_approvals()
    links: dict[str, str | None] = {}
    published = 0
    for user in dict.fromkeys(users):
        try:
            publish_home(slack, store, user, members, approvals=open_now, links=links)
            published += 1
        except (SlackApiError, SlackClientError, OSError) as err:
            error = err.response.get("error") if isinstance(err, SlackApiError) else err
            _logger.warning("could not publish the Home tab of %s: %s", user, error)
    return published
