"""Approval gates: save the record, post the card, wait for a person, settle the card.

``request_approval`` is one ``wait_for_callback``: its submitter (a retried step) saves the
approval record and posts the card, idempotently; the callback id stays in the table. Then a
step settles the record and locks the card, whoever sent the decision (Slack or the API).
A timeout is caught, the card says it expired, and the gate's ``on_timeout`` applies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.config import Duration, WaitForCallbackConfig
from aws_durable_execution_sdk_python.exceptions import CallbackTimeoutError
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.types import WaitForCallbackContext

from agent import progress
from agent.approvals import cards
from agent.approvals.decisions import Decision, decision_to_json, parse_decision
from agent.approvals.policy import ApprovalPolicy
from agent.clock import iso_after, now_iso
from agent.deps import AgentDeps
from agent.models import ApprovalKind, ApprovalRecord, OnTimeout, RunInfo
from agent.mrkdwn import Message
from agent.serdes import COMPACT_JSON
from agent.storage.slack_messages import post_or_update
from agent.telemetry import AGENT_SERVICE, COUNT, emit

# Operations one gate adds: the wait's context, callback and submitter step, then a settle step.
GATE_OPERATIONS = 4

_SUBMITTER_RETRY = create_retry_strategy(
    RetryStrategyConfig(max_attempts=5, initial_delay=Duration.from_seconds(2))
)


@dataclass(frozen=True, kw_only=True)
class Gate:
    """One thing a person must decide on."""

    name: str
    kind: ApprovalKind
    title: str
    policy: ApprovalPolicy
    round: int
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None
    draft: str | None = None
    supersedes: str | None = None
    call_id: str | None = None
    call_order: int = 0
    spending: dict[str, Any] | None = None


@dataclass(frozen=True)
class Expired:
    """Nobody decided in time; ``on_timeout`` says what that means."""

    on_timeout: OnTimeout
    at: str


GateOutcome = Decision | Expired


def approval_id_for(execution_arn: str, gate_name: str) -> str:
    """Opaque and stable across retries: the same gate of the same run gets the same id."""
    return "ap_" + hashlib.sha256(f"{execution_arn}|{gate_name}".encode()).hexdigest()[:32]


def request_approval(
    context: DurableContext, deps: AgentDeps, run: RunInfo, gate: Gate
) -> GateOutcome:
    """Post the gate's card and wait (at no cost) until someone decides or it expires."""
    approval_id = approval_id_for(run.execution_arn, gate.name)
    timeout = gate.policy.timeout_seconds or deps.settings.approval_timeout_seconds
    config = WaitForCallbackConfig(
        timeout=Duration.from_seconds(timeout),
        serdes=COMPACT_JSON,
        retry_strategy=_SUBMITTER_RETRY,
    )

    def submit(callback_id: str, callback_context: WaitForCallbackContext) -> None:
        card_ts = open_gate(
            deps, run, gate, approval_id=approval_id, callback_id=callback_id, timeout=timeout
        )
        asked = "card posted" if card_ts else "approval requested"
        callback_context.logger.info(asked, extra=_gate_fields(run, gate))

    try:
        payload = context.wait_for_callback(submit, name=gate.name, config=config)
    except CallbackTimeoutError:
        expired_at = context.step(
            lambda _: expire_gate(deps, approval_id), name=f"{gate.name}-expired"
        )
        context.logger.info("approval expired", extra=_gate_fields(run, gate))
        return Expired(on_timeout=gate.policy.on_timeout, at=expired_at)
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
    settings = deps.settings
    record = ApprovalRecord(
        approval_id=approval_id,
        run_id=run.run_id,
        kind=gate.kind,
        title=gate.title,
        requester=run.requester,
        approvers=gate.policy.approvers or settings.approvers,
        allow_self_approval=(
            settings.allow_self_approval
            if gate.policy.allow_self_approval is None
            else gate.policy.allow_self_approval
        ),
        round=gate.round,
        max_rounds=1 if gate.kind == "budget" else settings.max_revisions + 1,
        tool_name=gate.tool_name,
        arguments=gate.arguments,
        draft=gate.draft,
        channel=run.channel,
        thread_ts=run.thread_ts,
        created_at=now_iso(),
        expires_at=iso_after(timeout),
        on_timeout=gate.policy.on_timeout,
        offline_model=deps.offline_model,
        spending=gate.spending,
    )
    deps.store.link_approval(run.run_id, approval_id)  # first, so the run lists it once it exists
    stored = deps.store.create_approval(record, callback_id=callback_id)
    if stored is record:  # the first attempt, not a retried submitter
        emit(AGENT_SERVICE, {"ApprovalsRequested": (1, COUNT)}, kind=gate.kind)
    ts = None
    if stored.channel and deps.slack is not None:
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
            deps.store.set_approval_message(approval_id, channel=stored.channel, ts=ts)
    if gate.supersedes:
        supersede_gate(deps, gate.supersedes, by_round=gate.round)
    _show_waiting(deps, run, gate)
    return ts


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
    _update_card(
        deps, record, cards.decided_card(record, decision, decider_name=decision.decider.name)
    )


def expire_gate(deps: AgentDeps, approval_id: str) -> str:
    """Mark the gate expired and say so on its card; returns when it expired."""
    expired_at = now_iso()
    record = deps.store.settle_approval(approval_id, state="expired")
    emit(AGENT_SERVICE, {"ApprovalsExpired": (1, COUNT)}, kind=record.kind)
    _update_card(deps, record, cards.expired_card(record, expired_at=expired_at))
    return expired_at


def supersede_gate(deps: AgentDeps, approval_id: str, *, by_round: int) -> None:
    """The card of an earlier round gives way to the revised one."""
    previous = deps.store.get_approval(approval_id)
    if previous is None:
        return
    record = deps.store.settle_approval(approval_id, state="superseded")
    _update_card(deps, record, cards.superseded_card(record, superseded_by_round=by_round))


def _update_card(deps: AgentDeps, record: ApprovalRecord, message: Message) -> None:
    if deps.slack is None or not record.channel or not record.message_ts:
        return
    deps.slack.chat_update(
        channel=record.channel, ts=record.message_ts, text=message.text, blocks=message.blocks
    )
