"""What goes into a run's audit log: one pure builder per event, and ``record`` to append one.

Each builder says who (``by``), what (``kind``, ``data``) and names the event with an id that
a retry repeats (``event_id``), so the log holds it once however often it is recorded: from a
retried step, a click delivered twice, or both the control plane and the run's own step.
Secrets never go in: tool arguments only as a hash (``sha256:…`` of their canonical JSON), an
edit of arguments as the names of the arguments it changed and the hashes before and after.
The task, a draft's diff, feedback and reasons are people's words and go in as written.

A call site is one line, e.g. ``record(deps.store, reminder_sent(record, index=0, waiting=w))``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, assert_never

from agent.approvals.decisions import Approve, Decider, Decision, Edit, Reject, Revise
from agent.models import ApprovalRecord, RunRequest
from agent.storage.audit import AuditLog
from agent.storage.audit_chain import AuditEvent, content_hash
from agent.storage.store import Store

SIGNOFF = {"id": "signoff", "name": "signoff"}  # the run itself (timers, steps)
MAX_DIFF_CHARS = 20_000


def record(store: Store, event: AuditEvent) -> dict[str, Any] | None:
    """Append ``event`` to its run's log (the entry, or None when it is there already)."""
    return AuditLog(store.table).append(event)


def person(decider: Decider) -> dict[str, str]:
    """Who acted, as the log names them (``via``: the API caller acting for them)."""
    named = {"id": decider.id, "name": decider.name}
    return named | ({"via": decider.via} if decider.via else {})


def run_started(
    run_id: str, request: RunRequest, *, policy_hash: str | None, model: str, prompts: str
) -> AuditEvent:
    data = {
        "task": request.task,
        "requester": request.requester,
        "source": request.source,
        "channel": request.channel,
        "started_by": request.started_by,
        "policy_hash": policy_hash,
        "model": model,
        "prompts_version": prompts,
    }
    by = {"id": request.started_by or request.requester, "name": request.requester}
    return AuditEvent(run_id, "run_started", "run-started", by, _present(data))


def approval_requested(record: ApprovalRecord, *, gate: str) -> AuditEvent:
    data: dict[str, Any] = {
        "approval_id": record.approval_id,
        "gate": gate,
        "gate_kind": record.kind,
        "title": record.title,
        "round": record.round,
        "tool": record.tool_name,
        "arguments_hash": content_hash(record.arguments) if record.arguments is not None else None,
        "draft_hash": content_hash(record.draft) if record.draft is not None else None,
        "policy_table": record.policy_table,
        "approvers": list(record.approvers),
        "required": record.required,
        "expires_at": record.expires_at,
        "on_timeout": record.on_timeout,
    }
    return _gate_event(record, "approval_requested", SIGNOFF, data)


def reminder_sent(record: ApprovalRecord, *, index: int, waiting: Sequence[str]) -> AuditEvent:
    data = {"approval_id": record.approval_id, "reminder": index + 1, "waiting_on": list(waiting)}
    return _gate_event(record, f"reminder-{index}", SIGNOFF, data, kind="reminder_sent")


def escalated(record: ApprovalRecord) -> AuditEvent:
    data = {
        "approval_id": record.approval_id,
        "to": list(record.escalated_to),
        "channel": record.escalation_channel,
    }
    return _gate_event(record, "escalated", SIGNOFF, _present(data))


def vote(record: ApprovalRecord, decision: Approve | Edit, *, version: int) -> AuditEvent:
    """One person's approval toward a quorum (an edit is the editor's approval of new
    content); named by voter and the content version they approved, so it counts once."""
    data: dict[str, Any] = {
        "approval_id": record.approval_id,
        "vote": decision.decision,
        "content_version": version,
    }
    if isinstance(decision, Edit):
        data |= _edit(record, decision)
    voter = decision.decider.id
    return _gate_event(
        record, f"vote:{voter}:{version}", person(decision.decider), data, kind="vote"
    )


def decided(record: ApprovalRecord, decision: Decision) -> AuditEvent:
    """The gate's decision: approve, edit (with the diff), request changes (with the
    feedback), reject (with the reason)."""
    data: dict[str, Any] = {"approval_id": record.approval_id, "decision": decision.decision}
    match decision:
        case Approve():
            pass
        case Edit():
            data |= _edit(record, decision)
        case Revise(feedback=feedback):
            data["feedback"] = feedback
        case Reject(reason=reason):
            data["reason"] = reason
        case unexpected:
            assert_never(unexpected)
    if isinstance(decision, Approve | Edit) and decision.approvals:
        data["approvals"] = [person(d) for d in decision.approvals]
    return _gate_event(record, "decided", person(decision.decider), data)


def expired(record: ApprovalRecord, *, at: str) -> AuditEvent:
    data = {"approval_id": record.approval_id, "deadline": at, "on_timeout": record.on_timeout}
    return _gate_event(record, "expired", SIGNOFF, data)


def cancelled(run_id: str, *, by: dict[str, str], closed: Sequence[str]) -> AuditEvent:
    """The run was stopped by ``by``; ``closed`` are the approvals it closed."""
    return AuditEvent(run_id, "cancelled", "cancelled", by, {"closed_approvals": list(closed)})


def standing_granted(
    run_id: str, *, tool: str, approval_id: str, by: Decider, condition: str | None = None
) -> AuditEvent:
    """A decider allowed ``tool`` for the rest of the run (from the card ``approval_id``)."""
    data = _present({"tool": tool, "approval_id": approval_id, "when": condition})
    return AuditEvent(run_id, "standing_granted", f"{approval_id}:standing", person(by), data)


def standing_used(
    run_id: str, *, tool: str, call_id: str, arguments: dict[str, Any], granted_in: str
) -> AuditEvent:
    """A call ran without a card under the standing approval granted in ``granted_in``."""
    data = {
        "tool": tool,
        "call_id": call_id,
        "arguments_hash": content_hash(arguments),
        "granted_in": granted_in,
    }
    return AuditEvent(run_id, "standing_used", f"{call_id}:standing-used", SIGNOFF, data)


def standing_revoked(run_id: str, *, tool: str, granted_in: str, by: dict[str, str]) -> AuditEvent:
    """``by`` ended the standing approval for ``tool`` (granted in ``granted_in``)."""
    data = {"tool": tool, "granted_in": granted_in}
    return AuditEvent(run_id, "standing_revoked", f"{granted_in}:standing-revoked", by, data)


def job_completed(
    run_id: str, *, job_id: str, tool: str | None, state: str, error: str | None = None
) -> AuditEvent:
    """A long-running tool call ended: ``completed``, ``failed`` or ``expired``."""
    data = _present({"job_id": job_id, "tool": tool, "state": state, "error": error})
    return AuditEvent(run_id, "job_completed", f"{job_id}:ended", SIGNOFF, data)


def delivered(
    run_id: str, *, text: str, edited: bool, decided_by: str | None, ts: str | None
) -> AuditEvent:
    """The approved answer was delivered (exactly these bytes: ``text_hash``)."""
    data = _present(
        {"text_hash": content_hash(text), "edited": edited, "decided_by": decided_by, "ts": ts}
    )
    return AuditEvent(run_id, "delivered", "delivered", SIGNOFF, data)


def run_ended(run_id: str, result: dict[str, Any]) -> AuditEvent:
    """The run's end, from its result (``agent.handler.end_run``)."""
    usage = result.get("usage") or {}
    data = {
        "status": result["status"],
        "note": result["note"],
        "turns": result.get("turns"),
        "tokens": {k: int(v) for k, v in (usage.get("total") or {}).items()},
        "cost_usd": _money(usage.get("cost_usd")),
    }
    return AuditEvent(run_id, "run_ended", "run-ended", SIGNOFF, _present(data))


def _gate_event(
    record: ApprovalRecord,
    name: str,
    by: dict[str, str],
    data: dict[str, Any],
    *,
    kind: str | None = None,
) -> AuditEvent:
    event_id = f"{record.approval_id}:{name}"
    return AuditEvent(record.run_id, kind or name.replace("-", "_"), event_id, by, _present(data))


def _edit(record: ApprovalRecord, decision: Edit) -> dict[str, Any]:
    """What an edit changed: a unified diff of the draft, or which arguments (hashes only)."""
    if decision.text is not None:
        before = (record.draft or "").splitlines(keepends=True)
        after = decision.text.splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(before, after, "draft", "edited"))
        return {"diff": diff[:MAX_DIFF_CHARS], "text_hash": content_hash(decision.text)}
    old, new = record.arguments or {}, decision.arguments or {}
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return {
        "changed_arguments": changed,
        "arguments_hash_before": content_hash(old),
        "arguments_hash_after": content_hash(new),
    }


def _money(value: Any) -> str | None:
    """Dollars as a decimal string (the chain's canonical JSON holds no floats)."""
    return None if value is None else format(Decimal(str(value)).normalize(), "f")


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what is not known (None) rather than write nulls."""
    return {key: value for key, value in data.items() if value is not None}
