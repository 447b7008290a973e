"""How long the invocation that resumes a run after an approval takes, by history length.

A run of N turns (each a model step and a map of 3 tool calls) drafts its answer and waits
for review; a reviewer approves through the control plane. ``resume_ms_N`` is the duration
of the Lambda invocation that starts after that callback (it replays the N turns from their
checkpoints, then settles the gate, delivers and finishes), timed by wrapping the handler
the runner invokes. ``resume_floor_ms_N`` is the same invocation of a bare handler with the
same operations (``bench.bare.agent_shaped``) in the same process, so ``resume_ratio_N`` is
what the agent adds over the SDK's own replay of that many operations.
"""

from __future__ import annotations

import json
import statistics

from bench.bare import CallbackBox, agent_shaped, run_bare
from bench.harness import (
    Invocation,
    aws_stand_ins,
    counted_operations,
    fresh_table_and_bucket,
    log,
    quiet,
    run_to_end,
)
from bench.results import merge_results
from bench.workload import ScriptedModel, bench_deps, bench_handler, bench_settings, run_event

REPEATS = {10: 5, 50: 5, 200: 3}


def agent_resume(turns: int) -> tuple[float, int]:
    """Seconds of the resuming invocation of one agent run, and the run's operations."""
    table, bucket = fresh_table_and_bucket()
    deps = bench_deps(bench_settings(table, bucket, turns=turns), ScriptedModel(turns))
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    operations = counted_operations(finished.operations)
    return resuming(finished.invocations, finished.callbacks_sent[-1]).seconds, operations


def floor_resume(turns: int) -> tuple[float, int]:
    """The same for the bare handler with the same operations."""
    box = CallbackBox()
    bare = run_bare(agent_shaped(turns, box), box)
    return bare.invocations[-1].seconds, counted_operations(bare.operations)


def resuming(invocations: list[Invocation], callback_sent: float) -> Invocation:
    """The first invocation that started once the approval's callback was sent."""
    return next(i for i in invocations if i.started >= callback_sent)


def main() -> None:
    metrics: dict[str, float] = {}
    with aws_stand_ins():
        for turns, repeats in REPEATS.items():
            log(f"resume: {repeats} agent runs and {repeats} floors of {turns} turns")
            agent = [agent_resume(turns) for _ in range(repeats)]
            floor = [floor_resume(turns) for _ in range(repeats)]
            if agent[0][1] != floor[0][1]:
                log(f"resume: floor has {floor[0][1]} operations, the agent {agent[0][1]}")
            ms = statistics.median(seconds for seconds, _ in agent) * 1000
            floor_ms = statistics.median(seconds for seconds, _ in floor) * 1000
            metrics[f"resume_ms_{turns}"] = round(ms, 1)
            metrics[f"resume_floor_ms_{turns}"] = round(floor_ms, 1)
            metrics[f"resume_ratio_{turns}"] = round(ms / floor_ms, 2)
            metrics[f"resume_operations_{turns}"] = agent[0][1]
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
