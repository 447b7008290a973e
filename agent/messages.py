"""The run's own messages in its thread: the opening line, progress, the result, the end.

Pure functions, no I/O, no clock (``agent.progress`` posts and updates them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slack_sdk.models.blocks import Block, ButtonElement, MarkdownTextObject, SectionBlock

from agent.mrkdwn import (
    FALLBACK_LIMIT,
    OFFLINE_NOTICE,
    SECTION_LIMIT,
    Message,
    context,
    escape,
    escaped_prefix,
    fit,
    fit_written,
    mention,
    message,
    one_line,
    section,
    slack_date,
    truncate,
)

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
ACTION_REVOKE = "signoff_revoke_standing"
PHASE_TEXT: dict[str, str] = {
    "thinking": "thinking",
    "running_tools": "running tools",
    "waiting_approval": "waiting for approval",
    "finished": "finished",
    "failed": "failed",
    "stopped": "stopped",
}


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
    cancelled_by: str | None = None
    cancelled_at: str | None = None
    status: str = "running"  # agent.status's word for the run
    standing: tuple[StandingApproval, ...] = ()


@dataclass(frozen=True)
class StandingApproval:
    """A tool allowed for the rest of the run, by whom, and whether it was revoked since."""

    tool: str
    by: str
    revoked_by: str | None = None


def _tool_line(tool: ToolProgress) -> str:
    state = "waiting" if tool.state == "waiting_job" else tool.state.replace("_", " ")
    line = f"{TOOL_EMOJI[tool.state]} `{fit(tool.name, 100)}` {state}"
    return line + (f": {fit(one_line(tool.detail), 200)}" if tool.detail else "")


def _phase_text(progress: RunProgress) -> str:
    """The phase, or what the turn's tool calls are doing once the model has asked for them."""
    states = {tool.state for tool in progress.tools}
    if progress.phase == "thinking" and "waiting_approval" in states:
        return PHASE_TEXT["waiting_approval"]
    if progress.phase == "thinking" and states & {"queued", "running", "waiting_job"}:
        return PHASE_TEXT["running_tools"]
    return PHASE_TEXT[progress.phase]


def progress_message(progress: RunProgress, *, status_hint: str) -> Message:
    """The run's progress: task, turn and phase, and each tool call's state."""
    # While it runs, what it is doing; once it waits or ends, the status every surface uses.
    ended = progress.status not in ("running", "queued")
    phase = progress.status.replace("_", " ") if ended else _phase_text(progress)
    of_turns = f" of {progress.max_turns}" if progress.max_turns else ""
    turn = f"Turn {progress.turn}{of_turns} · {phase}"
    blocks: list[Block] = [section(f"*{fit_written(one_line(progress.task), 200)}*\n{turn}")]
    if progress.tools:
        blocks.append(section("\n".join(_tool_line(tool) for tool in progress.tools)))
    blocks += _standing_blocks(progress)
    if progress.cancelled_by:
        when = f" at {slack_date(progress.cancelled_at)}" if progress.cancelled_at else ""
        blocks.append(
            context(f":octagonal_sign: Cancelled by {mention(progress.cancelled_by)}{when}")
        )
    elif progress.note:
        blocks.append(context(fit(progress.note, 1000)))
    if progress.usage:
        blocks.append(context(f"Usage: {fit(progress.usage, 300)}"))
    if progress.offline_model:
        blocks.append(context(OFFLINE_NOTICE))
    run = f"Run `{fit(progress.run_id, 64)}` · asked by {mention(progress.requester)}"
    blocks.append(context(f"{run} · `{fit(status_hint, 200)}`"))
    return message(f"Run {fit(progress.run_id, 64)}: {turn}", blocks)


def _standing_blocks(progress: RunProgress) -> list[Block]:
    """Each standing approval of the run, with a Revoke button while it stands."""
    blocks: list[Block] = []
    for grant in progress.standing:
        tool = fit(one_line(grant.tool), 100)
        if grant.revoked_by is not None:
            text = f":no_entry_sign: `{tool}` was allowed for this run by {mention(grant.by)}; "
            blocks.append(context(text + f"revoked by {mention(grant.revoked_by)}"))
            continue
        text = f":unlock: `{tool}` is allowed for this run by {mention(grant.by)}"
        revoke = ButtonElement(
            text=f"Revoke {truncate(one_line(grant.tool), 40)}",
            action_id=ACTION_REVOKE,
            value=f"{progress.run_id}|{grant.tool}",
            style="danger",
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text), accessory=revoke))
    return blocks


def run_opened_message(*, task: str, requester: str, run_id: str) -> Message:
    """The thread root of a run started from Slack."""
    asked = f"{mention(requester)} asked: "
    blocks: list[Block] = [
        section(asked + fit_written(task, SECTION_LIMIT - len(asked))),
        context(f"Run `{fit(run_id, 64)}` · progress and approvals in this thread"),
    ]
    return message(asked + fit_written(one_line(task), 500), blocks)


def _chunks(raw: str, limit: int, most: int) -> list[str]:
    """Escape raw text into at most ``most`` pieces of ``limit``, breaking at lines if possible."""
    pieces: list[str] = []
    rest = raw
    while len(pieces) < most - 1 and (kept := escaped_prefix(rest, limit)) < len(rest):
        newline = rest.rfind("\n", 0, kept)
        kept = newline + 1 if newline > kept // 2 else kept
        if rest[:kept].strip():  # Slack rejects a section of only whitespace
            pieces.append(escape(rest[:kept]))
        rest = rest[kept:]
    if rest.strip() or not pieces:
        pieces.append(fit(rest, limit) if rest.strip() else "(empty)")
    return pieces


# Slack refuses a message whose blocks hold more than about 12,000 characters in all
# (msg_blocks_too_long), far below 50 sections of 3,000: a long answer is several messages.
SECTIONS_PER_MESSAGE = 3


def final_messages(*, text: str, run_id: str, decided_by: str | None) -> list[Message]:
    """The approved result, every character of it, in as many messages as Slack needs."""
    approved = f"approved by {mention(decided_by)}" if decided_by else "approved"
    return _in_parts(text, f"Run `{fit(run_id, 64)}` · {approved}")


def full_content_messages(content: str, *, title: str) -> list[Message]:
    """Everything a card could not show, under it: what the reviewer is asked to approve."""
    label = f":page_facing_up: The whole of what the card above asks about ({fit(title, 200)})"
    return _in_parts(content, label)


def _in_parts(text: str, label: str) -> list[Message]:
    """Every character of ``text`` (escaped), a few sections per message, each labelled."""
    chunks = _chunks(text, SECTION_LIMIT, len(text) // 1000 + 2)
    parts = [
        chunks[i : i + SECTIONS_PER_MESSAGE] for i in range(0, len(chunks), SECTIONS_PER_MESSAGE)
    ]
    shown = []
    for number, part in enumerate(parts, start=1):
        of = f" · part {number} of {len(parts)}" if len(parts) > 1 else ""
        fallback = fit(text, FALLBACK_LIMIT) if number == 1 else f"(part {number} of {len(parts)})"
        shown.append(message(fallback, [*(section(c) for c in part), context(label + of)]))
    return shown


def ended_message(*, run_id: str, reason: str) -> Message:
    """A run that ended without delivering, and why."""
    shown = fit(reason, 2000)
    blocks: list[Block] = [
        section(f":stop_sign: Run ended without delivering: {shown}"),
        context(f"Run `{fit(run_id, 64)}`"),
    ]
    return message(f"Run {fit(run_id, 64)} ended: {shown}", blocks)


def nobody_can_decide_message(*, title: str, reason: str) -> Message:
    """A gate that ended at once: nobody but the requester may decide it."""
    shown = f":no_entry: Nobody can approve {fit(one_line(title), 200)}: {fit(reason, 1000)}."
    return message(shown, [section(shown)])


def mcp_tools_missing_message(problems: list[str]) -> Message:
    """MCP tools this run does without: a server that did not answer, a refused name."""
    lines = "\n".join(f"• {fit(one_line(p), 300)}" for p in problems[:10])
    blocks: list[Block] = [section(f":electric_plug: Some MCP tools are missing:\n{lines}")]
    return message(f"Some MCP tools are missing: {fit(one_line(problems[0]), 300)}", blocks)
