"""Approval gates: save the record, post the card, wait for people, settle the card.

``request_approval`` is one ``wait_for_callback``: its submitter (a retried step) saves the
approval record and posts the card, idempotently; the callback id stays in the table. The
callback resolves once, when the gate's rule is met (a quorum's last approval, or anyone's
veto): the votes before it are tallied in the table. When the rule has reminders or an
escalation, the wait races a ladder of durable waits (``agent.approvals.ladder``). Then a
step settles the record and locks the card, whoever sent the decision (Slack or the API).
At the deadline the card says nobody decided, and the rule's ``on_timeout`` applies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.config import Duration, WaitForCallbackConfig
from aws_durable_execution_sdk_python.exceptions import (
    CallbackSubmitterError,
    CallbackTimeoutError,
)
from aws_durable_execution_sdk_python.retries import (
    RetryDecision,
    RetryStrategyConfig,
    create_retry_strategy,
)
from aws_durable_execution_sdk_python.types import WaitForCallbackContext

from agent import messages, progress
from agent.approvals import audit, cards, inbox, notices, nudges
from agent.approvals.batch import Batch
from agent.approvals.batch_posting import post_batch
from agent.approvals.card_updates import show_on_card
from agent.approvals.decisions import Decision, decision_to_json, parse_decision
from agent.approvals.full_content import show_in_full
from agent.approvals.ladder import Rung, ladder_operations, race
from agent.approvals.quorum import deciders, is_group, unreachable
from agent.approvals.rules import GateRule, Policy
from agent.clock import iso_after, now_iso
from agent.deps import AgentDeps
from agent.models import ApprovalKind, ApprovalRecord, OnTimeout, RunInfo
from agent.mrkdwn import Message
from agent.serdes import COMPACT_JSON
from agent.storage.blobs import full_text
from agent.storage.slack_messages import post_or_update
from agent.telemetry import AGENT_SERVICE, COUNT, emit

# Operations one gate adds: the wait's context, callback and submitter step, then a settle step.
GATE_OPERATIONS = 4


def gate_operations(rule: GateRule) -> int:
    """Operations one gate adds, its ladder included (bounded by the rule)."""
    return GATE_OPERATIONS + ladder_operations(rule)


def worst_gate_operations(policy: Policy) -> int:
    """The most operations any gate of ``policy`` adds."""
    return max(gate_operations(rule) for rule in policy.rules())


_SUBMITTER_RETRY = create_retry_strategy(
    RetryStrategyConfig(max_attempts=5, initial_delay=Duration.from_seconds(2))
)


@dataclass(frozen=True, kw_only=True)
class Gate:
    """One thing a person must decide on."""

    name: str
    kind: ApprovalKind
    title: str
    rule: GateRule
    round: int
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None
    draft_blocks: tuple[dict[str, Any], ...] = ()  # the answer's blocks (spilled ones too)
    supersedes: str | None = None
    call_id: str | None = None
    call_order: int = 0
    spending: dict[str, Any] | None = None
    batch: Batch | None = None  # one of a turn's gated calls, on one card together
    sticky: bool = False  # the card may offer "Approve and allow <tool> for this run"
    mcp_tool: dict[str, Any] | None = None  # an MCP tool's server, name, hints and schema


@dataclass(frozen=True)
class Expired:
    """Nobody decided in time; ``on_timeout`` says what that means."""

    on_timeout: OnTimeout
    at: str


@dataclass(frozen=True)
class NoDecider:
    """Nobody but the requester could ever decide this gate: it ended at once, saying why."""

    reason: str


GateOutcome = Decision | Expired | NoDecider


class NobodyCanDecide(Exception):
    """Raised by the submitter, before any card is posted: no eligible person exists."""


# The submitter's failure reaches the run only as a message (on replay too): this marks it.
_NOBODY = "Nobody can decide: "


def _submitter_retry(error: Exception, attempt: int) -> RetryDecision:
    if isinstance(error, NobodyCanDecide):  # asking again will not find anyone
        return RetryDecision.no_retry()
    return _SUBMITTER_RETRY(error, attempt)


def approval_id_for(execution_arn: str, gate_name: str) -> str:
    """Opaque and stable across retries: the same gate of the same run gets the same id."""
    return "ap_" + hashlib.sha256(f"{execution_arn}|{gate_name}".encode()).hexdigest()[:32]


def request_approval(
    context: DurableContext, deps: AgentDeps, run: RunInfo, gate: Gate
) -> GateOutcome:
    """Post the gate's card and wait (at no cost) until someone decides or it expires."""
    approval_id = approval_id_for(run.execution_arn, gate.name)
    timeout = gate.rule.deadline_seconds
    config = WaitForCallbackConfig(
        timeout=Duration.from_seconds(timeout),
        serdes=COMPACT_JSON,
        retry_strategy=_submitter_retry,
    )

    def submit(callback_id: str, callback_context: WaitForCallbackContext) -> None:
        card_ts = open_gate(
            deps, run, gate, approval_id=approval_id, callback_id=callback_id, timeout=timeout
        )
        asked = "card posted" if card_ts else "approval requested"
        callback_context.logger.info(asked, extra=_gate_fields(run, gate))

    def wait(ctx: DurableContext) -> Any:
        return ctx.wait_for_callback(submit, name=gate.name, config=config)

    def climb(rung: Rung) -> Callable[[Any], Any]:
        return lambda _: nudges.climb(deps, run, approval_id, rung, gate.rule)

    try:
        if ladder_operations(gate.rule):
            payload = race(context, gate_name=gate.name, rule=gate.rule, wait=wait, climb=climb)
        else:
            payload = wait(context)
    except CallbackTimeoutError:
        expired_at = context.step(
            lambda _: expire_gate(deps, approval_id), name=f"{gate.name}-expired"
        )
        context.logger.info("approval expired", extra=_gate_fields(run, gate))
        return Expired(on_timeout=gate.rule.on_timeout, at=expired_at)
    except CallbackSubmitterError as err:
        if not str(err.message or "").startswith(_NOBODY):
            raise
        reason = str(err.message).removeprefix(_NOBODY)
        context.step(lambda _: tell_nobody(deps, run, gate, reason), name=f"{gate.name}-nobody")
        return NoDecider(reason=reason)
    decision = parse_decision(payload)
    context.step(lambda _: settle_gate(deps, approval_id, decision), name=f"{gate.name}-settled")
    decided = {"decision": decision.decision, "by": decision.decider.name}
    context.logger.info("decision", extra=_gate_fields(run, gate) | decided)
    return decision


def _gate_fields(run: RunInfo, gate: Gate) -> dict[str, Any]:
    """What a log line says about a gate: the run, which gate, and what it asks."""
    return {"run_id": run.run_id, "gate": gate.name, "kind": gate.kind, "title": gate.title}


def open_gate(
    deps: AgentDeps,
    run: RunInfo,
    gate: Gate,
    *,
    approval_id: str,
    callback_id: str,
    timeout: int,
) -> str | None:
    """Save the approval record, then post its card once (a retry updates it instead); the
    card's ts, or None when the run has no Slack thread."""
    settings, rule = deps.settings, gate.rule
    record = ApprovalRecord(
        approval_id=approval_id,
        run_id=run.run_id,
        kind=gate.kind,
        title=gate.title,
        requester=run.requester,
        started_by=run.started_by,
        approvers=rule.approvers,
        allow_self_approval=rule.allow_self_approval,
        required=rule.required,
        policy_table=rule.table,
        round=gate.round,
        max_rounds=1 if gate.kind == "budget" else settings.max_revisions + 1,
        tool_name=gate.tool_name,
        arguments=gate.arguments,
        draft=full_text(gate.draft_blocks, blobs=deps.blobs) if gate.kind == "draft" else None,
        channel=run.channel,
        thread_ts=run.thread_ts,
        created_at=now_iso(),
        expires_at=iso_after(timeout),
        on_timeout=rule.on_timeout,
        offline_model=deps.offline_model,
        spending=gate.spending,
        status_hint=settings.status_hint(run.run_id),
        sticky=gate.sticky,
        **(_batch_fields(gate.batch) if gate.batch else {}),
        mcp_tool=gate.mcp_tool,
    )
    reason = _nobody_can_decide(deps, record, rule)
    if reason is not None:
        raise NobodyCanDecide(_NOBODY + reason)
    deps.store.link_approval(run.run_id, approval_id)  # first, so the run lists it once it exists
    stored = deps.store.create_approval(record, callback_id=callback_id)
    audit.record(deps.store, audit.approval_requested(stored, gate=gate.name))
    _show_waiting(deps, run, gate)  # the run waits from here, before its card is out
    if stored is record:  # the first attempt, not a retried submitter
        emit(AGENT_SERVICE, {"ApprovalsRequested": (1, COUNT)}, kind=gate.kind)
    ts = None
    if gate.batch is not None:
        if gate.batch.posts_the_card and stored.channel and deps.slack is not None:
            ts = post_batch(deps, run, gate.batch)
    elif stored.channel and deps.slack is not None:
        card = cards.approval_card(stored, status_hint=settings.status_hint(run.run_id))
        ts = post_or_update(
            deps.slack,
            channel=stored.channel,
            message=card,
            key=approval_id,
            thread_ts=stored.thread_ts,
            known_ts=stored.message_ts,
            maybe_posted=stored is not record,
        )
        if ts != stored.message_ts:
            stored = deps.store.set_approval_message(approval_id, channel=stored.channel, ts=ts)
        show_in_full(deps, stored, maybe_posted=stored is not record)
        notices.send_dms(
            deps.slack,
            stored,
            deciders(stored),
            why="asked",
            key=f"{approval_id}-asked",
            maybe_posted=stored is not record,
        )
    _refresh_homes(deps, stored)
    if gate.supersedes:
        supersede_gate(deps, gate.supersedes, by_round=gate.round)
    return ts


def _batch_fields(batch: Batch) -> dict[str, Any]:
    return {
        "batch_id": batch.batch_id,
        "batch_size": batch.size,
        "batch_position": batch.position,
    }


def _nobody_can_decide(deps: AgentDeps, record: ApprovalRecord, rule: GateRule) -> str | None:
    """Why the gate can never be decided as its rule asks (nobody but the requester may
    approve, or fewer people than its quorum ever will), or None when it can. The people
    an escalation adds later count: they may yet decide."""
    later = rule.escalate.to if rule.escalate else ()
    everyone = deciders(record.model_copy(update={"escalated_to": later}))
    if not everyone:
        return None  # any member may decide
    members = notices.members_of(deps.slack, (a for a in everyone if is_group(a)))
    if members is None:
        return None  # a group could not be read: someone in it may decide
    return unreachable(record, {a for a in everyone if not is_group(a)} | set(members))


def tell_nobody(deps: AgentDeps, run: RunInfo, gate: Gate, reason: str) -> None:
    """Say in the run's thread that the gate ended at once, and why."""
    if deps.slack is None or run.channel is None:
        return
    message = messages.nobody_can_decide_message(title=gate.title, reason=reason)
    key = f"{approval_id_for(run.execution_arn, gate.name)}-nobody"
    post_or_update(
        deps.slack,
        channel=run.channel,
        message=message,
        key=key,
        thread_ts=run.thread_ts,
        maybe_posted=True,
    )
    if gate.batch is not None and gate.batch.posts_the_card and gate.batch.size > 1:
        # This gate would have posted its batch's card: the others' card goes up without it.
        post_batch(deps, run, gate.batch, expected=gate.batch.size - 1)


def _show_waiting(deps: AgentDeps, run: RunInfo, gate: Gate) -> None:
    if gate.call_id is not None and gate.tool_name is not None:
        progress.show_tool(
            deps,
            run,
            call_id=gate.call_id,
            order=gate.call_order,
            name=gate.tool_name,
            state="waiting_approval",
        )
    else:
        progress.show(deps, run.run_id, phase="waiting_approval")


def settle_gate(deps: AgentDeps, approval_id: str, decision: Decision) -> None:
    """Mark the gate decided and lock its card (the Slack app may have done it already)."""
    record = deps.store.settle_approval(
        approval_id, state="decided", decision=decision_to_json(decision)
    )
    if record.state == "decided":  # not cancelled meanwhile
        message = cards.decided_card(record, decision, decider_name=decision.decider.name)
        audit.record(deps.store, audit.decided(record, decision))
        # The control plane that took the decision has refreshed the Home tabs already
        # (with the decider's notice on theirs, which a second refresh would wipe).
        show_on_card(deps.slack, deps.store, record, message, service=AGENT_SERVICE)


def expire_gate(deps: AgentDeps, approval_id: str) -> str:
    """Mark the gate expired and say so on its card; returns when it expired."""
    expired_at = now_iso()
    record = deps.store.settle_approval(approval_id, state="expired")
    if record.state == "expired":
        emit(AGENT_SERVICE, {"ApprovalsExpired": (1, COUNT)}, kind=record.kind)
        audit.record(deps.store, audit.expired(record, at=expired_at))
        _show(deps, record, cards.expired_card(record, expired_at=expired_at))
    return expired_at


def supersede_gate(deps: AgentDeps, approval_id: str, *, by_round: int) -> None:
    """The card of an earlier round gives way to the revised one."""
    previous = deps.store.get_approval(approval_id)
    if previous is None:
        return
    record = deps.store.settle_approval(approval_id, state="superseded")
    if record.state == "superseded":
        _show(deps, record, cards.superseded_card(record, superseded_by_round=by_round))


def _show(deps: AgentDeps, record: ApprovalRecord, message: Message) -> None:
    show_on_card(deps.slack, deps.store, record, message, service=AGENT_SERVICE)
    _refresh_homes(deps, record)


def _refresh_homes(deps: AgentDeps, record: ApprovalRecord) -> None:
    """The Home inbox of everyone who may decide ``record`` shows it as it stands now."""
    if deps.slack is None or not record.approvers:
        return  # with no approvers listed, anyone may decide: each sees it when opening Home
    slack = deps.slack
    inbox.refresh_homes(
        slack, deps.store, deciders(record), lambda g: notices.members_of(slack, [g]) or []
    )
