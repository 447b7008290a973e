"""What waiting on a long-running job costs: one tool call polled 50 times.

The agent's turn calls ``bench_report``, a polled job that finishes on its 50th check (with
the skip-time runner the planned hours between checks pass at once, so what is timed is the
work of the 50 checks and the invocations around them). The floor is the SDK alone: a bare
handler whose ``wait_for_condition`` finishes on its 50th check, timed in the same process.
Each check is its own invocation, as it would be in Lambda, so both are bounded below by the
SDK's fixed cost per invocation (its checkpoint thread stops on a 0.1 s poll).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy
from aws_durable_execution_sdk_python.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from pydantic import BaseModel

from agent.tools import ToolRegistry
from agent.tools.context import ToolContext
from agent.tools.jobs import Done, JobHandle, JobStatus, Pending, Polling
from bench.harness import aws_stand_ins, fresh_table_and_bucket, log, quiet, run_to_end
from bench.results import merge_results
from bench.workload import ScriptedModel, bench_deps, bench_handler, bench_settings, run_event

CHECKS = 50
REPEATS = 3
JOB = "bench_report"
INITIAL_DELAY = Duration.from_seconds(60)


class ReportArgs(BaseModel):
    name: str


class CountedChecks:
    """Pending until the ``CHECKS``-th check of each job."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, ctx: ToolContext, handle: JobHandle) -> JobStatus:
        with self._lock:
            self.seen[handle["name"]] += 1
            count = self.seen[handle["name"]]
        return Done({"checks": count}) if count >= CHECKS else Pending(f"{count} checks")


def with_report_job(registry: ToolRegistry, checks: CountedChecks) -> ToolRegistry:
    @registry.tool(
        args=ReportArgs,
        name=JOB,
        completion=Polling(check=checks, initial_delay_seconds=60, max_attempts=CHECKS + 10),
    )
    def report(ctx: ToolContext, args: ReportArgs) -> JobHandle:
        """Build a report (it takes a while)."""
        return {"name": args.name}

    return registry


def agent_seconds() -> float:
    """One turn calling the job, until the run's result (the draft approved)."""
    table, bucket = fresh_table_and_bucket()
    checks = CountedChecks()
    deps = bench_deps(
        bench_settings(table, bucket, turns=1),
        ScriptedModel(1, calls=lambda turn: [(JOB, {"name": f"r{turn}"})]),
    )
    with_report_job(deps.tools, checks)
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    assert checks.seen == {"r0": CHECKS}, checks.seen
    return finished.seconds


@durable_execution
def bare_poll(event: dict[str, Any], context: DurableContext) -> int:
    """The SDK alone: a condition met on the ``CHECKS``-th check, same backoff."""
    strategy: Callable[[int, int], WaitForConditionDecision] = create_wait_strategy(
        WaitStrategyConfig(
            should_continue_polling=lambda count: count < CHECKS,
            max_attempts=CHECKS + 10,
            initial_delay=INITIAL_DELAY,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    config = WaitForConditionConfig(wait_strategy=strategy, initial_state=0)
    result: int = context.wait_for_condition(lambda count, _: count + 1, config, name="poll")
    return result


def floor_seconds() -> float:
    with DurableFunctionTestRunner(handler=bare_poll, poll_interval=0.01) as runner:
        started = time.perf_counter()
        result = runner.run(input="{}", execution_timeout=600)
        elapsed = time.perf_counter() - started
    assert json.loads(result.result or "0") == CHECKS, result.error
    return elapsed


def main() -> None:
    with aws_stand_ins():
        log(f"jobs: a tool call polled {CHECKS} times, {REPEATS} runs, and the SDK's floor")
        agent = statistics.median(agent_seconds() for _ in range(REPEATS))
        floor = statistics.median(floor_seconds() for _ in range(REPEATS))
    metrics = {
        "job_poll_50_ms": round(agent * 1000, 1),
        "job_poll_50_floor_ms": round(floor * 1000, 1),
        "job_poll_50_ratio": round(agent / floor, 2),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
