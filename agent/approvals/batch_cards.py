"""The batch card: a turn's gated calls on one card, each with its own buttons and outcome.

Pure, like ``agent.approvals.cards``: every button carries only an opaque id (a call's
approval id, or the batch id for the lot), and every text is escaped and cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
)

from agent.approvals import cards
from agent.approvals.decisions import Approve, Edit, Reject, Revise, parse_decision
from agent.models import ApprovalRecord
from agent.mrkdwn import (
    HEADER_LIMIT,
    OFFLINE_NOTICE,
    Message,
    context,
    fit,
    message,
    one_line,
    section,
    slack_date,
    truncate,
)

ACTION_APPROVE_ALL = "signoff_approve_all"
ACTION_REJECT_ALL = "signoff_reject_all"
CALL_TEXT_LIMIT = 900  # a call's arguments on the card; longer ones are posted in full below


def call_text(record: ApprovalRecord) -> str:
    """A call's row: its tool and its arguments as a reviewer reads them."""
    tool = f"*Tool:* `{fit(one_line(record.tool_name or '?'), 200)}`\n"
    shown = cards.arguments_text(cards.current_arguments(record), CALL_TEXT_LIMIT - len(tool))
    return tool + shown


def fits_on_row(record: ApprovalRecord) -> bool:
    """Whether the call's row shows every byte of its arguments."""
    return cards.TRUNCATED not in call_text(record)


def _content_line(record: ApprovalRecord) -> str:
    size = f"{len(cards.content_of(record)):,} characters"
    where = "" if fits_on_row(record) else " · shown in full in the thread below"
    return f"sha256 `{cards.content_hash(record)}` · {size}{where}"


def batch_card(
    records: Sequence[ApprovalRecord], *, part: int, parts: int, status_hint: str
) -> Message:
    """One card (or one part of it) for a turn's gated calls, in the order Claude asked."""
    first = records[0]
    size = first.batch_size
    title = f"Approval needed: {size} tool calls" + (
        f" (part {part} of {parts})" if parts > 1 else ""
    )
    blocks: list[Block] = [HeaderBlock(text=truncate(title, HEADER_LIMIT))]
    if first.offline_model:
        blocks.append(context(OFFLINE_NOTICE))
    blocks.append(context(cards.facts_text(first), cards.who_may_decide_text(first)))
    for record in records:
        blocks += [section(call_text(record)), context(_asks(record))]
        if record.state in ("pending", "claimed"):
            blocks.append(_call_buttons(record))
        blocks.append(DividerBlock())
    pending = [r for r in records if r.state == "pending"]
    if len(pending) > 1:
        blocks.append(_lot_buttons(pending))
    blocks.append(context(f"Status: `{fit(status_hint, 200)}`"))
    decided = sum(r.state not in ("pending", "claimed") for r in records)
    text = f"{title}: {decided} of {len(records)} decided"
    return message(text, blocks)


def _asks(record: ApprovalRecord) -> str:
    """What the call's rule asks, and where it stands now."""
    if record.state == "pending" or record.state == "claimed":
        asks = cards.quorum_line(record) if record.required > 1 else "Needs one approval"
        return f"{asks} · {_content_line(record)}"
    return _outcome(record)


def _outcome(record: ApprovalRecord) -> str:
    match record.state:
        case "decided":
            decision = parse_decision(record.decision or {})
            who = cards.who_text(decision.decider.id, decision.decider.name)
            when = slack_date(decision.at)
            match decision:
                case Approve():
                    return f":white_check_mark: Approved by {who} at {when}"
                case Edit():
                    return f":pencil2: Edited and approved by {who} at {when}"
                case Revise(feedback=feedback):
                    asked = fit(feedback, 500)
                    return f":leftwards_arrow_with_hook: Changes requested by {who}: {asked}"
                case Reject(reason=reason):
                    return f":x: Rejected by {who} at {when}: {fit(reason, 500)}"
        case "expired":
            return (
                f":hourglass: No decision by {slack_date(record.expires_at)}: "
                + cards.timeout_text(record.kind, record.on_timeout)
            )
        case "cancelled":
            return ":octagonal_sign: The run was cancelled"
        case "superseded":
            return ":arrows_counterclockwise: Superseded"
    return record.state


def _call_buttons(record: ApprovalRecord) -> ActionsBlock:
    value = record.approval_id
    confirm = ConfirmObject(
        title="Reject?", text="You will be asked for a reason.", confirm="Reject", deny="Cancel"
    )
    return ActionsBlock(
        elements=[
            ButtonElement(
                text="Approve", action_id=cards.ACTION_APPROVE, value=value, style="primary"
            ),
            *([cards.standing_button(record)] if record.sticky else []),
            ButtonElement(text="Edit", action_id=cards.ACTION_EDIT, value=value),
            ButtonElement(
                text="Reject",
                action_id=cards.ACTION_REJECT,
                value=value,
                style="danger",
                confirm=confirm,
            ),
        ]
    )


def _lot_buttons(pending: Sequence[ApprovalRecord]) -> ActionsBlock:
    """ "Approve all (K)" only when each open call needs one approval (a quorum is people's
    votes one by one), and "Reject all". They carry an open call's approval id: the control
    plane finds its batch from it."""
    value = pending[0].approval_id
    buttons = []
    if all(r.required == 1 for r in pending):
        approve_all = ConfirmObject(
            title=f"Approve all {len(pending)}?",
            text="Each open call on this card runs as shown.",
            confirm="Approve all",
            deny="Cancel",
        )
        buttons.append(
            ButtonElement(
                text=f"Approve all ({len(pending)})",
                action_id=ACTION_APPROVE_ALL,
                value=value,
                style="primary",
                confirm=approve_all,
            )
        )
    buttons.append(
        ButtonElement(text="Reject all", action_id=ACTION_REJECT_ALL, value=value, style="danger")
    )
    return ActionsBlock(elements=buttons)
