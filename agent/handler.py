"""The durable agent: Claude in steps, tools in parallel, a person's sign-off before acting.

    open-run            save the run, open its Slack thread
    mcp-tools           the MCP servers' tools, listed once (only with [mcp.servers])
    budget-N            the run spent its budget: a person says whether it goes on
    llm-N               one streamed Claude turn (retried durably on 429/529/5xx)
    tools-N             the turn's tool calls in parallel; gated calls wait for approval
    review-N            the draft waits for approval: approve/edit delivers, revise loops
    deliver, finish     post the approved text, record the result

Branches depend only on step and callback results, so every replay takes the same path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any, assert_never

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import StepConfig

from agent.approvals.decisions import Approve, Edit, Reject, Revise, decision_to_json
from agent.approvals.gate import (
    Expired,
    Gate,
    NoDecider,
    approval_id_for,
    gate_operations,
    request_approval,
    worst_gate_operations,
)
from agent.approvals.rules import Policy
from agent.budget import Budget, describe_budget
from agent.config import Settings, running_in_lambda
from agent.deps import AgentDeps
from agent.loop import CallTools, ContinueTurn, EndRun, ReviewDraft, RunState, next_action
from agent.model.client import model_retry_strategy
from agent.model.pricing import spending
from agent.model.prompts import prompts_version
from agent.models import RunInfo, RunRequest, parse_run_request
from agent.run_steps import deliver, finish, list_mcp_tools, model_turn, open_run
from agent.secrets import with_secrets
from agent.serdes import COMPACT_JSON
from agent.telemetry import agent_logger
from agent.tools.mcp.tools import with_mcp_tools
from agent.tools.turn import run_tool_calls, worst_call_operations

MODEL_STEP = StepConfig(retry_strategy=model_retry_strategy, serdes=COMPACT_JSON)
JSON_STEP = StepConfig(serdes=COMPACT_JSON)
# Claude rarely asks for more tool calls at once; the headroom covers the rest.
WORST_TOOL_CALLS = 16


def build_handler(make_deps: Callable[[], AgentDeps]) -> Callable[..., Any]:
    """The Lambda handler, with its clients from ``make_deps`` (called once per process)."""

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        context.set_logger(agent_logger())
        request = parse_run_request(event)
        deps = make_deps()
        arn = context.execution_context.durable_execution_arn
        run = RunInfo(
            **context.step(open_run(deps, request, arn), name="open-run", config=JSON_STEP)
        )
        context.logger.info("run started", extra=_started_fields(run, request))
        state = RunState.start(request, run.run_id)
        state.count(1)
        if run.policy_error is not None:
            note = f"the approval policy has problems, so no run can start: {run.policy_error}"
            return end_run(context, deps, run, state, "failed", note)
        policy = Policy.from_json(run.policy) if run.policy else deps.policy.current()
        if deps.mcp is not None:
            listing = context.step(list_mcp_tools(deps, run), name="mcp-tools", config=JSON_STEP)
            deps = replace(deps, tools=with_mcp_tools(deps.tools, listing, deps.mcp))
            state.count(1)
        budget = Budget.from_json(run.budget)
        while True:
            if state.out_of_turns(deps.settings.max_turns):
                note = f"stopped after {state.turn} turns (the limit) without an approved answer"
                return end_run(context, deps, run, state, "turn_limit", note)
            if state.near_operation_limit(_worst_turn_operations(policy)):
                note = "stopped before reaching the durable execution's operation limit"
                return end_run(context, deps, run, state, "operation_limit", note)
            if budget.reached(state.spent, state.budget_grants):
                ended = ask_to_continue(context, deps, run, state, budget, policy)
                if ended is not None:
                    return ended
            reply = context.step(
                model_turn(deps, run, list(state.transcript), state.turn, list(state.usage)),
                name=f"llm-{state.turn}",
                config=MODEL_STEP,
            )
            state.add_reply(reply)
            context.logger.info("model turn", extra=_turn_fields(run, state.turn, reply))
            state.count(1)
            match next_action(reply):
                case CallTools(calls=calls):
                    outcomes = run_tool_calls(
                        context,
                        deps,
                        run,
                        policy=policy,
                        turn=state.turn,
                        round=state.revisions + 1,
                        calls=calls,
                        batched=run.turn_shape >= 2,
                    )
                    state.add_outcomes(outcomes)
                    state.count(1 + sum(o["operations"] for o in outcomes))
                    state.revisions += sum(o["status"] == "changes_requested" for o in outcomes)
                    if unanswered := [o["name"] for o in outcomes if o.get("end_run")]:
                        note = f"nobody decided on {', '.join(unanswered)} before the deadline"
                        return end_run(context, deps, run, state, "expired", note)
                case ReviewDraft(blocks=blocks):
                    ended = review_draft(context, deps, run, state, blocks, policy)
                    if ended is not None:
                        return ended
                case ContinueTurn():
                    pass
                case EndRun(reason=reason):
                    return end_run(context, deps, run, state, "ended", reason)
                case unexpected:
                    assert_never(unexpected)
            state.next_turn()

    return handler


def review_draft(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    state: RunState,
    blocks: tuple[dict[str, Any], ...],
    policy: Policy,
) -> dict[str, Any] | None:
    """Ask for sign-off on the draft: the run's result, or None to go round again."""
    gate = Gate(
        name=f"review-{state.turn}",
        kind="draft",
        title="the answer",
        rule=policy.draft,
        round=state.revisions + 1,
        draft_blocks=blocks,
        supersedes=state.last_review_id,
    )
    outcome = request_approval(context, deps, run, gate)
    state.count(gate_operations(gate.rule))
    state.last_review_id = approval_id_for(run.execution_arn, gate.name)
    if not isinstance(outcome, Expired | NoDecider):
        state.decisions.append(decision_to_json(outcome))
    match outcome:
        case Approve() | Edit():
            text = outcome.text if isinstance(outcome, Edit) and outcome.text else None
            delivered = context.step(
                deliver(deps, run, blocks, text, outcome.decider.id),
                name="deliver",
                config=JSON_STEP,
            )
            delivered_fields: dict[str, Any] = {"run_id": run.run_id, "edited": text is not None}
            delivered_fields["in_slack"] = delivered["ts"] is not None
            context.logger.info("delivered", extra=delivered_fields)
            return end_run(context, deps, run, state, "delivered", "delivered", delivered["text"])
        case Revise(feedback=feedback) if state.revisions < deps.settings.max_revisions:
            state.revisions += 1
            state.add_feedback(feedback)
            return None
        case Revise():
            note = f"stopped: the revision limit ({deps.settings.max_revisions}) was reached"
            return end_run(context, deps, run, state, "revision_limit", note)
        case Reject(reason=reason, decider=decider):
            return end_run(
                context, deps, run, state, "rejected", f"rejected by {decider.name}: {reason}"
            )
        case Expired(at=at):
            note = f"nobody decided on the answer by {at}: it was not delivered"
            return end_run(context, deps, run, state, "expired", note)
        case NoDecider(reason=reason):
            note = f"nobody can approve the answer: {reason}"
            return end_run(context, deps, run, state, "no_approver", note)
        case unexpected:
            assert_never(unexpected)


def ask_to_continue(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    state: RunState,
    budget: Budget,
    policy: Policy,
) -> dict[str, Any] | None:
    """The run spent its budget: a go-ahead grants one more budget's worth, else it ends."""
    spent, cap = state.spent, budget.limit(state.budget_grants)
    gate = Gate(
        name=f"budget-{state.turn}",
        kind="budget",
        title=f"continue past {describe_budget(cap)}",
        rule=policy.budget,
        round=1,
        spending={
            "spent": {"usd": spent.usd, "tokens": spent.tokens},
            "cap": cap.to_json(),
            "more": budget.to_json(),
        },
    )
    outcome = request_approval(context, deps, run, gate)
    state.count(gate_operations(gate.rule))
    if not isinstance(outcome, Expired | NoDecider):
        state.decisions.append(decision_to_json(outcome))
    stopped = f"stopped at its budget ({describe_budget(cap)})"
    match outcome:
        case Approve() | Edit():
            state.budget_grants += 1
            return None
        case Reject(reason=reason, decider=decider) | Revise(feedback=reason, decider=decider):
            note = f"{stopped}: {decider.name} said stop: {reason}"
            return end_run(context, deps, run, state, "budget_exhausted", note)
        case Expired(at=at):
            note = f"{stopped}: nobody said go on before {at}"
            return end_run(context, deps, run, state, "budget_exhausted", note)
        case NoDecider(reason=reason):
            note = f"{stopped}: nobody can approve going on: {reason}"
            return end_run(context, deps, run, state, "budget_exhausted", note)
        case unexpected:
            assert_never(unexpected)


def end_run(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    state: RunState,
    status: str,
    note: str,
    text: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the run's result, record it and tell the thread; the handler returns it."""
    usage = usage_of(state)
    result: dict[str, Any] = {
        "run_id": run.run_id,
        "status": status,
        "note": note,
        "text": text,
        "turns": state.turn + 1,
        "decisions": state.decisions,
        "usage": usage,
        "prompts_version": prompts_version(),
    }
    context.step(finish(deps, run, result), name="finish")
    ended = {"run_id": run.run_id, "status": status, "cost_usd": usage["cost_usd"]}
    context.logger.info("run ended", extra=ended)
    return result


def _started_fields(run: RunInfo, request: RunRequest) -> dict[str, Any]:
    fields = {"run_id": run.run_id, "requester": run.requester, "source": request.source}
    if agent_logger().log_level <= logging.DEBUG:  # the task is the user's words: debug only
        fields["task"] = request.task
    return fields


def _turn_fields(run: RunInfo, turn: int, reply: dict[str, Any]) -> dict[str, Any]:
    calls = [b["name"] for b in reply["content"] if b.get("type") == "tool_use"]
    usage = reply["usage"]
    return {"run_id": run.run_id, "turn": turn, "stop_reason": reply["stop_reason"]} | {
        "tool_calls": calls,
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
    }


def usage_of(state: RunState) -> dict[str, Any]:
    """Tokens per turn, per model and in total, and what they cost."""
    spent = spending(state.usage)
    return {
        "turns": state.usage,
        "total": spent["usage"],
        "models": spent["usage_by_model"],
        "cost_usd": spent["cost_usd"],
    }


def _worst_turn_operations(policy: Policy) -> int:
    """A generous bound on one turn: a budget gate, a model step, a map of gated calls, a
    review, the end."""
    gate = worst_gate_operations(policy)
    return gate + 1 + 1 + WORST_TOOL_CALLS * worst_call_operations(policy) + (gate + 2)


@cache
def _deps_from_env() -> AgentDeps:
    return AgentDeps.from_settings(Settings.from_env(with_secrets(os.environ)))


def cold_start() -> None:
    """Read and check every setting and build the clients now (Lambda's init phase, below;
    ``signoff dev`` at start): a bad setting stops the start, named, instead of failing
    every run."""
    _deps_from_env()


handler = build_handler(_deps_from_env)
if running_in_lambda(os.environ):
    cold_start()
