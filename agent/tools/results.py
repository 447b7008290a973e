"""One tool call being run: what its functions are given and what it becomes.

An outcome is ``{tool_use_id, name, status, output, decision?, operations}``: ``status`` is
``ok`` or the reason it is not (an ``is_error`` tool_result for Claude), ``output`` is
``{"text"}`` or a reference to the text in S3, ``operations`` the durable operations the
call used (the run keeps count against AWS's cap).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from aws_durable_execution_sdk_python.config import StepSemantics

from agent import progress
from agent.deps import AgentDeps
from agent.models import RunInfo, ToolCall
from agent.storage.blobs import spill
from agent.tools.context import ToolContext
from agent.tools.registry import Tool

ERROR_TEXT_LIMIT = 4000
# How the durable SDK's error for an at-most-once step found started on a replay ends; a map
# item's error keeps only the wrapper's type (StepError) and this message, so it is matched.
INTERRUPTED = "was previously interrupted"


def idempotency_key(execution_arn: str, tool_use_id: str) -> str:
    """The same for every attempt of one call of one run, different for anything else."""
    return hashlib.sha256(f"{execution_arn}|{tool_use_id}".encode()).hexdigest()[:40]


def output_text(value: Any) -> str:
    """A tool's return value as the text Claude reads."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def failure_text(tool_name: str, err: Exception) -> str:
    """A raising tool, as Claude reads it."""
    return f"{tool_name} failed: {type(err).__name__}: {err}"[:ERROR_TEXT_LIMIT]


def unfinished_text(tool_name: str, message: str | None) -> str:
    """A call whose step ended without an outcome, as Claude reads it. One cut off after it
    started (a crash before its result was saved) with no retries left may have taken effect:
    Claude hears that, not the step's internal name."""
    if message is not None and message.endswith(INTERRUPTED):
        return (
            f"{tool_name} was interrupted: it started, but the run stopped before its result "
            "was saved, so it may or may not have taken effect. It was not sent again, so "
            "that it cannot happen twice; check whether it took effect before calling it again."
        )
    return f"tool failed: {message or 'the tool call did not finish'}"[:ERROR_TEXT_LIMIT]


def outcome(
    call: ToolCall, status: str, output: dict[str, Any], decision: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One call's outcome (``operations`` is added by the caller that ran it)."""
    result = {"tool_use_id": call.id, "name": call.name, "status": status, "output": output}
    if decision is not None:
        result["decision"] = decision
    return result


@dataclass(frozen=True)
class CallRun:
    """A call of ``tool`` with ``arguments`` (after any edit), the ``index``-th of ``turn``."""

    deps: AgentDeps
    run: RunInfo
    tool: Tool
    call: ToolCall
    arguments: dict[str, Any]
    turn: int
    index: int
    note: str | None = None  # shown beside the call's state (a standing approval's grantor)

    @property
    def name(self) -> str:
        """The call's operation name: stable and unique per position in the run."""
        return f"tool-{self.turn}-{self.index}"

    @property
    def step_semantics(self) -> StepSemantics:
        """A side effect runs at most once per attempt; a read may simply run again."""
        if self.tool.side_effect:
            return StepSemantics.AT_MOST_ONCE_PER_RETRY
        return StepSemantics.AT_LEAST_ONCE_PER_RETRY

    def context(self, *, attempt: int, completion_url: str | None = None) -> ToolContext:
        """What the tool's functions see."""
        return ToolContext(
            run_id=self.run.run_id,
            requester=self.run.requester,
            channel=self.run.channel,
            idempotency_key=idempotency_key(self.run.execution_arn, self.call.id),
            attempt=attempt,
            slack=self.deps.slack,
            settings=self.deps.settings,
            aws=self.deps.aws,
            completion_url=completion_url,
        )

    def outcome(self, status: str, output: dict[str, Any]) -> dict[str, Any]:
        return outcome(self.call, status, output)

    def error(self, text: str) -> dict[str, Any]:
        """An error outcome (shown as failed on the progress message: call inside a step)."""
        self.show("failed")
        return outcome(self.call, "error", {"text": text})

    def stored(self, text: str) -> dict[str, Any]:
        """``{"text"}``, or a reference when the text is over the spill limit (kept in S3)."""
        key = f"{self.run.run_id}/{self.name}.txt"
        return spill(text, blobs=self.deps.blobs, key=key, limit=self.deps.settings.spill_bytes)

    def show(self, state: str, detail: str | None = None) -> None:
        """The call's line on the run's progress message (call inside a step: it writes)."""
        progress.show_tool(
            self.deps,
            self.run,
            call_id=self.call.id,
            order=self.index,
            name=self.tool.name,
            state=state,
            detail=detail or self.note,
        )
