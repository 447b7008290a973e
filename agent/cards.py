"""Slack Block Kit views of runs and approvals: pure functions, no I/O, no clock.

Every button carries only the opaque approval id. User and model text is escaped for mrkdwn
(so a draft cannot ping ``<!channel>``) and truncated to Slack's limits with a visible marker.
The fallback ``text`` of a message is mrkdwn too (it drives notifications), so it is escaped
the same way.
"""

from __future__ import annotations

import difflib
import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
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

from agent.budget import Budget, describe_budget
from agent.decisions import Approve, Decision, Edit, Reject, Revise
from agent.models import ApprovalRecord, OnTimeout

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
TRUNCATION_MARKER = "… (truncated, {} more characters)"
OFFLINE_NOTICE = ":robot_face: Written by the offline model (no API key configured), not Claude."

ToolState = Literal[
    "queued", "running", "waiting_approval", "waiting_job", "done", "failed", "rejected"
]
Phase = Literal["thinking", "running_tools", "waiting_approval", "finished", "failed", "stopped"]

TOOL_EMOJI: dict[str, str] = {
    "queued": ":white_circle:",
    "running": ":hourglass_flowing_sand:",
    "waiting_approval": ":raised_hand:",
    "waiting_job": ":hourglass:",
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
ON_TIMEOUT_TEXT: dict[OnTimeout, str] = {
    "reject": "rejected",
    "approve": "approved automatically",
    "end_run": "the run ended",
}
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{1,31}")


@dataclass(frozen=True)
class Message:
    """A Slack message: the notification fallback text and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class ToolProgress:
    """One tool call's line in the progress message."""

    name: str
    state: ToolState
    detail: str | None = None


@dataclass(frozen=True)
class RunProgress:
    """Everything the progress message of one run shows."""

    run_id: str
    task: str
    requester: str
    turn: int
    max_turns: int
    phase: Phase
    tools: tuple[ToolProgress, ...] = ()
    note: str | None = None
    usage: str | None = None  # tokens and cost, once the run has ended
    offline_model: bool = False


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
    kept = _escaped_prefix(raw, limit - len(TRUNCATION_MARKER.format(len(raw))))
    return escape(raw[:kept]) + TRUNCATION_MARKER.format(len(raw) - kept)


def _escaped_prefix(raw: str, budget: int) -> int:
    """How many leading characters of ``raw`` fit in ``budget`` once escaped."""
    # Every character escapes to one or more, so the answer lies within raw[:budget].
    widths = list(accumulate(len(escape(char)) for char in raw[: max(budget, 0)]))
    return bisect_right(widths, budget)


def _truncate_mrkdwn(text: str, limit: int) -> str:
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
    if _GROUP_ID.fullmatch(slack_id):
        return f"<!subteam^{slack_id}>"
    if _USER_ID.fullmatch(slack_id):
        return f"<@{slack_id}>"
    return fit(slack_id, 256)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_truncate_mrkdwn(text, SECTION_LIMIT)))


def _context(*lines: str) -> ContextBlock:
    texts = [MarkdownTextObject(text=_truncate_mrkdwn(line, CONTEXT_LIMIT)) for line in lines]
    return ContextBlock(elements=texts)


def _code(raw: str, limit: int = SECTION_LIMIT) -> str:
    """Raw text as a code block of at most ``limit`` characters, fences included."""
    return "```" + fit(raw, limit - 6) + "```"


def _message(text: str, blocks: list[Block]) -> Message:
    """``text`` is already mrkdwn-safe; blocks beyond Slack's cap are dropped."""
    dicts = [block.to_dict() for block in blocks[:MAX_BLOCKS]]
    return Message(text=_truncate_mrkdwn(text, FALLBACK_LIMIT), blocks=dicts)


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, indent=2, ensure_ascii=False, sort_keys=True)


def _body(record: ApprovalRecord) -> list[Block]:
    """Header and what is being decided on: the tool call, or the draft."""
    title = truncate(_one_line(f"Approval needed: {record.title}"), HEADER_LIMIT)
    if record.kind == "tool":
        tool = f"*Tool:* `{fit(_one_line(record.tool_name or '?'), 200)}`\n"
        what = _section(tool + _code(_json(record.arguments), SECTION_LIMIT - len(tool)))
    elif record.kind == "budget":
        what = _section(_spending_text(record.spending or {}))
    else:
        what = _section(fit(record.draft or "(empty draft)", SECTION_LIMIT))
    blocks: list[Block] = [HeaderBlock(text=title), what]
    if record.offline_model:
        blocks.append(_context(OFFLINE_NOTICE))
    return blocks


def _spending_text(spending: dict[str, Any]) -> str:
    spent, cap, more = (spending.get(k) or {} for k in ("spent", "cap", "more"))
    used = f"${float(spent.get('usd', 0)):,.2f} and {int(spent.get('tokens', 0)):,} tokens"
    return (
        f"This run has used *{used}*, reaching its cap of {_cap_text(cap)}.\n"
        f"*Continue with {_cap_text(more)} more?* Stopping ends the run here."
    )


def _cap_text(cap: dict[str, Any]) -> str:
    return describe_budget(Budget.from_json(cap))


def _facts(record: ApprovalRecord) -> str:
    facts = [f"Requested by {mention(record.requester)}"]
    if record.max_rounds > 1 or record.round > 1:
        facts.append(f"round {record.round} of {record.max_rounds}")
    facts.append(f"expires {slack_date(record.expires_at)}")
    return " · ".join(facts)


def _who_may_decide(record: ApprovalRecord) -> str:
    if record.approvers:
        return "Who may decide: " + ", ".join(mention(i) for i in record.approvers)
    return "Who may decide: any member except the requester"


def _buttons(record: ApprovalRecord) -> ActionsBlock:
    value = record.approval_id  # the only thing a click carries back
    reject_confirm = ConfirmObject(
        title="Reject?", text="You will be asked for a reason.", confirm="Reject", deny="Cancel"
    )
    if record.kind == "budget":
        more = _cap_text((record.spending or {}).get("more") or {})
        stop_confirm = ConfirmObject(
            title="Stop the run?", text="You will be asked why.", confirm="Stop", deny="Cancel"
        )
        return ActionsBlock(
            block_id=ACTIONS_BLOCK_ID,
            elements=[
                ButtonElement(
                    text=f"Continue with {more} more",
                    action_id=ACTION_APPROVE,
                    value=value,
                    style="primary",
                ),
                ButtonElement(
                    text="Stop the run",
                    action_id=ACTION_REJECT,
                    value=value,
                    style="danger",
                    confirm=stop_confirm,
                ),
            ],
        )
    buttons = [
        ButtonElement(text="Approve", action_id=ACTION_APPROVE, value=value, style="primary"),
        ButtonElement(text="Edit", action_id=ACTION_EDIT, value=value),
    ]
    if record.can_request_changes:
        buttons.append(ButtonElement(text="Request changes", action_id=ACTION_REVISE, value=value))
    buttons.append(
        ButtonElement(
            text="Reject",
            action_id=ACTION_REJECT,
            value=value,
            style="danger",
            confirm=reject_confirm,
        )
    )
    return ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons)


def approval_card(record: ApprovalRecord, *, status_hint: str) -> Message:
    """The card a reviewer acts on: what is asked, by whom, until when, and the buttons."""
    blocks = [
        *_body(record),
        _context(_facts(record), _who_may_decide(record)),
        _buttons(record),
        _context(f"Status: `{fit(status_hint, 200)}`"),
    ]
    return _message(f"Approval needed: {fit(_one_line(record.title), 200)}", blocks)


def _locked(record: ApprovalRecord, outcome: str, fallback: str) -> Message:
    """The card body with an outcome instead of buttons."""
    text = f"{fit(_one_line(record.title), 200)}: {fallback}"
    return _message(text, [*_body(record), DividerBlock(), _section(outcome)])


def decided_card(record: ApprovalRecord, decision: Decision, *, decider_name: str) -> Message:
    """The locked card: what was decided, by whom and when; no buttons."""
    who = mention(decision.decider.id) if _USER_ID.fullmatch(decision.decider.id) else None
    who = who or fit(decider_name, 256)
    when = slack_date(decision.at)
    match decision:
        case Approve():
            outcome = f":white_check_mark: Approved by {who} at {when}"
        case Edit(text=text, arguments=arguments):
            change = _json(arguments) if arguments is not None else _line_diff(record, text)
            outcome = f":pencil2: Edited and approved by {who} at {when}\n"
            outcome += _code(change, SECTION_LIMIT - len(outcome))
        case Revise(feedback=feedback):
            outcome = f":leftwards_arrow_with_hook: Changes requested by {who} at {when}: "
            outcome += fit(feedback, SECTION_LIMIT - len(outcome))
        case Reject(reason=reason):
            outcome = f":x: Rejected by {who} at {when}: "
            outcome += fit(reason, SECTION_LIMIT - len(outcome))
        case _:
            assert_never(decision)
    return _locked(record, outcome, f"decided by {fit(decider_name, 256)}")


def _line_diff(record: ApprovalRecord, edited: str | None) -> str:
    """A compact line diff of the draft: no file headers, hunks separated by ``⋯``."""
    before, after = (record.draft or "").splitlines(), (edited or "").splitlines()
    # Skip the two file headers by position: a removed "-- x" line also starts with "---".
    lines = list(difflib.unified_diff(before, after, lineterm="", n=1))[2:]
    shown = ["⋯" if line.startswith("@@") else line for line in lines]
    return "\n".join(shown[1:]) or "(no change)"


def expired_card(record: ApprovalRecord, *, expired_at: str) -> Message:
    """The card after nobody decided in time, and what happened then."""
    happened = ON_TIMEOUT_TEXT[record.on_timeout]
    outcome = f":hourglass: Expired at {slack_date(expired_at)} with no decision: {happened}."
    return _locked(record, outcome, f"expired, {happened}")


def superseded_card(record: ApprovalRecord, *, superseded_by_round: int) -> Message:
    """The card of an earlier round, replaced by a revised version."""
    outcome = (
        f":arrows_counterclockwise: Superseded by a revised version (round {superseded_by_round})."
    )
    if record.decision and record.decision.get("feedback"):
        outcome += f"\nChanges requested: {fit(str(record.decision['feedback']), 2000)}"
    return _locked(record, outcome, f"superseded by round {superseded_by_round}")


def cancelled_card(record: ApprovalRecord) -> Message:
    """The card of a run that was cancelled while it waited."""
    return _locked(record, ":octagonal_sign: Run cancelled.", "run cancelled")


def _tool_line(tool: ToolProgress) -> str:
    state = "waiting" if tool.state == "waiting_job" else tool.state.replace("_", " ")
    line = f"{TOOL_EMOJI[tool.state]} `{fit(tool.name, 100)}` {state}"
    return line + (f": {fit(_one_line(tool.detail), 200)}" if tool.detail else "")


def progress_message(progress: RunProgress, *, status_hint: str) -> Message:
    """The run's progress: task, turn and phase, and each tool call's state."""
    phase = PHASE_TEXT[progress.phase]
    turn = f"Turn {progress.turn} of {progress.max_turns} · {phase}"
    blocks: list[Block] = [_section(f"*{fit(_one_line(progress.task), 200)}*\n{turn}")]
    if progress.tools:
        blocks.append(_section("\n".join(_tool_line(tool) for tool in progress.tools)))
    if progress.note:
        blocks.append(_context(fit(progress.note, 1000)))
    if progress.usage:
        blocks.append(_context(f"Usage: {fit(progress.usage, 300)}"))
    if progress.offline_model:
        blocks.append(_context(OFFLINE_NOTICE))
    run = f"Run `{fit(progress.run_id, 64)}` · asked by {mention(progress.requester)}"
    blocks.append(_context(f"{run} · `{fit(status_hint, 200)}`"))
    return _message(f"Run {fit(progress.run_id, 64)}: {turn}", blocks)


def run_opened_message(*, task: str, requester: str, run_id: str) -> Message:
    """The thread root of a run started from Slack."""
    asked = f"{mention(requester)} asked: "
    blocks: list[Block] = [
        _section(asked + fit(task, SECTION_LIMIT - len(asked))),
        _context(f"Run `{fit(run_id, 64)}` · progress and approvals in this thread"),
    ]
    return _message(asked + fit(_one_line(task), 500), blocks)


def _chunks(raw: str, limit: int, most: int) -> list[str]:
    """Escape raw text into at most ``most`` pieces of ``limit``, breaking at lines if possible."""
    pieces: list[str] = []
    rest = raw
    while len(pieces) < most - 1 and (kept := _escaped_prefix(rest, limit)) < len(rest):
        newline = rest.rfind("\n", 0, kept)
        kept = newline + 1 if newline > kept // 2 else kept
        if rest[:kept].strip():  # Slack rejects a section of only whitespace
            pieces.append(escape(rest[:kept]))
        rest = rest[kept:]
    if rest.strip() or not pieces:
        pieces.append(fit(rest, limit) if rest.strip() else "(empty)")
    return pieces


def final_message(*, text: str, run_id: str, decided_by: str | None) -> Message:
    """The approved result, split over as many sections as Slack allows."""
    sections: list[Block] = [_section(c) for c in _chunks(text, SECTION_LIMIT, MAX_BLOCKS - 1)]
    approved = f"approved by {mention(decided_by)}" if decided_by else "approved"
    footer = _context(f"Run `{fit(run_id, 64)}` · {approved}")
    return _message(fit(text, FALLBACK_LIMIT), [*sections, footer])


def ended_message(*, run_id: str, reason: str) -> Message:
    """A run that ended without delivering, and why."""
    shown = fit(reason, 2000)
    blocks: list[Block] = [
        _section(f":stop_sign: Run ended without delivering: {shown}"),
        _context(f"Run `{fit(run_id, 64)}`"),
    ]
    return _message(f"Run {fit(run_id, 64)} ended: {shown}", blocks)
