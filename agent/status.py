"""A run's status: one vocabulary for every surface (the API, /agent status and pending, the
progress message), read the same way from the run record and the durable execution.

The run record says how a run ended when it ended normally (the ``finish`` step writes the
result's status) or was cancelled; the durable execution says when it ended any other way
(failed, timed out, stopped), and that is written back to the record (``reconcile``).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

RunStatus = Literal[
    "queued",  # accepted, its durable execution not started yet
    "running",
    "waiting_for_approval",
    "delivered",  # an approved answer was posted
    "rejected",
    "expired",  # nobody decided in time
    "no_approver",  # nobody but the requester may decide the answer
    "cancelled",
    "budget_exhausted",
    "turn_limit",
    "revision_limit",
    "operation_limit",
    "ended",  # the model ended without an answer to deliver
    "failed",
    "timed_out",
    "stopped",  # stopped outside signoff's own cancel
]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
OPEN_STATUSES: frozenset[RunStatus] = frozenset({"queued", "running", "waiting_for_approval"})
# What a durable execution that ended outside the normal end means for the run.
EXECUTION_ENDS: dict[str, RunStatus] = {
    "FAILED": "failed",
    "TIMED_OUT": "timed_out",
    "STOPPED": "stopped",
}


def status_of(run: dict[str, Any], *, execution_status: str | None = None) -> RunStatus:
    """The run's status word, from its record (and the execution's status, when known)."""
    stored = str(run.get("status") or "running")
    if stored in OPEN_STATUSES and execution_status in EXECUTION_ENDS:
        return EXECUTION_ENDS[execution_status]
    if execution_status == "RUNNING" and stored not in OPEN_STATUSES and stored != "cancelled":
        return "running"  # its last step recorded the end; the execution is finishing
    if stored == "running" and run.get("phase") == "waiting_approval":
        return "waiting_for_approval"
    return stored if stored in RUN_STATUSES else "running"


def ended_abnormally(run: dict[str, Any], execution_status: str | None) -> RunStatus | None:
    """The status to write back when the execution ended but the record still says open."""
    if str(run.get("status") or "running") in OPEN_STATUSES:
        return EXECUTION_ENDS.get(execution_status or "")
    return None


def unknown_status(value: str) -> str | None:
    """Why ``value`` is not a status word (naming the allowed ones), or None."""
    if value in RUN_STATUSES:
        return None
    return f"status {value!r} is not one of: {', '.join(RUN_STATUSES)}"
