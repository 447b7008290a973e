"""What one typical run costs: orchestration on AWS (durable functions, and the same run on
Step Functions) and Claude (with the project's prompt caching, without, and at caching's
ideal: every byte before the newest turn read from the cache).

The run: 5 model turns, 10 tool calls (one of which needs a reviewer) and the draft's review:
2 approvals, each waiting 6 hours. It runs under the in-process durable runner against a
fake Claude that speaks the Messages API over HTTP (so requests carry the agent's real
cache breakpoints), a fake Slack, dynalite and moto's S3; a reviewer approves through the
control plane. Its operations, checkpointed bytes, invocations (timed one by one), step
bodies, DynamoDB request units and S3 requests are measured; ``bench.cost_model`` prices
them and ``bench.prompt_cache`` bills the requests. Median of 3 runs.

Modelled rather than measured: the time each model step spends streaming from Claude
(``FIRST_TOKEN_SECONDS`` plus output tokens at ``OUTPUT_TOKENS_PER_SECOND``; the fake answers
at once) and the 6-hour waits (which only set cache expiry and retention).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from typing import Any

from agent.config import Secret
from agent.deps import AgentDeps
from bench import cost_model
from bench.harness import (
    Finished,
    StoredOperation,
    aws_stand_ins,
    counted_operations,
    fresh_table_and_bucket,
    log,
    quiet,
    run_to_end,
    timed_step_bodies,
)
from bench.metering import BucketMeter, TableMeter, bucket_bytes
from bench.prompt_cache import bill_run
from bench.results import load_results, merge_results
from bench.workload import (
    DRAFT,
    FETCH,
    NOTE,
    PUBLISH,
    Call,
    bench_deps,
    bench_handler,
    bench_settings,
)
from infra.settings import StackSettings
from tests.fakes.claude import FakeClaude, Reply
from tests.fakes.slack import FakeSlack

SCENARIO: list[list[Call]] = [
    [(FETCH, {"size": 2_000}), (FETCH, {"size": 20_000}), (PUBLISH, {"text": "status note"})],
    [(FETCH, {"size": 120_000}), (FETCH, {"size": 8_000}), (FETCH, {"size": 2_000})],
    [(FETCH, {"size": 20_000}), (FETCH, {"size": 8_000})],
    [(FETCH, {"size": 2_000}), (FETCH, {"size": 120_000})],
]  # then the draft
APPROVAL_WAIT_SECONDS = 6 * 3600
WAIT_BEFORE_REQUEST = {1: APPROVAL_WAIT_SECONDS}  # the publish call's approval, after turn 0
FIRST_TOKEN_SECONDS = 1.0  # assumption: time to the first streamed token
OUTPUT_TOKENS_PER_SECOND = 50.0  # assumption: streaming speed
SLACK_REQUESTS = 3  # /agent, then an Approve click on each of the 2 cards
REPEATS = 3
EVENT = {"task": "weekly status", "requester": "UALICE", "source": "slack", "channel": "CBENCH"}


def script(body: dict[str, Any]) -> Reply:
    """The scenario's model: each turn's tool calls, then the draft."""
    turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
    if turn >= len(SCENARIO):
        return Reply([{"type": "text", "text": DRAFT}])
    uses = [
        {"type": "tool_use", "id": f"toolu_{turn}_{i}", "name": name, "input": arguments}
        for i, (name, arguments) in enumerate(SCENARIO[turn])
    ]
    return Reply([{"type": "text", "text": NOTE}, *uses], stop_reason="tool_use")


def sfn_shape(operations: list[StoredOperation]) -> tuple[int, int]:
    """The run as a Step Functions state machine: (state transitions, Lambda task states).

    Each step is a Lambda task (an approval's submitter is part of its wait task, a
    ``.waitForTaskToken`` task), each map a Map state, a Choice after each model turn and
    one per tool call (does it need a reviewer?), and the end state."""
    steps = [op for op in operations if op.kind == "STEP"]
    tasks = sum(1 for op in steps if not op.name.endswith("submitter"))
    waits = sum(1 for op in operations if op.sub_type == "WaitForCallback")
    maps = sum(1 for op in operations if op.sub_type == "Map")
    turns = sum(1 for op in steps if op.name.startswith("llm-"))
    calls = sum(1 for op in steps if op.name.startswith("tool-"))
    return tasks + waits + maps + turns + calls + 1, tasks + waits


def request_times(usages: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """When each request is sent and how long it streams (seconds from the run's start)."""
    streams = [FIRST_TOKEN_SECONDS + u["output_tokens"] / OUTPUT_TOKENS_PER_SECOND for u in usages]
    times, now = [], 0.0
    for index, stream in enumerate(streams):
        now += WAIT_BEFORE_REQUEST.get(index, 0)
        times.append(now)
        now += stream
    return times, streams


def scenario_deps(slack: FakeSlack, claude: FakeClaude) -> AgentDeps:
    """The agent's clients as deployed, pointed at the stand-ins, in a fresh table and bucket."""
    table, bucket = fresh_table_and_bucket()
    settings = bench_settings(
        table,
        bucket,
        turns=len(SCENARIO),
        llm_provider="anthropic",
        anthropic_api_key=Secret(value="sk-bench"),
        anthropic_base_url=claude.base_url,
        slack_bot_token=Secret(value="xoxb-bench"),
        slack_api_url=slack.api_url,
    )
    return bench_deps(settings)


def one_run(slack: FakeSlack, claude: FakeClaude) -> dict[str, float]:
    """Run the scenario once; what it costs, by component."""
    deps = scenario_deps(slack, claude)
    table_meter = TableMeter().attach(deps.store.table.meta.client)
    bucket_meter = BucketMeter().attach(deps.blobs.s3)
    first_request = len(claude.requests)
    with quiet(), timed_step_bodies() as bodies:
        finished = run_to_end(bench_handler(deps), EVENT, deps.store)
    usages = list(finished.result["usage"]["turns"])
    usage = _run_usage(finished, usages, bodies, table_meter, bucket_meter)
    usage = replace(usage, s3_bytes=bucket_bytes(deps.blobs.s3, deps.settings.bucket))
    times, _ = request_times(usages)
    requests = list(zip(claude.requests[first_request:], usages, times, strict=True))
    bill = bill_run(deps.settings.model, requests)
    durable, sfn = cost_model.durable_costs(usage), cost_model.sfn_costs(usage)
    return {
        "orchestration_cost_per_run_usd": sum(durable.values()),
        "sfn_orchestration_cost_per_run_usd": sum(sfn.values()),
        "llm_cost_per_run_usd": bill.cached_usd,
        "llm_cost_uncached_usd": bill.uncached_usd,
        "llm_cost_ideal_usd": bill.ideal_usd,
        **{f"cost_durable_{k}_usd": v for k, v in durable.items()},
        **{f"cost_sfn_{k}_usd": v for k, v in sfn.items()},
        "cost_run_operations": usage.durable_operations,
        "cost_run_checkpoint_bytes": usage.checkpoint_bytes,
        "cost_run_state_transitions": usage.state_transitions,
        "cost_run_invocations": usage.agent_invocations,
        "cost_run_agent_seconds": usage.agent_seconds,
        "cost_run_stream_seconds": usage.stream_seconds,
    }


def _run_usage(
    finished: Finished,
    usages: list[dict[str, Any]],
    bodies: list[tuple[str, float]],
    table: TableMeter,
    bucket: BucketMeter,
) -> cost_model.RunUsage:
    operations = finished.operations
    times, streams = request_times(usages)
    transitions, tasks = sfn_shape(operations)
    ack_seconds = float(load_results().get("ack_warm_ms", 0.0)) / 1000
    stack = StackSettings()
    return cost_model.RunUsage(
        durable_operations=counted_operations(operations),
        checkpoint_bytes=sum(op.payload_bytes for op in operations),
        run_hours=(times[-1] + streams[-1] + APPROVAL_WAIT_SECONDS) / 3600,
        retention_days=stack.retention_days,
        agent_invocations=len(finished.invocations),
        agent_seconds=sum(i.seconds for i in finished.invocations),
        stream_seconds=sum(streams),
        task_states=tasks,
        task_seconds=sum(seconds for _, seconds in bodies),
        state_transitions=transitions,
        dynamodb_write_units=table.write_units,
        dynamodb_read_units=table.read_units,
        s3_puts=bucket.puts,
        s3_gets=bucket.gets,
        s3_bytes=0,
        blob_days=stack.blob_expiry_days,
        api_requests=SLACK_REQUESTS,
        slack_invocations=2 * SLACK_REQUESTS,  # each request acked, then a lazy listener
        slack_seconds=(SLACK_REQUESTS + 1) * ack_seconds + sum(finished.decide_seconds),
    )


def main() -> None:
    with aws_stand_ins(), FakeSlack() as slack, FakeClaude(script) as claude:
        log(f"cost: {REPEATS} runs of the 5-turn scenario")
        runs = [one_run(slack, claude) for _ in range(REPEATS)]
    metrics = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    metrics = {
        key: round(value, 8) if key.endswith("_usd") else round(value, 3)
        for key, value in metrics.items()
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
