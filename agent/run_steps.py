"""The bodies of the run's own steps: open the run, one model turn, deliver, finish.

Each runs inside ``context.step`` (so it may do I/O and read the clock) and returns plain
JSON. Slack writes go through ``post_or_update`` so a retried step never posts twice.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from aws_durable_execution_sdk_python import StepContext, durable_step

from agent import messages, progress
from agent.approvals import audit
from agent.approvals.policy_file import PolicyError
from agent.approvals.rules import Policy
from agent.budget import Budget
from agent.clock import now_iso
from agent.deps import AgentDeps
from agent.history import build_messages
from agent.loop import usage_record
from agent.model.caching import history_ttl, with_breakpoints
from agent.model.pricing import describe_usage, spending, turn_cost
from agent.model.prompts import load_prompt, prompts_version
from agent.model.request import ModelRequest
from agent.models import RunInfo, RunRequest
from agent.mrkdwn import Message
from agent.storage.blobs import full_text, spill, unspill
from agent.storage.slack_messages import post_or_update, post_parts
from agent.telemetry import AGENT_SERVICE, COST_USD, COUNT, NONE, emit
from agent.tools.mcp.tools import list_run_tools, listing_problems

_logger = logging.getLogger(__name__)


def run_id_for(request: RunRequest, execution_arn: str) -> str:
    """The run's id: the one its starter chose, else one derived from the execution."""
    if request.run_id:
        return request.run_id
    return "run-" + hashlib.sha256(execution_arn.encode()).hexdigest()[:16]


@durable_step
def open_run(
    _: StepContext, deps: AgentDeps, request: RunRequest, execution_arn: str
) -> dict[str, Any]:
    """Save the run record and open its Slack thread and progress message (once)."""
    run_id = run_id_for(request, execution_arn)
    budget = budget_for(request, deps)
    try:
        policy: Policy | None = deps.policy.current()
        policy_error = None
    except PolicyError as err:  # a hot edit that does not validate: this run cannot start
        policy, policy_error = None, str(err)
    fresh: dict[str, Any] = {
        "run_id": run_id,
        "execution_arn": execution_arn,
        "task": request.task,
        "requester": request.requester,
        "source": request.source,
        "channel": request.channel,
        "thread_ts": request.thread_ts,
        "status": "running",
        "phase": "thinking",
        "turn": 0,
        "tools": {},
        "standing": {},  # standing approvals granted for the run, by tool
        "created_at": now_iso(),
        "prompts_version": prompts_version(),
        "budget": budget.to_json(),
        "max_turns": deps.settings.max_turns,
        "offline_model": deps.offline_model,
        "started_by": request.started_by,
        "policy": policy.to_json() if policy else None,
        "policy_source": policy.source if policy else None,
        "policy_hash": policy.digest if policy else None,
    }
    run = deps.store.ensure_run(fresh)
    seen_before = run is not fresh
    started = audit.run_started(
        run_id,
        request,
        policy_hash=run.get("policy_hash"),
        model=deps.settings.model,
        prompts=str(run.get("prompts_version") or prompts_version()),
    )
    audit.record(deps.store, started)
    if not seen_before:
        emit(AGENT_SERVICE, {"RunsStarted": (1, COUNT)}, source=request.source)
    thread_ts, progress_ts = run.get("thread_ts"), run.get("progress_ts")
    if request.channel and deps.slack is not None and thread_ts is None:
        opened = messages.run_opened_message(
            task=request.task, requester=request.requester, run_id=run_id
        )
        thread_ts = post_or_update(
            deps.slack,
            channel=request.channel,
            message=opened,
            key=f"{run_id}-root",
            maybe_posted=seen_before,
        )
        deps.store.update_run(run_id, thread_ts=thread_ts)
    if request.channel and deps.slack is not None and request.notify:
        placeholder = Message(text=f"Working on it… ({run_id})", blocks=[])
        progress_ts = post_or_update(
            deps.slack,
            channel=request.channel,
            message=placeholder,
            key=f"{run_id}-progress",
            thread_ts=thread_ts,
            known_ts=progress_ts,
            maybe_posted=seen_before,
        )
        deps.store.update_run(run_id, progress_ts=progress_ts, execution_arn=execution_arn)
        progress.show(deps, run_id, phase="thinking")
    return {
        "run_id": run_id,
        "requester": request.requester,
        "task": request.task,
        "channel": request.channel,
        "thread_ts": thread_ts,
        "execution_arn": execution_arn,
        "budget": budget.to_json(),
        "started_by": request.started_by,
        # The policy the run keeps to its end (a retry of this step keeps the first one seen).
        "policy": run.get("policy") or (policy.to_json() if policy else None),
        "policy_error": policy_error if not run.get("policy") else None,
        "turn_shape": TURN_SHAPE,
    }


# The shape new runs' turns take (agent.models.RunInfo.turn_shape).
TURN_SHAPE = 2


def budget_for(request: RunRequest, deps: AgentDeps) -> Budget:
    """The run's cap: what its starter asked for, else the deployment's default."""
    settings = deps.settings
    return Budget(
        usd=settings.budget_usd if request.budget_usd is None else request.budget_usd,
        tokens=settings.budget_tokens if request.budget_tokens is None else request.budget_tokens,
    )


@durable_step
def model_turn(
    _: StepContext,
    deps: AgentDeps,
    run: RunInfo,
    transcript: list[dict[str, Any]],
    turn: int,
    earlier_usage: list[dict[str, Any]],
) -> dict[str, Any]:
    """One streamed model turn; large text blocks are spilled so the checkpoint stays small.

    The run record's spending is brought up to date as soon as the reply is in, so a run's
    cost shows (in ``GET /runs/{id}`` and ``/agent usage``) while it is still going.
    """
    progress.show(deps, run.run_id, turn=turn, phase="thinking", tools={})
    resolve = lambda value: unspill(value, blobs=deps.blobs)  # noqa: E731
    system, tools, messages = with_breakpoints(
        [{"type": "text", "text": load_prompt("system")}],
        deps.tools.schemas(),
        build_messages(transcript, resolve),
        ttl=history_ttl(transcript),
        explicit_ttl=deps.model.name == "anthropic",  # Bedrock: the default TTL only
    )
    request = ModelRequest(
        model=deps.settings.model,
        max_tokens=deps.settings.max_tokens,
        system=system,
        tools=tools,
        messages=messages,
    )
    reply = deps.model.complete(request)
    _count_tokens(reply)
    _record_spending(deps, run.run_id, [*earlier_usage, usage_record(turn, reply)])
    reply["content"] = [
        _spill_text_block(block, deps, key=f"{run.run_id}/llm-{turn}-{index}.txt")
        for index, block in enumerate(reply["content"])
    ]
    return reply


def _count_tokens(reply: dict[str, Any]) -> None:
    """Tokens and dollars per model turn; a retried turn did spend them again."""
    usage, model = reply["usage"], str(reply.get("model") or "unknown")
    cost = turn_cost(model, usage)
    values = {
        "InputTokens": (usage["input_tokens"], COUNT),
        "OutputTokens": (usage["output_tokens"], COUNT),
        "CacheReadTokens": (usage["cache_read_input_tokens"], COUNT),
        "CacheWriteTokens": (usage["cache_creation_input_tokens"], COUNT),
        COST_USD: (cost, NONE),
    }
    emit(AGENT_SERVICE, values, model=model)
    # Once more without the model: an alarm names one dimension set, whatever the models are.
    emit(AGENT_SERVICE, {COST_USD: (cost, NONE)})


def _record_spending(deps: AgentDeps, run_id: str, turns: list[dict[str, Any]]) -> None:
    """Best effort: a table hiccup must not cost a second model call (the step's retry)."""
    try:
        deps.store.update_run(run_id, **spending(turns))
    except Exception:  # the run's result carries the same figures at its end
        _logger.warning("could not record the spending of run %s", run_id, exc_info=True)


def _spill_text_block(block: dict[str, Any], deps: AgentDeps, *, key: str) -> dict[str, Any]:
    if block.get("type") != "text":
        return block
    stored = spill(block["text"], blobs=deps.blobs, key=key, limit=deps.settings.spill_bytes)
    if "blob" not in stored:
        return block
    return {
        "type": "text",
        "text": stored["preview"],
        "blob": stored["blob"],
        "bytes": stored["bytes"],
    }


def draft_text(blocks: tuple[dict[str, Any], ...] | list[dict[str, Any]], deps: AgentDeps) -> str:
    """The full text of a draft's blocks (fetching spilled ones)."""
    return full_text(blocks, blobs=deps.blobs)


@durable_step
def deliver(
    _: StepContext,
    deps: AgentDeps,
    run: RunInfo,
    draft_blocks: tuple[dict[str, Any], ...],
    edited_text: str | None,
    decided_by: str | None,
) -> dict[str, Any]:
    """Post the approved text (the reviewer's edit, else the draft) in the thread, once."""
    text = edited_text or draft_text(draft_blocks, deps)
    ts = None
    if run.channel and deps.slack is not None:
        ts = post_parts(
            deps.slack,
            channel=run.channel,
            parts=messages.final_messages(text=text, run_id=run.run_id, decided_by=decided_by),
            key=f"{run.run_id}-final",
            thread_ts=run.thread_ts,
            maybe_posted=True,
        )
    output = spill(
        text, blobs=deps.blobs, key=f"{run.run_id}/final.txt", limit=deps.settings.spill_bytes
    )
    done = audit.delivered(
        run.run_id, text=text, edited=edited_text is not None, decided_by=decided_by, ts=ts
    )
    audit.record(deps.store, done)
    return {"ts": ts, "text": output}


@durable_step
def list_mcp_tools(_: StepContext, deps: AgentDeps, run: RunInfo) -> dict[str, Any]:
    """Each MCP server's tools as this run keeps them (a replay reads this list, so the run's
    tools never change under it); the thread hears of a server that did not answer."""
    assert deps.mcp is not None
    listing = list_run_tools(deps.mcp)
    problems = listing_problems(listing)
    if problems:
        _logger.warning("MCP tools missing from run %s: %s", run.run_id, "; ".join(problems))
    if problems and run.channel and deps.slack is not None:
        post_or_update(
            deps.slack,
            channel=run.channel,
            message=messages.mcp_tools_missing_message(problems),
            key=f"{run.run_id}-mcp-tools",
            thread_ts=run.thread_ts,
            maybe_posted=True,
        )
    return listing


@durable_step
def finish(_: StepContext, deps: AgentDeps, run: RunInfo, result: dict[str, Any]) -> None:
    """Record the run's end; say why in the thread when nothing was delivered."""
    delivered = result["status"] == "delivered"
    if not delivered and run.channel and deps.slack is not None:
        message = messages.ended_message(run_id=run.run_id, reason=result["note"])
        post_or_update(
            deps.slack,
            channel=run.channel,
            message=message,
            key=f"{run.run_id}-ended",
            thread_ts=run.thread_ts,
            maybe_posted=True,
        )
    deps.store.update_run(
        run.run_id,
        status=result["status"],
        note=result["note"],
        finished_at=now_iso(),
        usage=result["usage"]["total"],
        usage_by_model=result["usage"]["models"],
        cost_usd=result["usage"]["cost_usd"],
        decisions=result["decisions"],
    )
    audit.record(deps.store, audit.run_ended(run.run_id, result))
    ended = {"RunsEnded": (1, COUNT)} | ({"RunsSucceeded": (1, COUNT)} if delivered else {})
    emit(AGENT_SERVICE, ended, status=result["status"])
    phase = "finished" if delivered else "stopped"
    spent = describe_usage(result["usage"]["total"], result["usage"]["cost_usd"])
    progress.show(deps, run.run_id, phase=phase, note=result["note"], usage_line=spent)
