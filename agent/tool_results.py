"""What one tool call is given and what it becomes: its context, its outcome, its output.

An outcome is ``{tool_use_id, name, status, output, decision?, operations}``: ``status`` is
``ok`` or the reason it is not (an ``is_error`` tool_result for Claude), ``output`` is
``{"text"}`` or a reference to the text in S3, ``operations`` the durable operations the
call used (the run keeps count against AWS's cap).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_durable_execution_sdk_python.config import StepSemantics

from agent.blobs import spill
from agent.deps import AgentDeps
from agent.loop import ToolCall
from agent.models import RunInfo
from agent.tools.registry import Tool, ToolContext

ERROR_TEXT_LIMIT = 4000


def idempotency_key(execution_arn: str, tool_use_id: str) -> str:
    """The same for every attempt of one call of one run, different for anything else."""
    return hashlib.sha256(f"{execution_arn}|{tool_use_id}".encode()).hexdigest()[:40]


def tool_context(
    deps: AgentDeps,
    run: RunInfo,
    call: ToolCall,
    *,
    attempt: int,
    completion_url: str | None = None,
) -> ToolContext:
    """What the tool's functions see for this call."""
    return ToolContext(
        run_id=run.run_id,
        requester=run.requester,
        channel=run.channel,
        idempotency_key=idempotency_key(run.execution_arn, call.id),
        attempt=attempt,
        slack=deps.slack,
        settings=deps.settings,
        aws=deps.aws,
        completion_url=completion_url,
    )


def step_semantics(tool: Tool) -> StepSemantics:
    """A side effect runs at most once per attempt; a read may simply run again."""
    if tool.side_effect:
        return StepSemantics.AT_MOST_ONCE_PER_RETRY
    return StepSemantics.AT_LEAST_ONCE_PER_RETRY


def output_text(value: Any) -> str:
    """A tool's return value as the text Claude reads."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def failure_text(tool_name: str, err: Exception) -> str:
    """A raising tool, as Claude reads it."""
    return f"{tool_name} failed: {type(err).__name__}: {err}"[:ERROR_TEXT_LIMIT]


def stored_output(
    deps: AgentDeps, run: RunInfo, text: str, *, turn: int, index: int
) -> dict[str, Any]:
    """``{"text"}``, or a reference when the text is over the spill limit (kept in S3)."""
    key = f"{run.run_id}/tool-{turn}-{index}.txt"
    return spill(text, blobs=deps.blobs, key=key, limit=deps.settings.spill_bytes)


def outcome(
    call: ToolCall, status: str, output: dict[str, Any], decision: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One call's outcome (``operations`` is added by the caller that ran it)."""
    result = {"tool_use_id": call.id, "name": call.name, "status": status, "output": output}
    if decision is not None:
        result["decision"] = decision
    return result
