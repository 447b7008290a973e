"""Per-turn cost of the agent loop under the in-process durable runner (zero-latency model).

- ``turn_overhead_ms``: wall time per turn of a 10-turn run (each turn one model step and a
  map of 3 tool calls; then the draft, approved), median of 3 runs; ``turn_floor_ms``: the
  same for a bare handler with the same durable operations (``bench.bare.agent_shaped``,
  its count checked against the agent's, from the runner's store), measured in the same
  process; ``turn_overhead_ratio``: the first over the second.
- ``checkpoint_bytes_per_turn_10`` / ``_50``: checkpointed bytes of a 10- and a 50-turn run
  over their turns; ``max_operation_bytes``: the largest single operation's checkpoint.
- ``cache_prefix_ratio``: over the 10-turn run, the mean share of each request's input that
  the next request reads back from the cache (``bench.prompt_cache.cache_read_share``; 1.0
  when every request reads all of the previous one and only its newest turn is new).

``python -m bench.agent_turns``; results are merged into ``bench/results.json``.
"""

from __future__ import annotations

import itertools
import json
import statistics
from typing import Any

from agent.model.request import ModelRequest
from bench.bare import CallbackBox, agent_shaped, run_bare
from bench.harness import (
    aws_stand_ins,
    counted_operations,
    fresh_table_and_bucket,
    log,
    quiet,
    run_to_end,
)
from bench.prompt_cache import cache_read_share
from bench.results import merge_results
from bench.workload import ScriptedModel, bench_deps, bench_handler, bench_settings, run_event

TURNS = 10
LONG_TURNS = 50
REPEATS = 3


def agent_run(turns: int) -> dict[str, Any]:
    """One run of ``turns`` turns: its time, operations and checkpointed bytes."""
    table, bucket = fresh_table_and_bucket()
    model = ScriptedModel(turns)
    deps = bench_deps(bench_settings(table, bucket, turns=turns), model)
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    operations = finished.operations
    sizes = [op.payload_bytes for op in operations]
    return {
        "seconds": finished.seconds,
        "operations": counted_operations(operations),
        "bytes": sum(sizes),
        "max_op": max(sizes),
        "requests": model.requests,
    }


def floor_run(turns: int) -> dict[str, Any]:
    """The bare handler with the same operations: its time and operation count."""
    box = CallbackBox()
    bare = run_bare(agent_shaped(turns, box), box)
    return {"seconds": bare.seconds, "operations": counted_operations(bare.operations)}


def request_body(request: ModelRequest) -> dict[str, Any]:
    """The parts of the Messages API body the cache reads."""
    return {"tools": request.tools, "system": request.system, "messages": request.messages}


def main() -> None:
    with aws_stand_ins():
        log(f"agent_turns: {REPEATS} runs of {TURNS} turns, agent and floor")
        runs = [agent_run(TURNS) for _ in range(REPEATS)]
        floors = [floor_run(TURNS) for _ in range(REPEATS)]
        log(f"agent_turns: one run of {LONG_TURNS} turns")
        long_run = agent_run(LONG_TURNS)
    if runs[0]["operations"] != floors[0]["operations"]:
        log(
            f"agent_turns: the floor has {floors[0]['operations']} operations, "
            f"the agent {runs[0]['operations']}: bench.bare.agent_shaped needs updating"
        )
    per_turn = statistics.median(r["seconds"] for r in runs) / TURNS
    floor_per_turn = statistics.median(f["seconds"] for f in floors) / TURNS
    bodies = [request_body(request) for request in runs[0]["requests"]]
    shares = [cache_read_share(a, b) for a, b in itertools.pairwise(bodies)]
    metrics = {
        "turn_overhead_ms": round(per_turn * 1000, 1),
        "turn_floor_ms": round(floor_per_turn * 1000, 1),
        "turn_overhead_ratio": round(per_turn / floor_per_turn, 2),
        "operations_10_turns": runs[0]["operations"],
        "floor_operations_10_turns": floors[0]["operations"],
        "checkpoint_bytes_per_turn_10": round(statistics.median(r["bytes"] for r in runs) / TURNS),
        "checkpoint_bytes_per_turn_50": round(long_run["bytes"] / LONG_TURNS),
        "max_operation_bytes": max(long_run["max_op"], *(r["max_op"] for r in runs)),
        "cache_prefix_ratio": round(statistics.mean(shares), 3),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
