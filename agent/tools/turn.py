"""One turn's tool calls, in parallel under ``context.map``, each behind its approval gate.

Each call becomes an outcome (``agent.tools.results``); every failure (unknown tool, bad
arguments, a raising tool, a rejection, an expiry, a failed or timed-out job) is an outcome
with ``status != "ok"`` that goes back to Claude as an ``is_error`` tool_result, so the run
goes on. Outputs over the spill limit live in S3 and the checkpoint keeps a reference.
Long-running calls (``agent.tools.waiting``) wait inside the same map, so slow jobs of one turn
wait in parallel.
"""

from __future__ import annotations

from typing import Any, assert_never

from aws_durable_execution_sdk_python import BatchResult, DurableContext, StepContext
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    Duration,
    MapConfig,
    NestingType,
    StepConfig,
)
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

from agent.approvals.decisions import Approve, Edit, Reject, Revise, decision_to_json
from agent.approvals.gate import (
    GATE_OPERATIONS,
    Expired,
    Gate,
    GateOutcome,
    NoDecider,
    request_approval,
)
from agent.deps import AgentDeps
from agent.errors import ToolInputError
from agent.model.prompts import load_prompt
from agent.models import RunInfo, ToolCall
from agent.serdes import BATCH_JSON, COMPACT_JSON
from agent.tools.results import CallRun, failure_text, outcome, output_text
from agent.tools.waiting import JOB_OPERATIONS, run_job

# Tool bodies catch their own errors; these retries cover a crash or cut-off mid-step.
TOOL_RETRY = create_retry_strategy(
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
        outcome = run_tool_call(
            item_context, deps, run, ToolCall(**call), turn=turn, index=index, round=round
        )
        ran = {"run_id": run.run_id, "turn": turn, "tool": outcome["name"]}
        item_context.logger.info("tool call", extra=ran | {"status": outcome["status"]})
        return outcome

    batch: BatchResult[dict[str, Any]] = context.map(
        [call.to_json() for call in calls],
        run_one,
        name=f"tools-{turn}",
        config=MapConfig(
            serdes=BATCH_JSON,
            item_serdes=COMPACT_JSON,  # else the items would get the batch's serdes
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
            failed = outcome(call, "error", {"text": f"tool failed: {message}"})
            outcomes.append({**failed, "operations": WORST_CALL_OPERATIONS})
    return outcomes


# A call's durable operations: a gate, then its step or its job's (the longest is a webhook).
WORST_CALL_OPERATIONS = GATE_OPERATIONS + max(JOB_OPERATIONS.values())


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
    """Gate the call if its policy says so, then run it: a named step, or a job."""
    tool = deps.tools.get(call.name)
    if tool is None:
        text = {"text": f"there is no tool named {call.name!r}"}
        return {**outcome(call, "error", text), "operations": 0}
    if tool.approval.mode == "deny":
        text = {"text": f"{call.name} is not allowed in this deployment"}
        return {**outcome(call, "denied", text), "operations": 0}
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
        reviewed = request_approval(context, deps, run, gate)
        refusal = _refusal(call, reviewed)
        if refusal is not None:
            return {**refusal, "operations": GATE_OPERATIONS}
        if isinstance(reviewed, Edit) and reviewed.arguments is not None:
            arguments = reviewed.arguments
        if not isinstance(reviewed, Expired | NoDecider):
            decision = decision_to_json(reviewed)
    result, operations = _run(context, CallRun(deps, run, tool, call, arguments, turn, index))
    if decision is not None:
        result = {**result, "decision": decision}
    return {**result, "operations": operations + (GATE_OPERATIONS if gated else 0)}


def _run(context: DurableContext, call: CallRun) -> tuple[dict[str, Any], int]:
    """The call's outcome, and the durable operations it took."""
    if call.tool.long_running:
        return run_job(context, call)
    result: dict[str, Any] = context.step(
        lambda step: execute_tool(call, step),
        name=call.name,
        config=StepConfig(
            retry_strategy=TOOL_RETRY, step_semantics=call.step_semantics, serdes=COMPACT_JSON
        ),
    )
    return result, 1


def _refusal(call: ToolCall, reviewed: GateOutcome) -> dict[str, Any] | None:
    """The outcome for a call the reviewer did not let run, or None when it may run."""
    match reviewed:
        case Approve() | Edit():
            return None
        case Revise(feedback=feedback, decider=decider):
            text = _refused_text(call, "asked for changes to", decider.name, feedback)
            return outcome(call, "changes_requested", text, decision_to_json(reviewed))
        case Reject(reason=reason, decider=decider):
            text = _refused_text(call, "rejected", decider.name, reason)
            return outcome(call, "rejected", text, decision_to_json(reviewed))
        case Expired(at=at):
            text = _refused_text(call, "did not approve", None, f"the approval expired at {at}")
            return outcome(call, "expired", text)
        case NoDecider(reason=reason):
            text = {
                "text": f"{call.name} was not run: nobody can approve it ({reason}). Do not "
                "call it again; tell the requester what you would have done."
            }
            return outcome(call, "denied", text)
        case _:
            assert_never(reviewed)


def _refused_text(call: ToolCall, verb: str, by: str | None, reason: str) -> dict[str, Any]:
    by_text = f" ({by})" if by else ""
    return {
        "text": load_prompt("tool_rejected", verb=verb, tool=call.name, by=by_text, reason=reason)
    }


def execute_tool(call: CallRun, step: StepContext) -> dict[str, Any]:
    """The step body: validate, run, spill a large output; a failure becomes an error outcome."""
    call.show("running")
    tool, status = call.tool, "ok"
    try:
        args = tool.parse_args(call.arguments)
        text = output_text(tool.run(call.context(attempt=step.attempt), args))
    except ToolInputError as err:
        status, text = "error", str(err)
    except Exception as err:  # noqa: BLE001 - a tool's failure is Claude's to handle, not the run's
        step.logger.warning("tool %s failed: %s", tool.name, type(err).__name__)
        status, text = "error", failure_text(tool.name, err)
    output = call.stored(text)
    call.show("done" if status == "ok" else "failed")
    return call.outcome(status, output)
