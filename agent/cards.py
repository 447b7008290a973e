"""Slack Block Kit views of runs and approvals: pure functions, no I/O, no clock.

Every button carries only the opaque approval id. User and model text is escaped for mrkdwn
(so a draft cannot ping ``<!channel>``) and truncated to Slack's limits with a visible marker.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, assert_never

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from agent.decisions import Approve, Decision, Edit, Reject, Revise
from agent.models import ApprovalRecord

ACTION_APPROVE = "signoff_approve"
ACTION_EDIT = "signoff_edit"
ACTION_REVISE = "signoff_revise"
ACTION_REJECT = "signoff_reject"
ACTIONS_BLOCK_ID = "signoff_actions"

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 3000
MAX_BLOCKS = 50
OFFLINE_NOTICE = ":robot_face: Written by the offline model (no API key configured), not Claude."

ToolState = Literal["queued", "running", "waiting_approval", "done", "failed", "rejected"]
Phase = Literal["thinking", "running_tools", "waiting_approval", "finished", "failed", "stopped"]

TOOL_EMOJI: dict[str, str] = {
    "queued": ":white_circle:",
    "running": ":hourglass_flowing_sand:",
    "waiting_approval": ":raised_hand:",
    "done": ":white_check_mark:",
    "failed": ":warning:",
    "rejected": ":no_entry_sign:",
}
PHASE_TEXT: dict[str, str] = {
    "thinking": "thinking",
    "running_tools": "running tools",
    "waiting_approval": "waiting for approval",
    "finished": "finished",
    "failed": "failed",
    "stopped": "stopped",
}


@dataclass(frozen=True)
class Message:
    """A Slack message: the notification fallback text and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class ToolProgress:
    name: str
    state: ToolState
    detail: str | None = None


@dataclass(frozen=True)
class RunProgress:
    run_id: str
    task: str
    requester: str
    turn: int
    max_turns: int
    phase: Phase
    tools: tuple[ToolProgress, ...] = ()
    note: str | None = None
    offline_model: bool = False


def escape(text: str) -> str:
    """Escape mrkdwn control characters so text shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    marker = "… (truncated, {} more characters)"
    keep = limit - len(marker.format(len(text))) - 2
    return text[:keep] + marker.format(len(text) - keep)


def slack_date(iso: str) -> str:
    """An ISO time as Slack date markup (shown in the reader's time zone)."""
    try:
        epoch = int(datetime.fromisoformat(iso).timestamp())
    except ValueError:
        return escape(iso)
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{escape(iso)}>"


def mention(slack_id: str) -> str:
    """A user (U…/W…) or user group (S…) mention."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))


def _context(*lines: str) -> ContextBlock:
    return ContextBlock(
        elements=[MarkdownTextObject(text=truncate(line, CONTEXT_LIMIT)) for line in lines]
    )


def _code(text: str) -> str:
    # Leave room for the fences inside the section limit.
    return "```" + truncate(escape(text), SECTION_LIMIT - 8) + "```"


def _message(text: str, blocks: list[Block]) -> Message:
    dicts = [block.to_dict() for block in blocks[:MAX_BLOCKS]]
    return Message(text=truncate(text, FALLBACK_LIMIT), blocks=dicts)


def _body(record: ApprovalRecord) -> list[Block]:
    """Header and what is being decided on: the tool call, or the draft."""
    header = HeaderBlock(text=truncate(f"Approval needed: {record.title}", HEADER_LIMIT))
    if record.kind == "tool":
        arguments = json.dumps(record.arguments or {}, indent=2, ensure_ascii=False)
        what = _section(f"*Tool:* `{escape(record.tool_name or '?')}`\n{_code(arguments)}")
    else:
        what = _section(escape(record.draft or "(empty draft)"))
    blocks: list[Block] = [header, what]
    if record.offline_model:
        blocks.append(_context(OFFLINE_NOTICE))
    return blocks


def _who_may_decide(record: ApprovalRecord) -> str:
    if record.approvers:
        return "Who may decide: " + ", ".join(mention(i) for i in record.approvers)
    return "Who may decide: any member except the requester"


def approval_card(record: ApprovalRecord, *, status_hint: str) -> Message:
    """The card a reviewer acts on: what is asked, by whom, until when, and four buttons."""
    facts = [f"Requested by <@{record.requester}>", f"expires {slack_date(record.expires_at)}"]
    if record.max_rounds > 1 or record.round > 1:
        facts.insert(1, f"round {record.round} of {record.max_rounds}")
    buttons = [
        ButtonElement(
            text="Approve", action_id=ACTION_APPROVE, value=record.approval_id, style="primary"
        ),
        ButtonElement(text="Edit", action_id=ACTION_EDIT, value=record.approval_id),
    ]
    if record.can_request_changes:
        buttons.append(
            ButtonElement(text="Request changes", action_id=ACTION_REVISE, value=record.approval_id)
        )
    buttons.append(
        ButtonElement(
            text="Reject",
            action_id=ACTION_REJECT,
            value=record.approval_id,
            style="danger",
            confirm=ConfirmObject(
                title="Reject?",
                text="You will be asked for a reason.",
                confirm="Reject",
                deny="Cancel",
            ),
        )
    )
    blocks = [
        *_body(record),
        _context(" · ".join(facts), _who_may_decide(record)),
        ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons),
        _context(f"Status: `{escape(status_hint)}`"),
    ]
    return _message(f"Approval needed: {record.title}", blocks)


def decided_card(record: ApprovalRecord, decision: Decision, *, decider_name: str) -> Message:
    """The locked card: what was decided, by whom and when; no buttons."""
    who = (
        f"<@{decision.decider.id}>"
        if decision.decider.id.startswith(("U", "W"))
        else escape(decider_name)
    )
    when = slack_date(decision.at)
    match decision:
        case Approve():
            outcome = f":white_check_mark: Approved by {who} at {when}"
        case Edit(text=text, arguments=arguments):
            outcome = f":pencil2: Edited and approved by {who} at {when}\n" + _edit_summary(
                record, text, arguments
            )
        case Revise(feedback=feedback):
            outcome = (
                f":leftwards_arrow_with_hook: Changes requested by {who} at {when}: "
                + escape(feedback)
            )
        case Reject(reason=reason):
            outcome = f":x: Rejected by {who} at {when}: {escape(reason)}"
        case _:
            assert_never(decision)
    return _message(
        f"{record.title}: decided by {decider_name}",
        [*_body(record), DividerBlock(), _section(outcome)],
    )


def _edit_summary(
    record: ApprovalRecord, text: str | None, arguments: dict[str, Any] | None
) -> str:
    if arguments is not None:
        return _code(json.dumps(arguments, indent=2, ensure_ascii=False))
    diff = difflib.unified_diff(
        (record.draft or "").splitlines(), (text or "").splitlines(), lineterm="", n=1
    )
    lines = [line for line in diff if not line.startswith(("---", "+++", "@@"))]
    return _code("\n".join(lines) or "(no change)")


def expired_card(record: ApprovalRecord, *, expired_at: str) -> Message:
    """The card after nobody decided in time."""
    consequence = {
        "reject": "treated as rejected",
        "approve": "approved automatically",
        "end_run": "the run ended",
    }[record.on_timeout]
    outcome = f":hourglass: Expired at {slack_date(expired_at)}: {consequence}."
    return _message(f"{record.title}: expired", [*_body(record), DividerBlock(), _section(outcome)])


def superseded_card(record: ApprovalRecord, *, superseded_by_round: int) -> Message:
    """The card of an earlier round, replaced by a revised version."""
    outcome = (
        f":arrows_counterclockwise: Superseded by a revised version (round {superseded_by_round})."
    )
    if record.decision and record.decision.get("feedback"):
        outcome += f"\nChanges requested: {escape(str(record.decision['feedback']))}"
    return _message(
        f"{record.title}: superseded", [*_body(record), DividerBlock(), _section(outcome)]
    )


def cancelled_card(record: ApprovalRecord) -> Message:
    """The card of a run that was cancelled while it waited."""
    return _message(
        f"{record.title}: cancelled",
        [*_body(record), DividerBlock(), _section(":octagonal_sign: Run cancelled.")],
    )


def progress_message(progress: RunProgress, *, status_hint: str) -> Message:
    """The run's progress: turn, phase and each tool call's state."""
    phase = PHASE_TEXT[progress.phase]
    turn = f"Turn {progress.turn} of {progress.max_turns} · {phase}"
    headline = f"*{escape(truncate(progress.task, 200))}*\n{turn}"
    blocks: list[Block] = [_section(headline)]
    if progress.tools:
        lines = [
            f"{TOOL_EMOJI[tool.state]} `{escape(tool.name)}` {tool.state.replace('_', ' ')}"
            + (f": {escape(tool.detail)}" if tool.detail else "")
            for tool in progress.tools
        ]
        blocks.append(_section("\n".join(lines)))
    if progress.note:
        blocks.append(_context(escape(progress.note)))
    if progress.offline_model:
        blocks.append(_context(OFFLINE_NOTICE))
    blocks.append(_context(f"Run `{escape(progress.run_id)}` · `{escape(status_hint)}`"))
    return _message(f"Run {progress.run_id}: turn {progress.turn}, {phase}", blocks)


def run_opened_message(*, task: str, requester: str, run_id: str) -> Message:
    """The thread root of a run started from Slack."""
    blocks: list[Block] = [
        _section(f"<@{requester}> asked: {escape(task)}"),
        _context(f"Run `{escape(run_id)}` · progress and approvals in this thread"),
    ]
    return _message(f"<@{requester}> asked: {task}", blocks)


def final_message(*, text: str, run_id: str, decided_by: str | None) -> Message:
    """The approved result, split over as many sections as it needs."""
    escaped = escape(text)
    chunks = [escaped[i : i + SECTION_LIMIT] for i in range(0, len(escaped), SECTION_LIMIT)] or [""]
    sections: list[Block] = [_section(chunk) for chunk in chunks[: MAX_BLOCKS - 1]]
    if len(chunks) > MAX_BLOCKS - 1:
        sections[-1] = _section(
            truncate(chunks[MAX_BLOCKS - 2], SECTION_LIMIT - 60)
            + " (continued in the run's result)"
        )
    approved = f"approved by {mention(decided_by)}" if decided_by else "approved"
    return _message(text, [*sections, _context(f"Run `{escape(run_id)}` · {approved}")])


def ended_message(*, run_id: str, reason: str) -> Message:
    """A run that ended without delivering, and why."""
    return _message(
        f"Run {run_id} ended: {reason}",
        [
            _section(f":stop_sign: Run ended without delivering: {escape(reason)}"),
            _context(f"Run `{escape(run_id)}`"),
        ],
    )
