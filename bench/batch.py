"""Five gated calls in one turn: one batch card against one card per call.

A turn asks for five calls a reviewer must approve, with ``AGENT_TOOL_CONCURRENCY=2``, under
the durable runner. A reviewer sees a card REACTION_SECONDS after it opens (reading it) and
clicks through the real control plane:

- batch card (runs started today): every gate opens at once; one click on "Approve all".
- one card per call (runs started before batch cards, turn shape 1): the gates hold the
  map's two slots, so the cards come two at a time, each approved on its own.

``batch_clicks`` / ``per_call_clicks`` and ``batch_wall_s`` / ``per_call_wall_s``: from the
first card to the last of the five tool results.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from agent import run_steps
from agent.approvals.decisions import Approve
from agent.control.runs import ControlPlane, Decided
from bench.harness import (
    REVIEWER,
    RunnerLambda,
    aws_stand_ins,
    fresh_table_and_bucket,
    log,
    quiet,
)
from bench.results import merge_results
from bench.workload import (
    PUBLISH,
    ScriptedModel,
    bench_deps,
    bench_handler,
    bench_settings,
    run_event,
)
from localdev.lambda_host import invoke_after_callback

CALLS = 5
REACTION_SECONDS = 0.5


class NudgingLambda(RunnerLambda):
    """The control plane's Lambda calls, with the one more invocation ``signoff dev`` makes
    after each callback (localdev.lambda_host.invoke_after_callback): without it the local
    runner leaves a batch's later decisions waiting for the next timer, and the figure would
    measure that, not the product."""

    def send_durable_execution_callback_success(self, CallbackId: str, Result: bytes) -> None:
        super().send_durable_execution_callback_success(CallbackId=CallbackId, Result=Result)
        invoke_after_callback(self.runner._executor, CallbackId, delay=0.05)


def five_publishes(turn: int) -> list[tuple[str, dict[str, Any]]]:
    return [(PUBLISH, {"text": f"note {i}"}) for i in range(CALLS)]


@contextmanager
def turn_shape(shape: int) -> Iterator[None]:
    """Runs started now take ``shape`` (1: as before batch cards)."""
    before = run_steps.TURN_SHAPE
    run_steps.TURN_SHAPE = shape
    try:
        yield
    finally:
        run_steps.TURN_SHAPE = before


def measure(batched: bool) -> dict[str, float]:
    table, bucket = fresh_table_and_bucket()
    settings = bench_settings(table, bucket, turns=1, approvers=(REVIEWER.id,), tool_concurrency=2)
    deps = bench_deps(settings, ScriptedModel(1, five_publishes))
    with (
        quiet(),
        turn_shape(2 if batched else 1),
        DurableFunctionTestRunner(handler=bench_handler(deps), skip_time=True) as runner,
    ):
        plane = ControlPlane(
            store=deps.store, lambda_client=NudgingLambda(runner), agent_function=""
        )
        arn = runner.run_async(input=json.dumps(run_event()), execution_timeout=600)
        clicks, first_card, done = 0, 0.0, threading.Event()
        decided: set[str] = set()
        while not done.is_set():
            open_tools = [
                r
                for r in deps.store.pending_approvals()
                if r.kind == "tool" and r.approval_id not in decided
            ]
            if open_tools:
                first_card = first_card or time.perf_counter()
                time.sleep(REACTION_SECONDS)
                if batched and len(open_tools) == CALLS:
                    outcomes = plane.decide_all(
                        open_tools[0].approval_id, Approve(decider=REVIEWER, at=_now())
                    )
                    decided |= {r.approval_id for r, o in outcomes if isinstance(o, Decided)}
                    clicks += 1
                elif not batched:
                    for record in open_tools:
                        outcome = plane.decide(
                            record.approval_id, Approve(decider=REVIEWER, at=_now())
                        )
                        decided.add(record.approval_id)
                        clicks += isinstance(outcome, Decided)
            if _tools_done(deps):
                finished = time.perf_counter()
                done.set()
            time.sleep(0.01)
        _approve_the_answer(deps, plane)
        runner.wait_for_result(arn, timeout=600)
    return {"clicks": clicks, "wall_s": round(finished - first_card, 2)}


def _tools_done(deps: Any) -> bool:
    """Every publish has its result: the run has moved on to its answer."""
    return any(r.kind == "draft" for r in deps.store.pending_approvals())


def _approve_the_answer(deps: Any, plane: ControlPlane) -> None:
    (answer,) = [r for r in deps.store.pending_approvals() if r.kind == "draft"]
    plane.decide(answer.approval_id, Approve(decider=REVIEWER, at=_now()))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def main() -> None:
    with aws_stand_ins():
        log(f"batch: {CALLS} gated calls, concurrency 2, a batch card against a card per call")
        batch = measure(batched=True)
        per_call = measure(batched=False)
    metrics = {
        "batch_clicks": batch["clicks"],
        "batch_wall_s": batch["wall_s"],
        "per_call_clicks": per_call["clicks"],
        "per_call_wall_s": per_call["wall_s"],
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
