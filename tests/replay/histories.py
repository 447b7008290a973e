"""Recorded durable histories, and replaying one against today's handler.

A history is the runner's checkpointed operations of one run (``Operation.to_json_dict``), kept
as JSON under ``tests/replay/histories/``. Replaying hands those operations to the handler as a
Lambda invocation would (``InitialExecutionState``), with a service client that records what
the handler checkpoints instead of sending it anywhere. A handler that still takes the same
path consumes every recorded operation in order and starts nothing new before the end:

- a finished history returns the recorded result and checkpoints no new operation;
- a suspended history suspends again on the operation it was waiting on.

Anything else is a divergence, reported with the first operation that differs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python.execution import (
    DurableExecutionInvocationInputWithClient,
    InitialExecutionState,
)
from aws_durable_execution_sdk_python.lambda_service import (
    CheckpointOutput,
    CheckpointUpdatedExecutionState,
    Operation,
    OperationUpdate,
    StateOutput,
)
from aws_durable_execution_sdk_python_testing.invoker import create_test_lambda_context

HISTORIES = Path(__file__).parent / "histories"
FORMAT = 1


@dataclass(frozen=True)
class History:
    """One recorded run: where it stood (suspended or finished) and its operations."""

    scenario: str
    state: str  # "suspended" | "finished"
    execution_arn: str
    operations: tuple[dict[str, Any], ...]
    result: str | None = None  # the handler's result, for a finished run
    waits_at: str | None = None  # the operation a suspended run waits on

    @property
    def path(self) -> Path:
        return HISTORIES / f"{self.scenario}.{self.state}.json"

    def save(self) -> None:
        HISTORIES.mkdir(parents=True, exist_ok=True)
        body = {"format": FORMAT, **self.__dict__, "operations": list(self.operations)}
        self.path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> History:
        body = json.loads(path.read_text())
        if body.pop("format") != FORMAT:
            raise ValueError(f"{path.name}: recorded in another format; record it again")
        body["operations"] = tuple(body["operations"])
        return cls(**body)

    def steps(self) -> list[Operation]:
        """The operations as the service would hand them over while the run still waits.

        A retry or wait that was due after the recording is due after the replay too: the
        SDK goes on at once with a timer already due, which is a resume, not this wait.
        """
        later = int((time.time() + 86_400) * 1000)
        return [Operation.from_json_dict(_timers_ahead(op, later)) for op in self.operations]


def _timers_ahead(op: dict[str, Any], millis: int) -> dict[str, Any]:
    if op["Status"] not in ("PENDING", "STARTED"):
        return op
    op = json.loads(json.dumps(op))
    if "NextAttemptTimestamp" in op.get("StepDetails", {}):
        op["StepDetails"]["NextAttemptTimestamp"] = millis
    if "ScheduledEndTimestamp" in op.get("WaitDetails", {}):
        op["WaitDetails"]["ScheduledEndTimestamp"] = millis
    return op


def recorded() -> list[History]:
    """Every recorded history, in a stable order."""
    return [History.load(path) for path in sorted(HISTORIES.glob("*.json"))]


@dataclass
class RecordingServiceClient:
    """The durable service, as far as a replay needs it: checkpoints are recorded, not sent."""

    updates: list[OperationUpdate] = field(default_factory=list)

    def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[OperationUpdate],
        client_token: str | None,
    ) -> CheckpointOutput:
        self.updates.extend(updates)
        return CheckpointOutput(
            checkpoint_token=f"{checkpoint_token}+",
            new_execution_state=CheckpointUpdatedExecutionState(),
        )

    def get_execution_state(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        next_marker: str,
        max_items: int = 1000,
    ) -> StateOutput:
        return StateOutput(operations=[], next_marker=None)


@dataclass(frozen=True)
class Replay:
    """What the handler did with a recorded history."""

    status: str  # SUCCEEDED | PENDING | FAILED
    result: str | None
    error: str | None
    started: tuple[str, ...]  # operations the handler checkpointed that the history lacks


def replay(history: History, handler: Any) -> Replay:
    """Invoke ``handler`` once on the recorded operations, as Lambda would after a resume."""
    client = RecordingServiceClient()
    invocation = DurableExecutionInvocationInputWithClient(
        durable_execution_arn=history.execution_arn,
        checkpoint_token="replay",
        initial_execution_state=InitialExecutionState(operations=history.steps(), next_marker=""),
        service_client=client,
    )
    output = handler(invocation, create_test_lambda_context())
    known = {op["Id"] for op in history.operations}
    started = tuple(
        _describe(update.name, update.operation_type.value)
        for update in client.updates
        if update.operation_id not in known
    )
    error = output.get("Error") or {}
    return Replay(
        status=output["Status"],
        result=output.get("Result"),
        error=error.get("ErrorMessage"),
        started=started,
    )


def divergence(history: History, replayed: Replay) -> str | None:
    """Why the replay did not take the recorded path, naming the first operation that differs."""
    if replayed.status == "FAILED":
        return f"the handler failed on the recorded history: {_with_names(history, replayed.error)}"
    if replayed.started:
        return (
            f"the handler started {replayed.started[0]}, which the history does not have "
            f"(after {_describe_op(history.operations[-1])})"
        )
    if history.state == "finished":
        if replayed.status != "SUCCEEDED":
            return f"the finished run did not finish on replay (status {replayed.status})"
        if _outcome(replayed.result) != _outcome(history.result):
            return "the finished run returned another result on replay"
        return None
    if replayed.status != "PENDING":
        return f"the run waiting at {history.waits_at!r} did not wait on replay ({replayed.status})"
    return None


def _outcome(result: str | None) -> Any:
    """A run's result without ``prompts_version``: that names the prompt files deployed when
    the result is built, which a deploy that adds or edits a prompt changes by design."""
    outcome = json.loads(result or "null")
    if isinstance(outcome, dict):
        outcome.pop("prompts_version", None)
    return outcome


def _with_names(history: History, message: str | None) -> str:
    """The SDK names operations by hashed id: add the recorded operation's name and position."""
    text = message or "(no message)"
    for position, op in enumerate(history.operations):
        if op["Id"] in text:
            return f"recorded operation #{position} {_describe_op(op)} differs: {text}"
    return text


def _describe_op(op: dict[str, Any]) -> str:
    return _describe(op.get("Name"), op["Type"])


def _describe(name: str | None, kind: str) -> str:
    return f"{name or '(unnamed)'!r} ({kind})"
