"""Slack Block Kit views of approvals: the card, and how it reads once decided or closed.

Pure functions, no I/O, no clock. Every button carries only the opaque approval id; text is
escaped and cut with ``agent.mrkdwn``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from typing import Any, assert_never

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
)

from agent.approvals.decisions import Approve, Decider, Decision, Edit, Reject, Revise
from agent.approvals.quorum import deciders, is_group, not_voted, tally
from agent.budget import Budget, describe_budget
from agent.models import ApprovalRecord, OnTimeout
from agent.mrkdwn import (
    HEADER_LIMIT,
    OFFLINE_NOTICE,
    SECTION_LIMIT,
    TRUNCATION_MARKER,
    USER_ID,
    Message,
    code,
    context,
    escape,
    fit,
    mention,
    message,
    one_line,
    pretty_json,
    section,
    slack_date,
    truncate,
)

ACTION_APPROVE = "signoff_approve"
ACTION_EDIT = "signoff_edit"
ACTION_REVISE = "signoff_revise"
ACTION_REJECT = "signoff_reject"
ACTION_APPROVE_STANDING = "signoff_approve_standing"
ACTIONS_BLOCK_ID = "signoff_actions"
INLINE_VALUE = 80  # longer texts get a block of their own


# What silence does to a gate, after the deadline and before it: never a rejection by a
# person, never an approval. By (kind of gate, on_timeout); draft gates end the run either way.
_SILENCE: dict[tuple[str, OnTimeout], tuple[str, str]] = {
    ("tool", "reject"): (
        "the call was not run, and the agent was told nobody decided",
        "the call will not run, and the agent will be told nobody decided",
    ),
    ("tool", "end_run"): (
        "the call was not run, and the run ended",
        "the call will not run, and the run will end",
    ),
    ("budget", "reject"): ("the run stopped at its budget", "the run will stop at its budget"),
    ("draft", "reject"): (
        "the answer was not delivered, and the run ended",
        "the answer will not be delivered, and the run will end",
    ),
}
_SILENCE[("budget", "end_run")] = _SILENCE[("budget", "reject")]
_SILENCE[("draft", "end_run")] = _SILENCE[("draft", "reject")]


def timeout_text(kind: str, on_timeout: OnTimeout) -> str:
    """What silence did to a gate."""
    return _SILENCE[(kind, on_timeout)][0]


def timeout_warning(kind: str, on_timeout: OnTimeout) -> str:
    """What silence will do, said before the deadline (a reminder's words)."""
    return _SILENCE[(kind, on_timeout)][1]


def _body(record: ApprovalRecord, heading: str = "Approval needed") -> list[Block]:
    """Header and what is being decided on: the tool call, or the draft."""
    title = truncate(one_line(f"{heading}: {record.title}"), HEADER_LIMIT)
    if record.kind == "tool":
        tool = _tool_heading(record)
        what = section(tool + arguments_text(current_arguments(record), SECTION_LIMIT - len(tool)))
    elif record.kind == "budget":
        what = section(_spending_text(record.spending or {}))
    else:
        what = section(fit(current_draft(record) or "(empty draft)", SECTION_LIMIT))
    blocks: list[Block] = [HeaderBlock(text=title), what]
    if record.offline_model:
        blocks.append(context(OFFLINE_NOTICE))
    return blocks


def arguments_text(arguments: dict[str, Any], limit: int) -> str:
    """Each argument on its own line, as a reviewer reads it: a short value inline, a long or
    multi-line text as a block of its own lines (no JSON escapes); the JSON when too long."""
    lines = []
    for name, value in arguments.items():
        label = f"*{fit(one_line(str(name)), 100)}:*"
        if isinstance(value, str) and "\n" not in value and len(value) <= INLINE_VALUE:
            lines.append(
                f"{label} `{fit(value, INLINE_VALUE * 5)}`" if value else f"{label} (empty)"
            )
        elif isinstance(value, str):
            lines.append(f"{label}\n{code(value, limit)}")
        elif isinstance(value, dict | list):
            lines.append(f"{label}\n{code(json.dumps(value, indent=2, ensure_ascii=False), limit)}")
        else:
            lines.append(f"{label} `{fit(json.dumps(value), 200)}`")
    shown = "\n".join(lines) or "(no arguments)"
    return shown if len(shown) <= limit else code(pretty_json(arguments), limit)


def _spending_text(spending: dict[str, Any]) -> str:
    spent, cap, more = (spending.get(k) or {} for k in ("spent", "cap", "more"))
    used = f"${float(spent.get('usd', 0)):,.2f} and {int(spent.get('tokens', 0)):,} tokens"
    return (
        f"This run has used *{used}*, reaching its cap of {_cap_text(cap)}.\n"
        f"*Continue with {_cap_text(more)} more?* Stopping ends the run here."
    )


def _cap_text(cap: dict[str, Any]) -> str:
    return describe_budget(Budget.from_json(cap))


TRUNCATED = TRUNCATION_MARKER.split("{", 1)[0]  # how every cut this module makes begins


def content_of(record: ApprovalRecord) -> str:
    """Exactly what the reviewer approves: the draft, or the tool call's arguments (as a
    quorum's editor left them, once edited)."""
    if record.kind == "tool":
        return pretty_json(current_arguments(record))
    if record.kind == "draft":
        return current_draft(record) or ""
    return ""


def current_arguments(record: ApprovalRecord) -> dict[str, Any]:
    edited = (record.edited or {}).get("arguments")
    return dict(edited if edited is not None else record.arguments or {})


def current_draft(record: ApprovalRecord) -> str | None:
    edited = (record.edited or {}).get("text")
    return str(edited) if edited is not None else record.draft


def content_hash(record: ApprovalRecord) -> str:
    """A short SHA-256 of the content, on the card and beside its full text."""
    return hashlib.sha256(content_of(record).encode("utf-8")).hexdigest()[:12]


def fits_on_card(record: ApprovalRecord) -> bool:
    """Whether the card itself shows every byte of the content."""
    if record.kind == "tool":
        shown = arguments_text(
            current_arguments(record), SECTION_LIMIT - len(_tool_heading(record))
        )
        return TRUNCATED not in shown
    return len(escape(content_of(record))) <= SECTION_LIMIT


def content_line(record: ApprovalRecord) -> str:
    size = f"{len(content_of(record)):,} characters"
    where = "" if fits_on_card(record) else " · shown in full in the thread below"
    return f"Content sha256 `{content_hash(record)}` · {size}{where}"


def _tool_heading(record: ApprovalRecord) -> str:
    heading = f"*Tool:* `{fit(one_line(record.tool_name or '?'), 200)}`\n"
    return heading + (mcp_line(record.mcp_tool) + "\n" if record.mcp_tool else "")


def mcp_line(facts: dict[str, Any]) -> str:
    """Where an MCP tool runs and what its server says of it (hints, not guarantees)."""
    hints = facts.get("annotations") or {}
    said = ", ".join(f"{name} {str(value).lower()}" for name, value in hints.items())
    return (
        f"MCP server `{fit(one_line(str(facts.get('server'))), 60)}` · tool "
        f"`{fit(one_line(str(facts.get('tool'))), 100)}` · "
        + (f"the server's hints: {said}" if said else "no hints from the server: side-effecting")
    )


def facts_text(record: ApprovalRecord) -> str:
    facts = [f"Requested by {mention(record.requester)}"]
    if record.max_rounds > 1 or record.round > 1:
        facts.append(f"round {record.round} of {record.max_rounds}")
    facts.append(f"expires {slack_date(record.expires_at)}")
    return " · ".join(facts)


def who_may_decide_text(record: ApprovalRecord) -> str:
    if record.approvers:
        return "Who may decide: " + ", ".join(mention(i) for i in record.approvers)
    return "Who may decide: any member except the requester"


def _routing(record: ApprovalRecord) -> list[Block]:
    """The quorum's progress, an edit that reset it, and an escalation, when there are any."""
    lines = []
    if record.required > 1:
        lines.append(quorum_line(record))
    if record.edited:
        by = fit(str(record.edited.get("by", "someone")), 256)
        lines.append(f":pencil2: Edited by {by}: approvals given before the edit no longer count")
    if record.escalated_at:
        to = ", ".join(mention(p) for p in record.escalated_to) or "more people"
        lines.append(f":rotating_light: Escalated to {to} at {slack_date(record.escalated_at)}")
    return [context(line) for line in lines]


def quorum_line(record: ApprovalRecord, members: Iterable[str] = ()) -> str:
    """The quorum line: "Approved by @a · 1 of 2 · waiting for @b, @c or anyone in @leads"."""
    votes = tally(record)
    done = f"{len(votes.approved_by)} of {votes.required}"
    approved = ", ".join(
        who_text(v, n) for v, n in zip(votes.approved_by, votes.names, strict=True)
    )
    parts = [f"Approved by {approved}" if approved else "No approvals yet", done]
    waiting = [mention(u) for u in not_voted(record, members) if not is_group(u)]
    groups = [mention(g) for g in deciders(record) if is_group(g)]
    if waiting or groups:
        who = ", ".join(waiting)
        if groups:
            who += (" or anyone in " if who else "anyone in ") + ", ".join(groups)
        parts.append(f"waiting for {who}")
    elif not record.approvers:
        parts.append("waiting for any member but the requester")
    return " · ".join(parts)


def standing_button(record: ApprovalRecord) -> ButtonElement:
    """ "Approve and allow <tool> for this run": later calls of the tool skip the card."""
    confirm = ConfirmObject(
        title="Allow for this run?",
        text="Later calls of this tool in this run run without asking anyone, until revoked.",
        confirm="Allow",
        deny="Cancel",
    )
    tool = truncate(one_line(record.tool_name or "it"), 30)
    return ButtonElement(
        text=f"Approve and allow {tool} for this run",
        action_id=ACTION_APPROVE_STANDING,
        value=record.approval_id,
        confirm=confirm,
    )


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
        *([standing_button(record)] if record.sticky else []),
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
        *([context(content_line(record))] if record.kind != "budget" else []),
        context(facts_text(record), who_may_decide_text(record)),
        *_routing(record),
        _buttons(record),
        context(f"Status: `{fit(status_hint, 200)}`"),
    ]
    return message(f"Approval needed: {fit(one_line(record.title), 200)}", blocks)


def _locked(record: ApprovalRecord, heading: str, outcome: str, fallback: str) -> Message:
    """The card body under its outcome's heading, with the outcome instead of buttons."""
    text = f"{fit(one_line(record.title), 200)}: {fallback}"
    return message(text, [*_body(record, heading), DividerBlock(), section(outcome)])


def who_text(decider_id: str, decider_name: str) -> str:
    """A Slack user as a mention; anyone else (an API caller) by name, escaped."""
    return mention(decider_id) if USER_ID.fullmatch(decider_id) else fit(decider_name, 256)


def decided_card(record: ApprovalRecord, decision: Decision, *, decider_name: str) -> Message:
    """The locked card: what was decided, by whom and when; no buttons."""
    who = who_text(decision.decider.id, decider_name)
    if decision.decider.via is not None and USER_ID.fullmatch(decision.decider.id):
        who += f", via {fit(decision.decider.via, 256)}"
    when = slack_date(decision.at)
    match decision:
        case Approve(approvals=approvals):
            who = _quorum_who(approvals) or who
            heading, outcome = "Approved", f":white_check_mark: Approved by {who} at {when}"
        case Edit(text=text, arguments=arguments, approvals=approvals):
            change = pretty_json(arguments) if arguments is not None else _line_diff(record, text)
            heading = "Edited and approved"
            if approvals:
                by = fit(str((record.edited or {}).get("by", decider_name)), 256)
                outcome = f":pencil2: Edited by {by}, approved by {_quorum_who(approvals)}"
                outcome += f" at {when}\n"
            else:
                outcome = f":pencil2: Edited and approved by {who} at {when}\n"
            outcome += code(change, SECTION_LIMIT - len(outcome))
        case Revise(feedback=feedback):
            heading = "Changes requested"
            outcome = f":leftwards_arrow_with_hook: Changes requested by {who} at {when}: "
            outcome += fit(feedback, SECTION_LIMIT - len(outcome))
        case Reject(reason=reason):
            heading, outcome = "Rejected", f":x: Rejected by {who} at {when}: "
            outcome += fit(reason, SECTION_LIMIT - len(outcome))
        case _:
            assert_never(decision)
    return _locked(record, heading, outcome, f"decided by {fit(decider_name, 256)}")


def _quorum_who(approvals: tuple[Decider, ...] | None) -> str | None:
    """Who made up a quorum: "@a and @b (2 of 2)"; None for a single approver's decision."""
    if not approvals or len(approvals) < 2:
        return None
    names = [who_text(a.id, a.name) for a in approvals]
    return f"{', '.join(names[:-1])} and {names[-1]} ({len(names)} of {len(names)})"


def _line_diff(record: ApprovalRecord, edited: str | None) -> str:
    """A compact line diff of the draft: no file headers, hunks separated by ``⋯``."""
    before, after = (record.draft or "").splitlines(), (edited or "").splitlines()
    # Skip the two file headers by position: a removed "-- x" line also starts with "---".
    lines = list(difflib.unified_diff(before, after, lineterm="", n=1))[2:]
    shown = ["⋯" if line.startswith("@@") else line for line in lines]
    return "\n".join(shown[1:]) or "(no change)"


def expired_card(record: ApprovalRecord, *, expired_at: str) -> Message:
    """The card after nobody decided in time, and what happened then."""
    happened = timeout_text(record.kind, record.on_timeout)
    outcome = f":hourglass: No decision by {slack_date(expired_at)}: {happened}."
    if record.required > 1:
        outcome += f" ({quorum_line(record)})"
    return _locked(record, "No decision", outcome, f"no decision, {happened}")


def superseded_card(record: ApprovalRecord, *, superseded_by_round: int) -> Message:
    """The card of an earlier round, replaced by a revised version."""
    outcome = (
        f":arrows_counterclockwise: Superseded by a revised version (round {superseded_by_round})."
    )
    asked = record.decision or {}
    if asked.get("feedback"):
        decider = asked.get("decider") or {}
        who = who_text(str(decider.get("id", "")), str(decider.get("name") or "someone"))
        when = f" at {slack_date(str(asked['at']))}" if asked.get("at") else ""
        outcome += f"\nChanges requested by {who}{when}: {fit(str(asked['feedback']), 2000)}"
    return _locked(record, "Superseded", outcome, f"superseded by round {superseded_by_round}")


def cancelled_card(record: ApprovalRecord, *, by: str, at: str) -> Message:
    """The card of a run that was cancelled while it waited: by whom, and when."""
    outcome = f":octagonal_sign: Run cancelled by {who_text(by, by)} at {slack_date(at)}."
    return _locked(record, "Cancelled", outcome, "run cancelled")
