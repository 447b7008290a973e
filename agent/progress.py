"""The run's progress message: one per run, in its thread, updated in place.

The progress lives in the run record (turn, phase, one entry per tool call) and every update
re-renders the message from it, so a replayed or retried step writes the same message.
Progress is best effort: a Slack hiccup is logged, never allowed to fail a run.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from agent.deps import AgentDeps
from agent.messages import RunProgress, StandingApproval, ToolProgress, progress_message
from agent.models import RunInfo
from agent.status import status_of

_logger = logging.getLogger(__name__)
# Tool steps of one turn run in threads of one invocation: keep their updates in order.
_write_lock = threading.Lock()


def show(deps: AgentDeps, run_id: str, **fields: Any) -> None:
    """Set run fields (turn, phase, note, usage_line...) and re-render the progress message."""
    with _write_lock:
        try:
            record = deps.store.update_run(run_id, **fields)
            _render(deps, record)
        except Exception:  # progress must never fail the run
            _logger.warning("progress update failed for run %s", run_id, exc_info=True)


def show_tool(
    deps: AgentDeps,
    run: RunInfo,
    *,
    call_id: str,
    order: int,
    name: str,
    state: str,
    detail: str | None = None,
) -> None:
    """Set one tool call's state (and a detail such as a job's next check) in the progress
    message (runs with a Slack thread only)."""
    if deps.slack is None or run.channel is None:
        return
    run_id = run.run_id
    entry = {"order": order, "name": name, "state": state, "detail": detail}
    with _write_lock:
        try:
            record = deps.store.set_tool_progress(run_id, call_id, entry)
            _render(deps, record)
        except Exception:  # progress must never fail the run
            _logger.warning("tool progress update failed for run %s", run_id, exc_info=True)


def _render(deps: AgentDeps, record: dict[str, Any]) -> None:
    render(deps.slack, record, status_hint=deps.settings.status_hint(record["run_id"]))


def render(slack: Any, record: dict[str, Any], *, status_hint: str) -> None:
    """Re-render a run's progress message from its record (the control plane does too)."""
    if slack is None or not record.get("progress_ts") or not record.get("channel"):
        return
    message = progress_message(progress_of(record), status_hint=status_hint)
    slack.chat_update(
        channel=record["channel"],
        ts=record["progress_ts"],
        text=message.text,
        blocks=message.blocks,
    )


def progress_of(record: dict[str, Any]) -> RunProgress:
    """What the progress message shows, read from the run record."""
    tools = sorted((record.get("tools") or {}).values(), key=lambda entry: entry["order"])
    return RunProgress(
        run_id=record["run_id"],
        task=record["task"],
        requester=record["requester"],
        turn=int(record.get("turn", 0)) + 1,
        max_turns=int(record.get("max_turns", 0)),
        phase=record.get("phase", "thinking"),
        tools=tuple(
            ToolProgress(name=entry["name"], state=entry["state"], detail=entry.get("detail"))
            for entry in tools
        ),
        note=record.get("note"),
        usage=record.get("usage_line"),
        offline_model=bool(record.get("offline_model")),
        cancelled_by=record.get("cancelled_by"),
        cancelled_at=record.get("cancelled_at"),
        status=status_of(record),
        standing=tuple(
            StandingApproval(
                tool=tool,
                by=str((grant.get("by") or {}).get("id") or "someone"),
                revoked_by=grant.get("revoked_by"),
            )
            for tool, grant in sorted((record.get("standing") or {}).items())
        ),
    )
