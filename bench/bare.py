"""Bare durable handlers: the SDK alone, as floors and peers for the agent's figures.

- ``agent_shaped(turns)``: the durable operations of an agent run of ``turns`` turns (open
  the run; per turn a step and a FLAT map of three steps; the draft's step; a review that
  waits for a callback; settle, deliver, finish) with nothing inside them: the floor the
  agent's per-turn time and resume time are compared with.
- ``nested_map``, ``flat_map``, ``whole_history``: the same content as the agent's runs
  stored three ways other designs store it, for the amplification comparison.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import (
    Duration,
    MapConfig,
    NestingType,
    WaitForCallbackConfig,
)
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from bench.harness import Invocation, InvocationTimer, StoredOperation, stored_operations

Handler = Callable[..., Any]
TurnContent = tuple[dict[str, Any], list[str]]  # a model reply, then its tool outputs


class CallbackBox:
    """Where a bare handler's submitter leaves its callback id for the benchmark to answer."""

    def __init__(self) -> None:
        self.ids: queue.Queue[str] = queue.Queue()

    def submit(self, callback_id: str, _: Any) -> None:
        self.ids.put(callback_id)


def agent_shaped(turns: int, box: CallbackBox, tools: int = 3) -> Handler:
    """The operations of an agent run of ``turns`` turns, each holding a tiny value."""

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> int:
        context.step(lambda _: {"run_id": "bare"}, name="open-run")
        for turn in range(turns):
            context.step(lambda _: {"ok": True}, name=f"llm-{turn}")
            context.map(
                list(range(tools)),
                lambda ctx, item, index, _: ctx.step(lambda _: item, name=f"tool-{index}"),
                name=f"tools-{turn}",
                config=MapConfig(max_concurrency=4, nesting_type=NestingType.FLAT),
            )
        context.step(lambda _: {"draft": True}, name=f"llm-{turns}")
        config = WaitForCallbackConfig(timeout=Duration.from_seconds(3600))
        context.wait_for_callback(box.submit, name=f"review-{turns}", config=config)
        for name in (f"review-{turns}-settled", "deliver", "finish"):
            context.step(lambda _: None, name=name)
        return turns

    return handler


def nested_map(turns: list[TurnContent], draft: dict[str, Any]) -> Handler:
    """Per turn: the reply in a step, the outputs in the SDK's default map (NESTED)."""
    return _per_turn_steps(turns, draft, MapConfig())


def flat_map(turns: list[TurnContent], draft: dict[str, Any]) -> Handler:
    """Per turn: the reply in a step, the outputs in a FLAT map."""
    return _per_turn_steps(turns, draft, MapConfig(nesting_type=NestingType.FLAT))


def _per_turn_steps(
    turns: list[TurnContent], draft: dict[str, Any], config: MapConfig[Any]
) -> Handler:
    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> int:
        for index, (reply, outputs) in enumerate(turns):
            context.step(_returning(reply), name=f"llm-{index}")
            context.map(
                outputs,
                lambda ctx, output, i, _: ctx.step(lambda _: output, name=f"tool-{i}"),
                name=f"tools-{index}",
                config=config,
            )
        context.step(lambda _: draft, name=f"llm-{len(turns)}")
        return len(turns)

    return handler


class SnapshotSink:
    """Where a whole-history design keeps its snapshots: a full conversation is far over a
    checkpoint's 256 KB by turn 3, so (like a framework's own checkpointer) it writes each
    snapshot to a store of its own and checkpoints the key. Counts the bytes written."""

    def __init__(self) -> None:
        self.written: dict[str, int] = {}

    def write(self, key: str, snapshot: str) -> str:
        self.written[key] = len(snapshot.encode())
        return key


def _returning(value: Any) -> Callable[[Any], Any]:
    """A step body that returns ``value``."""
    return lambda _: value


def whole_history(turns: list[TurnContent], draft: dict[str, Any], sink: SnapshotSink) -> Handler:
    """A framework that checkpoints its whole state after each node: per turn, the model
    node and the tools node each persist the full conversation so far."""

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> int:
        history: list[Any] = []
        for index, (reply, outputs) in enumerate(turns):
            history.append(reply)
            _snapshot(context, sink, history, f"model-{index}")
            history.append(outputs)
            _snapshot(context, sink, history, f"tools-{index}")
        history.append(draft)
        _snapshot(context, sink, history, f"model-{len(turns)}")
        return len(turns)

    return handler


def _snapshot(context: DurableContext, sink: SnapshotSink, history: list[Any], name: str) -> None:
    snapshot = json.dumps(history)
    context.step(lambda _: sink.write(name, snapshot), name=name)


@dataclass(frozen=True)
class BareRun:
    seconds: float
    invocations: list[Invocation]
    operations: list[StoredOperation]


def run_bare(handler: Handler, box: CallbackBox | None = None) -> BareRun:
    """Run a bare handler to its end, answering its callbacks (if any) once it suspends."""
    timer = InvocationTimer(handler)
    with DurableFunctionTestRunner(handler=timer, poll_interval=0.01) as runner:
        stop = threading.Event()
        answer = threading.Thread(target=_answer, args=(runner, timer, box, stop), daemon=True)
        answer.start()
        started = time.perf_counter()
        arn = runner.run_async(input="{}", execution_timeout=900)
        outcome = runner.wait_for_result(arn, timeout=900)
        seconds = time.perf_counter() - started
        stop.set()
        answer.join()
        if outcome.result is None:
            raise RuntimeError(f"a bare run ended {outcome.status}: {outcome.error}")
        return BareRun(seconds, list(timer.invocations), stored_operations(runner, arn))


def _answer(
    runner: DurableFunctionTestRunner,
    timer: InvocationTimer,
    box: CallbackBox | None,
    stop: threading.Event,
) -> None:
    """Complete each callback once the execution has suspended on it (as a person would)."""
    while box is not None and not stop.is_set():
        try:
            callback_id = box.ids.get(timeout=0.01)
        except queue.Empty:
            continue
        while not timer.idle() and not stop.is_set():
            time.sleep(0.005)
        runner.send_callback_success(callback_id, b'"approve"')
