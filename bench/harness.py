"""What every in-process benchmark shares: AWS stand-ins, the runner, timed invocations.

- ``aws_stand_ins()``: dynalite (DynamoDB) and moto's S3 on loopback, with the environment
  boto3 reads pointed at them;
- ``InvocationTimer``: wraps the handler callable the durable runner invokes, so each Lambda
  invocation of a run is timed on its own (first run, each resume);
- ``run_to_end()``: one execution under ``DurableFunctionTestRunner``, a reviewer deciding
  every gate it opens through the real control plane (claim, callback, settle);
- ``stored_operations()``: the operations the runner's store holds for an execution, with the
  bytes of each payload.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from agent.approvals.decisions import Approve, Decider
from agent.approvals.gate import approval_id_for
from agent.control.runs import ControlPlane, Decided
from agent.storage.store import Store, create_table
from tests.fakes.aws import Dynalite, MotoS3

REVIEWER = Decider(id="UREVIEWER", name="bench reviewer")
POLL_SECONDS = 0.005


@contextlib.contextmanager
def aws_stand_ins() -> Iterator[None]:
    """dynalite and moto's S3 for the duration, with boto3's environment pointed at them."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    dynalite, s3 = Dynalite(), MotoS3()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": dynalite.endpoint_url,
            "AWS_ENDPOINT_URL_S3": s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    try:
        yield
    finally:
        dynalite.stop()
        s3.stop()


def fresh_table_and_bucket() -> tuple[str, str]:
    """A new table and bucket, so runs never see each other's records."""
    table, bucket = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    create_table(boto3.client("dynamodb"), table)
    boto3.client("s3").create_bucket(Bucket=bucket)
    return table, bucket


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send the agent's JSON logs and EMF records (stdout in Lambda) nowhere while timing."""
    with contextlib.redirect_stdout(_DEVNULL):
        yield


_DEVNULL = io.TextIOWrapper(open(os.devnull, "wb"), write_through=True)  # noqa: SIM115


@dataclass(frozen=True)
class Invocation:
    """One Lambda invocation of a durable handler."""

    started: float
    seconds: float
    operations_in: int  # operations the invocation was handed (what it replays)


@dataclass
class InvocationTimer:
    """The handler the runner invokes, timed one invocation at a time."""

    handler: Callable[..., Any]
    invocations: list[Invocation] = field(default_factory=list)
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Any, context: Any) -> Any:
        operations = len(event.initial_execution_state.operations)
        with self._lock:
            self.in_flight += 1
        started = time.perf_counter()
        try:
            return self.handler(event, context)
        finally:
            seconds = time.perf_counter() - started
            with self._lock:
                self.in_flight -= 1
                self.invocations.append(Invocation(started, seconds, operations))

    def idle(self) -> bool:
        """No invocation is running: the execution is suspended (or not started)."""
        with self._lock:
            return self.in_flight == 0 and bool(self.invocations)

    def after(self, moment: float) -> list[Invocation]:
        """The invocations that started after ``moment`` (a ``perf_counter`` reading)."""
        with self._lock:
            return [i for i in self.invocations if i.started >= moment]


class RunnerLambda:
    """The Lambda API calls the control plane makes, answered by an in-process runner."""

    def __init__(self, runner: DurableFunctionTestRunner) -> None:
        self.runner = runner
        self.callbacks_sent: list[float] = []

    def send_durable_execution_callback_success(self, CallbackId: str, Result: bytes) -> None:
        """boto3's call (and argument names), sent to the runner."""
        self.callbacks_sent.append(time.perf_counter())
        self.runner.send_callback_success(CallbackId, Result)


@dataclass
class Reviewer:
    """Approves every gate a run opens, as a person clicking Approve would: through the
    control plane (authorise, claim, send the callback, settle the record).

    It watches the runner's in-memory operations for open approval waits, so it adds no
    table traffic while the run works, and decides only once the execution is suspended
    (no invocation running): a person answers minutes later, never within milliseconds."""

    runner: DurableFunctionTestRunner
    timer: InvocationTimer
    store: Store
    lambda_client: RunnerLambda
    arn: str = ""
    decide_seconds: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        plane = ControlPlane(store=self.store, lambda_client=self.lambda_client, agent_function="")
        decided: set[str] = set()
        while not self._stop.wait(POLL_SECONDS):
            if not self.timer.idle():
                continue
            for gate in self._open_gates(decided):
                started = time.perf_counter()
                outcome = plane.decide(
                    approval_id_for(self.arn, gate), Approve(decider=REVIEWER, at=_now())
                )
                if isinstance(outcome, Decided):
                    decided.add(gate)
                    self.decide_seconds.append(time.perf_counter() - started)

    def _open_gates(self, decided: set[str]) -> list[str]:
        if not self.arn:
            return []
        operations = self.runner._store.load(self.arn).operations  # no public accessor
        return [
            op.name
            for op in list(operations)
            if op.sub_type == "WaitForCallback"
            and op.status.value == "STARTED"
            and op.name
            and op.name not in decided
        ]

    def stop(self) -> None:
        self._stop.set()


@dataclass(frozen=True)
class StoredOperation:
    """An operation as the runner's store keeps it."""

    name: str
    kind: str  # STEP, CONTEXT, CALLBACK, WAIT, EXECUTION...
    sub_type: str | None
    payload_bytes: int


@dataclass(frozen=True)
class Finished:
    """One execution, run to its end."""

    arn: str
    seconds: float
    result: dict[str, Any]
    invocations: list[Invocation]
    operations: list[StoredOperation]
    decide_seconds: list[float]
    callbacks_sent: list[float]


def run_to_end(
    handler: Callable[..., Any], event: dict[str, Any], store: Store, timeout: int = 600
) -> Finished:
    """Run ``handler`` on ``event`` until it ends, approving every gate it opens."""
    timer = InvocationTimer(handler)
    with DurableFunctionTestRunner(handler=timer, poll_interval=0.01) as runner:
        lambda_client = RunnerLambda(runner)
        reviewer = Reviewer(runner, timer, store, lambda_client)
        thread = threading.Thread(target=reviewer.run, daemon=True)
        try:
            started = time.perf_counter()
            arn = runner.run_async(input=json.dumps(event), execution_timeout=timeout)
            reviewer.arn = arn
            thread.start()
            outcome = runner.wait_for_result(arn, timeout=timeout)
            seconds = time.perf_counter() - started
        finally:
            reviewer.stop()
            if thread.is_alive():
                thread.join()
        if outcome.result is None:
            raise RuntimeError(f"the run ended {outcome.status} without a result: {outcome.error}")
        return Finished(
            arn=arn,
            seconds=seconds,
            result=json.loads(outcome.result),
            invocations=list(timer.invocations),
            operations=stored_operations(runner, arn),
            decide_seconds=list(reviewer.decide_seconds),
            callbacks_sent=list(lambda_client.callbacks_sent),
        )


def stored_operations(runner: DurableFunctionTestRunner, arn: str) -> list[StoredOperation]:
    """Every operation of the execution, with the bytes its checkpoint holds (result, error
    or, for the execution itself, its input)."""
    execution = runner._store.load(arn)  # the runner has no public accessor for payloads
    operations = []
    for op in execution.operations:
        payloads = [
            details.result
            for details in (op.step_details, op.context_details, op.callback_details)
            if details is not None and details.result
        ]
        for details in (op.step_details, op.context_details, op.callback_details):
            error = getattr(details, "error", None)
            if error is not None:
                payloads.append(f"{error.type}{error.message}{error.data or ''}")
        if op.execution_details is not None and op.execution_details.input_payload:
            payloads.append(op.execution_details.input_payload)
        operations.append(
            StoredOperation(
                name=op.name or op.operation_id,
                kind=op.operation_type.value,
                sub_type=op.sub_type,
                payload_bytes=sum(len(p.encode()) for p in payloads),
            )
        )
    return operations


def counted_operations(operations: list[StoredOperation]) -> int:
    """Durable operations as AWS counts them against its cap: all but the execution itself."""
    return sum(1 for op in operations if op.kind != "EXECUTION")


@contextlib.contextmanager
def timed_step_bodies() -> Iterator[list[tuple[str, float]]]:
    """Time the body of every step run in this process (not its checkpoint): the work a
    step would be as a task of its own. Replayed steps run no body and are not counted."""
    original = DurableContext.step
    bodies: list[tuple[str, float]] = []
    lock = threading.Lock()

    def step(self: DurableContext, func: Any, name: str | None = None, config: Any = None) -> Any:
        step_name = self._resolve_step_name(name, func)

        def timed(step_context: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(step_context)
            finally:
                with lock:
                    bodies.append((str(step_name), time.perf_counter() - started))

        return original(self, timed, name=step_name, config=config)

    DurableContext.step = step  # type: ignore[method-assign]
    try:
        yield bodies
    finally:
        DurableContext.step = original  # type: ignore[method-assign]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def log(message: str) -> None:
    """Progress on stderr (stdout is the agent's, and it is silenced while timing)."""
    print(message, file=sys.stderr, flush=True)
