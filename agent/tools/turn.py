"""One turn's tool calls, in parallel under ``context.map``, each behind its approval gate.

Each call becomes an outcome (``agent.tools.results``); every failure (unknown tool, bad
arguments, a raising tool, a rejection, an expiry, a failed or timed-out job) is an outcome
with ``status != "ok"`` that goes back to Claude as an ``is_error`` tool_result, so the run
goes on. Outputs over the spill limit live in S3 and the checkpoint keeps a reference.
Long-running calls (``agent.tools.waiting``) wait inside the same map, so slow jobs of one turn
wait in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
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

from agent.approvals import audit
from agent.approvals.batch import Batch, batch_id_for
from agent.approvals.conditions import compile_condition
from agent.approvals.decisions import Approve, Edit, Reject, Revise, decision_to_json
from agent.approvals.gate import (
    Expired,
    Gate,
    GateOutcome,
    NoDecider,
    gate_operations,
    request_approval,
    worst_gate_operations,
)
from agent.approvals.rules import GateRule, Policy
from agent.deps import AgentDeps
from agent.errors import ToolInputError
from agent.model.prompts import load_prompt
from agent.models import RunInfo, ToolCall
from agent.serdes import BATCH_JSON, COMPACT_JSON
from agent.telemetry import AGENT_SERVICE, COUNT, emit
from agent.tools.results import CallRun, failure_text, outcome, output_text, unfinished_text
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
    policy: Policy,
    turn: int,
    round: int,
    calls: tuple[ToolCall, ...],
    batched: bool,
) -> list[dict[str, Any]]:
    """Run every call of the turn in parallel; outcomes come back in the calls' order.

    ``batched`` (runs started since batch cards): the turn's gated calls go first in the map
    and each gets a slot of its own, so all their gates open at once, on one card, while the
    calls that need no one run under ``AGENT_TOOL_CONCURRENCY``: waiting for people never
    holds a slot a running tool needs. Earlier runs keep their calls' order and one bound.
    """
    gatings = [_gating(context, deps, run, policy, call, turn, i) for i, call in enumerate(calls)]
    gated = [i for i, gating in enumerate(gatings) if gating.rule is not None]
    order = list(range(len(calls)))
    concurrency = deps.settings.tool_concurrency
    if batched:
        order = gated + [i for i in order if i not in gated]
        concurrency += len(gated)
    batch_id = batch_id_for(run.execution_arn, turn) if batched and len(gated) > 1 else None

    def run_one(item_context: DurableContext, item: dict[str, Any], _: int, __: Any) -> Any:
        index = int(item["index"])
        batch = None
        if batch_id is not None and gatings[index].rule is not None:
            batch = Batch(batch_id=batch_id, size=len(gated), position=gated.index(index))
        call = CallPlan(ToolCall(**item["call"]), index, gatings[index], batch)
        outcome = run_tool_call(item_context, deps, run, call, turn=turn, round=round)
        ran = {"run_id": run.run_id, "turn": turn, "tool": outcome["name"]}
        item_context.logger.info("tool call", extra=ran | {"status": outcome["status"]})
        return outcome

    batch: BatchResult[dict[str, Any]] = context.map(
        [{"call": calls[i].to_json(), "index": i} for i in order],
        run_one,
        name=f"tools-{turn}",
        config=MapConfig(
            serdes=BATCH_JSON,
            item_serdes=COMPACT_JSON,  # else the items would get the batch's serdes
            max_concurrency=concurrency,
            completion_config=CompletionConfig.all_completed(),  # type: ignore[no-untyped-call]
            nesting_type=NestingType.FLAT,
        ),
    )
    outcomes: dict[int, dict[str, Any]] = {}
    for item in batch.all:
        index = order[item.index]
        call = calls[index]
        if item.result is not None:
            outcomes[index] = item.result
        else:
            text = unfinished_text(call.name, item.error.message if item.error else None)
            failed = outcome(call, "error", {"text": text})
            outcomes[index] = {**failed, "operations": worst_call_operations(policy)}
    checks = sum(gating.checks for gating in gatings)
    ordered = [outcomes[i] for i in range(len(calls))]
    if ordered and checks:  # the turn's condition steps count once, with its first call
        ordered[0] = {**ordered[0], "operations": ordered[0]["operations"] + checks}
    return ordered


@dataclass(frozen=True)
class CallPlan:
    """One call of the turn, and what its gate follows (decided before the map)."""

    call: ToolCall
    index: int
    gating: Gating
    batch: Batch | None


def worst_call_operations(policy: Policy) -> int:
    """A call's most durable operations: its condition's step, its gate with the longest
    ladder the policy sets, then its step or its job's (the longest is a webhook)."""
    return 1 + worst_gate_operations(policy) + max(JOB_OPERATIONS.values())


def run_tool_call(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    plan: CallPlan,
    *,
    turn: int,
    round: int,
) -> dict[str, Any]:
    """Gate the call if its rule says so, then run it: a named step, or a job."""
    call, index, rule = plan.call, plan.index, plan.gating.rule
    tool = deps.tools.get(call.name)
    if tool is None:
        text = {"text": f"there is no tool named {call.name!r}"}
        return {**outcome(call, "error", text), "operations": 0}
    if tool.approval.mode == "deny":
        text = {"text": f"{call.name} is not allowed in this deployment"}
        return {**outcome(call, "denied", text), "operations": 0}
    arguments = call.arguments
    decision: dict[str, Any] | None = None
    if rule is not None:
        gate = Gate(
            name=f"approve-{turn}-{index}",
            kind="tool",
            title=f"run {tool.name}",
            rule=rule,
            round=round,
            tool_name=tool.name,
            arguments=arguments,
            call_id=call.id,
            call_order=index,
            batch=plan.batch,
            sticky=plan.gating.sticky,
            mcp_tool=dict(tool.mcp) if tool.mcp else None,
        )
        reviewed = request_approval(context, deps, run, gate)
        refusal = _refusal(call, reviewed)
        if refusal is not None:
            return {**refusal, "operations": gate_operations(rule)}
        if isinstance(reviewed, Edit) and reviewed.arguments is not None:
            arguments = reviewed.arguments
        if not isinstance(reviewed, Expired | NoDecider):
            decision = decision_to_json(reviewed)
    note = None
    if plan.gating.allowed_by is not None:
        note = _allowed(deps, run, call, plan.gating.allowed_by)
    result, operations = _run(
        context, CallRun(deps, run, tool, call, arguments, turn, index, note=note)
    )
    if decision is not None:
        result = {**result, "decision": decision}
    return {**result, "operations": operations + (gate_operations(rule) if rule else 0)}


@dataclass(frozen=True)
class Gating:
    """What stands between a call and running: its gate's rule (None: nothing), whether the
    card may offer a standing approval, and the standing approval it runs under, if any."""

    rule: GateRule | None
    checks: int = 0  # steps it took to know (a condition, a standing approval)
    sticky: bool = False
    allowed_by: dict[str, Any] | None = None


def _gating(
    context: DurableContext,
    deps: AgentDeps,
    run: RunInfo,
    policy: Policy,
    call: ToolCall,
    turn: int,
    index: int,
) -> Gating:
    """How the call is gated. A tool's table in the policy decides; its ``when`` is evaluated
    in a step of its own, and so is the look for a standing approval, so a replay reads the
    answers instead of asking again. Without a table, the tool's code decides, under the
    default table's routing."""
    tool = deps.tools.get(call.name)
    if tool is None or tool.approval.mode == "deny":
        return Gating(None)  # the call is refused without anyone deciding
    table = policy.tools.get(tool.name)
    if table is None:
        needed = tool.approval.needs_approval(call.arguments)
        return Gating(policy.for_code_tool(tool.name, tool.approval) if needed else None)
    checks = 0
    when = table.when
    if when is not None:
        applies = context.step(
            lambda _: compile_condition(when).evaluate(
                args=call.arguments, requester=run.requester, channel=run.channel
            ),
            name=f"approve-{turn}-{index}-when",
            config=StepConfig(serdes=COMPACT_JSON),
        )
        checks += 1
        if not applies:
            return Gating(None, checks)
    sticky = table.sticky and table.rule.required == 1
    if not sticky:
        return Gating(table.rule, checks)
    grant: dict[str, Any] | None = context.step(
        lambda _: standing_grant(deps, run, tool.name),
        name=f"approve-{turn}-{index}-standing",
        config=StepConfig(serdes=COMPACT_JSON),
    )
    if grant is not None:
        return Gating(None, checks + 1, allowed_by=grant)
    return Gating(table.rule, checks + 1, sticky=True)


def standing_grant(deps: AgentDeps, run: RunInfo, tool: str) -> dict[str, Any] | None:
    """The standing approval of ``tool`` in force for the run now, if any."""
    record = deps.store.get_run(run.run_id) or {}
    grant = (record.get("standing") or {}).get(tool)
    return None if not grant or grant.get("revoked_at") else dict(grant)


def _allowed(deps: AgentDeps, run: RunInfo, call: ToolCall, grant: dict[str, Any]) -> str:
    """A call that runs under a standing approval: recorded like any decision; what its
    progress line says."""
    by = str((grant.get("by") or {}).get("name") or "someone")
    used = audit.standing_used(
        run.run_id,
        tool=call.name,
        call_id=call.id,
        arguments=call.arguments,
        granted_in=str(grant.get("approval_id", "")),
    )
    audit.record(deps.store, used)
    emit(AGENT_SERVICE, {"StandingApprovalsUsed": (1, COUNT)}, tool=call.name)
    return f"allowed by @{by}'s standing approval"


def _run(context: DurableContext, call: CallRun) -> tuple[dict[str, Any], int]:
    """The call's outcome, and the durable operations it took."""
    if call.tool.long_running:
        return run_job(context, call)
    result: dict[str, Any] = context.step(
        lambda step: execute_tool(call, step),
        name=call.name,
        config=StepConfig(
            retry_strategy=call.tool.retry or TOOL_RETRY,
            step_semantics=call.step_semantics,
            serdes=COMPACT_JSON,
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
        case Expired(at=at, on_timeout=on_timeout):
            text = {"text": load_prompt("tool_not_decided", tool=call.name, at=at)}
            expired = outcome(call, "expired", text)
            return {**expired, "end_run": True} if on_timeout == "end_run" else expired
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
