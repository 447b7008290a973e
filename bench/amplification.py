"""Bytes a run persists for each byte of content it handles, against three other designs.

The content is the agent's 10-turn workload (``bench.workload``): each turn a model reply
and three tool outputs (2 KB, 20 KB, and 120 KB or 8 KB), then the draft. Raw content is
the replies as Claude sent them plus the tool outputs, in bytes.

- ``checkpoint_amplification``: the agent's 10-turn run: checkpointed payload bytes (the
  runner's store), plus S3 objects (large outputs), plus DynamoDB bytes written (the run's
  and the approvals' records, each write's item counted whole, as DynamoDB stores it), over
  the raw content.
- ``amplification_nested_map``, ``amplification_flat_map``: bare handlers that keep the
  same content in checkpoints: the reply in a step, the outputs in the SDK's default
  (NESTED) map or a FLAT one.
- ``amplification_whole_history_10`` / ``_50``: a bare handler that persists the whole
  conversation after the model step and after the tools step of every turn (to a store of
  its own: a snapshot outgrows a 256 KB checkpoint by turn 3); the bytes it writes in turn
  N over the mean raw content of a turn. ``amplification_whole_history_run``: the same
  design over the whole 10-turn run, as the agent's figure is taken.

Byte counts are deterministic (the same content gives the same bytes), so one run each.
"""

from __future__ import annotations

import json
from typing import Any

from bench.bare import SnapshotSink, TurnContent, flat_map, nested_map, run_bare, whole_history
from bench.harness import (
    aws_stand_ins,
    fresh_table_and_bucket,
    log,
    quiet,
    run_to_end,
)
from bench.metering import BucketMeter, TableMeter, bucket_bytes
from bench.results import merge_results
from bench.workload import (
    ScriptedModel,
    bench_deps,
    bench_handler,
    bench_settings,
    draft_reply,
    fetch_calls,
    raw_content_bytes,
    run_event,
    turn_outputs,
    turn_reply,
)

TURNS = 10
LONG_TURNS = 50


def content(turns: int) -> list[TurnContent]:
    """The workload's turns: each reply with its tool outputs."""
    return [(turn_reply(turn, fetch_calls(turn)), turn_outputs(turn)) for turn in range(turns)]


def raw_bytes(turns: list[TurnContent], draft: dict[str, Any]) -> int:
    """The content's own bytes: every reply and every tool output."""
    replies = sum(raw_content_bytes(reply["content"], outputs) for reply, outputs in turns)
    return replies + raw_content_bytes(draft["content"], [])


def agent_persisted(turns: int) -> dict[str, int]:
    """Bytes the agent's run writes: checkpoints, S3 objects, DynamoDB items."""
    table, bucket = fresh_table_and_bucket()
    deps = bench_deps(bench_settings(table, bucket, turns=turns), ScriptedModel(turns))
    table_meter = TableMeter().attach(deps.store.table.meta.client)
    BucketMeter().attach(deps.blobs.s3)
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    checkpoints = sum(op.payload_bytes for op in finished.operations)
    return {
        "checkpoints": checkpoints,
        "s3": bucket_bytes(deps.blobs.s3, bucket),
        "dynamodb": table_meter.bytes_written,
    }


def whole_history_ratios(turns: list[TurnContent], draft: dict[str, Any]) -> tuple[float, float]:
    """The whole-history design: bytes it writes over the whole run, over the raw content;
    and bytes it writes in the last tool turn, over the mean raw content of a turn."""
    sink = SnapshotSink()
    run = run_bare(whole_history(turns, draft, sink))
    raw = raw_bytes(turns, draft)
    total = sum(op.payload_bytes for op in run.operations) + sum(sink.written.values())
    last = len(turns) - 1
    in_last_turn = sink.written[f"model-{last}"] + sink.written[f"tools-{last}"]
    return total / raw, in_last_turn / (raw / (len(turns) + 1))


def total_ratio(handler: Any, raw: int) -> float:
    """Checkpointed bytes of a bare run over the raw content."""
    return sum(op.payload_bytes for op in run_bare(handler).operations) / raw


def main() -> None:
    turns, draft = content(TURNS), draft_reply()
    raw = raw_bytes(turns, draft)
    with aws_stand_ins():
        log(f"amplification: the agent's {TURNS}-turn run")
        ours = agent_persisted(TURNS)
    log("amplification: nested map, flat map, whole history (10 and 50 turns)")
    history_run, history_10 = whole_history_ratios(turns, draft)
    _, history_50 = whole_history_ratios(content(LONG_TURNS), draft)
    metrics: dict[str, float] = {
        "checkpoint_amplification": round(sum(ours.values()) / raw, 2),
        "amplification_checkpoints_only": round(ours["checkpoints"] / raw, 2),
        "amplification_raw_bytes_per_turn": round(raw / TURNS),
        "amplification_s3_bytes_per_turn": round(ours["s3"] / TURNS),
        "amplification_dynamodb_bytes_per_turn": round(ours["dynamodb"] / TURNS),
        "amplification_nested_map": round(total_ratio(nested_map(turns, draft), raw), 2),
        "amplification_flat_map": round(total_ratio(flat_map(turns, draft), raw), 2),
        "amplification_whole_history_run": round(history_run, 2),
        "amplification_whole_history_10": round(history_10, 1),
        "amplification_whole_history_50": round(history_50, 1),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
