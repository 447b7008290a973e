"""Durable operations one agent turn adds, counted from the runner's store.

A turn here is a model step and a map of three tool calls, one of which needs a reviewer
(so the turn holds one approval). Runs of 2 and 4 such turns are counted operation by
operation in the runner's store (the execution itself left out); the difference over the
two extra turns is ``operations_per_turn``. AWS caps one durable execution at 3,000
operations, so ``max_turns_under_limit`` is 3,000 over that.
"""

from __future__ import annotations

import json
from collections import Counter

from bench.harness import (
    aws_stand_ins,
    counted_operations,
    fresh_table_and_bucket,
    log,
    quiet,
    run_to_end,
)
from bench.results import merge_results
from bench.workload import (
    ScriptedModel,
    bench_deps,
    bench_handler,
    bench_settings,
    gated_calls,
    run_event,
)

# Lambda durable functions quota: operations per durable execution (a documented constant).
AWS_OPERATION_CAP = 3000
SHORT, LONG = 2, 4


def operations(turns: int) -> tuple[int, Counter[str]]:
    """Operations of a run of ``turns`` gated turns, and how many of each kind."""
    table, bucket = fresh_table_and_bucket()
    deps = bench_deps(bench_settings(table, bucket, turns=turns), ScriptedModel(turns, gated_calls))
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    stored = finished.operations
    kinds = Counter(op.sub_type or op.kind for op in stored if op.kind != "EXECUTION")
    return counted_operations(stored), kinds


def main() -> None:
    with aws_stand_ins():
        log(f"operations: runs of {SHORT} and {LONG} turns, one approval per turn")
        short, short_kinds = operations(SHORT)
        long, long_kinds = operations(LONG)
    per_turn = (long - short) / (LONG - SHORT)
    per_turn_kinds = {k: (long_kinds[k] - short_kinds[k]) / (LONG - SHORT) for k in long_kinds}
    log(f"operations: one turn adds {per_turn_kinds}")
    metrics = {
        "operations_per_turn": per_turn,
        "max_turns_under_limit": int(AWS_OPERATION_CAP // per_turn),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
