"""What running a turn's tool calls in parallel buys: three calls that each take a second.

One turn asks for three ``bench_slow_lookup`` calls (1 s each), then the draft is approved.
The same run with ``Settings.tool_concurrency`` (``AGENT_TOOL_CONCURRENCY``) 1 and 3; each is
timed from start to result, median of 3. ``parallel_speedup`` is sequential over parallel.
"""

from __future__ import annotations

import json
import statistics

from bench.harness import aws_stand_ins, fresh_table_and_bucket, log, quiet, run_to_end
from bench.results import merge_results
from bench.workload import (
    ScriptedModel,
    bench_deps,
    bench_handler,
    bench_settings,
    pause_calls,
    run_event,
)

REPEATS = 3


def run_seconds(concurrency: int) -> float:
    """Wall time of one run with that many tool calls at once."""
    table, bucket = fresh_table_and_bucket()
    settings = bench_settings(table, bucket, turns=1, tool_concurrency=concurrency)
    deps = bench_deps(settings, ScriptedModel(1, calls=pause_calls))
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    return finished.seconds


def main() -> None:
    with aws_stand_ins():
        log(f"parallel: {REPEATS} runs with 1 and with 3 tool calls at once")
        sequential = statistics.median(run_seconds(1) for _ in range(REPEATS))
        parallel = statistics.median(run_seconds(3) for _ in range(REPEATS))
    metrics = {
        "parallel_speedup": round(sequential / parallel, 2),
        "parallel_sequential_s": round(sequential, 2),
        "parallel_concurrent_s": round(parallel, 2),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
