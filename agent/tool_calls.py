"""One turn's tool calls, in parallel under ``context.map``, each behind its approval gate.

Each call becomes an outcome dict ``{tool_use_id, name, status, output, decision?}``; every
failure (unknown tool, bad arguments, a raising tool, a rejection, an expiry) is an outcome
with ``status != "ok"`` that goes back to Claude as an ``is_error`` tool_result, so the run
goes on. Outputs over the spill limit live in S3 and the checkpoint keeps a reference.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, assert_never

from aws_durable_execution_sdk_python import BatchResult, DurableContext, StepContext
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    Duration,
    MapConfig,
    NestingType,
    StepConfig,
    StepSemantics,
)
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

from agent import progress
from agent.approvals import GATE_OPERATIONS, Expired, Gate, GateOutcome, request_approval
from agent.blobs import spill
from agent.decisions import Approve, Edit, Reject, Revise, decision_to_json
from agent.deps import AgentDeps
from agent.errors import ToolInputError
from agent.loop import ToolCall
from agent.models import RunInfo
from agent.prompts import load_prompt
from agent.tools.registry import Tool, ToolContext

# Tool bodies catch their own errors; these retries cover a crash or cut-off mid-step.
_TOOL_RETRY = create_retry_strategy(
    RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1))
)


def run_tool_calls(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    *,
    turn: int,
    round: int,
    calls: tuple[ToolCall, ...],
) -> list[dict[str, Any]]:
    """Run every call of the turn in parallel; outcomes come back in the calls' order."""

    def run_one(item_context: DurableContext, call: dict[str, Any], index: int, _: Any) -> Any:
        return run_tool_call(
            item_context, deps, run, ToolCall(**call), turn=turn, index=index, round=round
        )

    batch: BatchResult[dict[str, Any]] = context.map(
        [call.to_json() for call in calls],
        run_one,
        name=f"tools-{turn}",
        config=MapConfig(
            max_concurrency=deps.settings.tool_concurrency,
            completion_config=CompletionConfig.all_completed(),  # type: ignore[no-untyped-call]
            nesting_type=NestingType.FLAT,
        ),
    )
    outcomes: list[dict[str, Any]] = []
    for item in sorted(batch.all, key=lambda item: item.index):
        call = calls[item.index]
        if item.result is not None:
            outcomes.append(item.result)
        else:
            message = item.error.message if item.error else "the tool call did not finish"
            outcomes.append(_outcome(call, "error", {"text": f"tool failed: {message}"}))
    return outcomes


def operations_per_tool_call(gated: bool) -> int:
    """Durable operations one call adds: its step, plus a gate when it needs approval."""
    return 1 + (GATE_OPERATIONS if gated else 0)


def run_tool_call(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    call: ToolCall,
    *,
    turn: int,
    index: int,
    round: int,
) -> dict[str, Any]:
    """Gate the call if its policy says so, then run it as a named step."""
    tool = deps.tools.get(call.name)
    if tool is None:
        return _outcome(call, "error", {"text": f"there is no tool named {call.name!r}"})
    if tool.approval.mode == "deny":
        return _outcome(call, "denied", {"text": f"{call.name} is not allowed in this deployment"})
    arguments = call.arguments
    decision: dict[str, Any] | None = None
    gated = tool.approval.needs_approval(arguments)
    if gated:
        gate = Gate(
            name=f"approve-{turn}-{index}",
            kind="tool",
            title=f"run {tool.name}",
            policy=tool.approval,
            round=round,
            tool_name=tool.name,
            arguments=arguments,
            call_id=call.id,
            call_order=index,
        )
        outcome = request_approval(context, deps, run, gate)
        refusal = _refusal(call, outcome)
        if refusal is not None:
            return {**refusal, "gated": True}
        if isinstance(outcome, Edit) and outcome.arguments is not None:
            arguments = outcome.arguments
        decision = None if isinstance(outcome, Expired) else decision_to_json(outcome)
    semantics = (
        StepSemantics.AT_MOST_ONCE_PER_RETRY
        if tool.side_effect
        else StepSemantics.AT_LEAST_ONCE_PER_RETRY
    )
    result: dict[str, Any] = context.step(
        lambda step: execute_tool(deps, run, tool, call, arguments, step, turn=turn, index=index),
        name=f"tool-{turn}-{index}",
        config=StepConfig(retry_strategy=_TOOL_RETRY, step_semantics=semantics),
    )
    if decision is not None:
        result = {**result, "decision": decision}
    return {**result, "gated": True} if gated else result


def _refusal(call: ToolCall, outcome: GateOutcome) -> dict[str, Any] | None:
    """The outcome for a call the reviewer did not let run, or None when it may run."""
    match outcome:
        case Approve() | Edit():
            return None
        case Revise(feedback=feedback, decider=decider):
            text = _refused_text(call, "asked for changes to", decider.name, feedback)
            return _outcome(call, "changes_requested", text, decision_to_json(outcome))
        case Reject(reason=reason, decider=decider):
            text = _refused_text(call, "rejected", decider.name, reason)
            return _outcome(call, "rejected", text, decision_to_json(outcome))
        case Expired(on_timeout="approve"):
            return None
        case Expired(at=at):
            text = _refused_text(call, "did not approve", None, f"the approval expired at {at}")
            return _outcome(call, "expired", text)
        case _:
            assert_never(outcome)


def _refused_text(call: ToolCall, verb: str, by: str | None, reason: str) -> dict[str, Any]:
    by_text = f" ({by})" if by else ""
    return {
        "text": load_prompt("tool_rejected", verb=verb, tool=call.name, by=by_text, reason=reason)
    }


def execute_tool(
    deps: AgentDeps,
    run: RunInfo,
    tool: Tool,
    call: ToolCall,
    arguments: dict[str, Any],
    step: StepContext,
    *,
    turn: int,
    index: int,
) -> dict[str, Any]:
    """The step body: validate, run, spill a large output; a failure becomes an error outcome."""
    progress.show_tool(deps, run, call_id=call.id, order=index, name=tool.name, state="running")
    context = ToolContext(
        run_id=run.run_id,
        requester=run.requester,
        channel=run.channel,
        idempotency_key=idempotency_key(run.execution_arn, call.id),
        attempt=step.attempt,
        slack=deps.slack,
    )
    status = "ok"
    try:
        text = output_text(tool.run(context, tool.parse_args(arguments)))
    except ToolInputError as err:
        status, text = "error", str(err)
    except Exception as err:  # noqa: BLE001 - a tool's failure is Claude's to handle, not the run's
        step.logger.warning("tool %s failed: %s", tool.name, type(err).__name__)
        status, text = "error", f"{tool.name} failed: {type(err).__name__}: {err}"[:4000]
    key = f"{run.run_id}/tool-{turn}-{index}.txt"
    output = spill(text, blobs=deps.blobs, key=key, limit=deps.settings.spill_bytes)
    state = "done" if status == "ok" else "failed"
    progress.show_tool(deps, run, call_id=call.id, order=index, name=tool.name, state=state)
    return _outcome(call, status, output)


def idempotency_key(execution_arn: str, tool_use_id: str) -> str:
    """The same for every attempt of one call of one run, different for anything else."""
    return hashlib.sha256(f"{execution_arn}|{tool_use_id}".encode()).hexdigest()[:40]


def output_text(value: Any) -> str:
    """A tool's return value as the text Claude reads."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _outcome(
    call: ToolCall, status: str, output: dict[str, Any], decision: dict[str, Any] | None = None
) -> dict[str, Any]:
    outcome = {"tool_use_id": call.id, "name": call.name, "status": status, "output": output}
    if decision is not None:
        outcome["decision"] = decision
    return outcome
