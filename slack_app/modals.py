"""The Edit / Request changes / Reject modals, and reading what the reviewer typed (pure).

Modals carry only the approval id in ``private_metadata``. Submissions are validated here and
problems go back into the modal as field errors, so a bad edit never resumes a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from agent.approvals.decisions import MAX_FEEDBACK
from agent.errors import ToolInputError
from agent.json_limits import TooDeep, loads
from agent.models import ApprovalRecord
from agent.tools import ToolRegistry
from agent.tools.edits import checked_edit

EDIT_VIEW = "signoff_edit"
REVISE_VIEW = "signoff_revise"
REJECT_VIEW = "signoff_reject"
REJECT_ALL_VIEW = "signoff_reject_all"
FIELD_BLOCK = "signoff_field"
FIELD_ACTION = "value"
# Slack's plain_text_input holds at most 3000 characters.
INPUT_LIMIT = 3000


@dataclass(frozen=True)
class Submission:
    """What a valid submission asks for: one of text, arguments, feedback or reason."""

    kind: str
    approval_id: str
    value: str | dict[str, Any]


def edit_modal(record: ApprovalRecord) -> dict[str, Any] | None:
    """The edit modal pre-filled with the draft or the tool's arguments; None if too long."""
    if record.kind == "tool":
        initial = json.dumps(record.arguments or {}, indent=2, ensure_ascii=False)
        label, hint = "Arguments (JSON)", f"The arguments {record.tool_name} will run with."
    else:
        initial, label, hint = record.draft or "", "Draft", "What will be delivered."
    if len(initial) > INPUT_LIMIT:
        return None
    return _modal(EDIT_VIEW, record, "Edit and approve", label, hint, initial, "Approve")


def revise_modal(record: ApprovalRecord) -> dict[str, Any]:
    hint = "Claude revises and a new card replaces this one."
    return _modal(REVISE_VIEW, record, "Request changes", "What should change?", hint, None, "Send")


def reject_modal(record: ApprovalRecord) -> dict[str, Any]:
    hint = "Claude sees the reason." if record.kind == "tool" else "The run ends."
    return _modal(REJECT_VIEW, record, "Reject", "Why?", hint, None, "Reject")


def reject_all_modal(record: ApprovalRecord, count: int) -> dict[str, Any]:
    """One reason for every open call of a batch card (``record``: one of them)."""
    hint = f"The {count} open calls on this card are rejected; Claude sees the reason."
    return _modal(REJECT_ALL_VIEW, record, "Reject all", "Why?", hint, None, "Reject all")


def _modal(
    callback_id: str,
    record: ApprovalRecord,
    title: str,
    label: str,
    hint: str,
    initial: str | None,
    submit: str,
) -> dict[str, Any]:
    element = PlainTextInputElement(
        action_id=FIELD_ACTION,
        multiline=True,
        initial_value=initial,
        max_length=INPUT_LIMIT if callback_id == EDIT_VIEW else MAX_FEEDBACK,
    )
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=record.approval_id,
        title=title,
        submit=submit,
        close="Cancel",
        blocks=[
            SectionBlock(text=f"*{record.title}*"),
            InputBlock(block_id=FIELD_BLOCK, label=label, element=element, hint=hint),
        ],
    )
    return view.to_dict()


def read_submission(
    view: dict[str, Any], record: ApprovalRecord, tools: ToolRegistry
) -> Submission | dict[str, str]:
    """The submission, or field errors (``{block_id: message}``) to show in the modal."""
    raw = _field(view).strip()
    kind = {EDIT_VIEW: "edit", REVISE_VIEW: "revise", REJECT_VIEW: "reject"}[view["callback_id"]]
    limit = INPUT_LIMIT if kind == "edit" else MAX_FEEDBACK
    if not raw:
        return {FIELD_BLOCK: "This can't be empty."}
    if len(raw) > limit:
        return {FIELD_BLOCK: f"Keep it under {limit} characters."}
    if kind == "edit" and record.kind == "tool":
        return _arguments(raw, record, tools)
    return Submission(kind=kind, approval_id=record.approval_id, value=raw)


def read_reason(view: dict[str, Any]) -> str | dict[str, str]:
    """A reason typed in a modal, or field errors to show in it."""
    raw = _field(view).strip()
    if not raw:
        return {FIELD_BLOCK: "This can't be empty."}
    if len(raw) > MAX_FEEDBACK:
        return {FIELD_BLOCK: f"Keep it under {MAX_FEEDBACK} characters."}
    return raw


def _arguments(
    raw: str, record: ApprovalRecord, tools: ToolRegistry
) -> Submission | dict[str, str]:
    try:
        arguments = loads(raw, "The arguments")
    except TooDeep as err:
        return {FIELD_BLOCK: f"{err}."}
    except json.JSONDecodeError as err:
        return {FIELD_BLOCK: f"Not valid JSON: {err.msg} (line {err.lineno})."}
    if not isinstance(arguments, dict):
        return {FIELD_BLOCK: "The arguments must be a JSON object."}
    try:
        edited = checked_edit(tools, record.tool_name or "", arguments, mcp_tool=record.mcp_tool)
    except ToolInputError as err:
        return {FIELD_BLOCK: str(err)[:500]}
    return Submission(kind="edit", approval_id=record.approval_id, value=edited)


def _field(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    value = values.get(FIELD_BLOCK, {}).get(FIELD_ACTION, {}).get("value")
    return value if isinstance(value, str) else ""
