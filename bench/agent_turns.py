"""Per-turn cost of the agent loop under the in-process durable runner (zero-latency fakes).

Measures, for runs of N turns (each: one model step and a map of 3 tool calls, realistic tool
outputs with some over 100 KB, then a draft approved at the end):
- ``turn_overhead_ms``: wall time per turn, and its ratio to the SDK's bare floor (a handler
  doing the same operations with no work inside) measured in the same process;
- ``checkpoint_bytes_per_turn_N`` and ``max_operation_bytes``: bytes the run checkpointed;
- ``cache_prefix_ratio``: over the 10-turn run, the mean share of each request's input (turn 2
  on) that repeats, byte for byte, the previous request up to one of its cache breakpoints.

Run with ``make bench`` (``python -m bench.agent_turns`` from the repo root); results are
merged into ``bench/results.json``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import statistics
import threading
import time
import uuid
from typing import Any

import boto3
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import MapConfig, NestingType
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from pydantic import BaseModel

from agent.approvals import approval_id_for
from agent.caching import strip_breakpoints
from agent.config import Settings
from agent.deps import AgentDeps
from agent.handler import build_handler
from agent.llm import ModelRequest
from agent.store import Store, create_table
from agent.tools import default_registry
from bench.results import merge_results
from tests.fakes.aws import Dynalite, MotoS3

TOOLS_PER_TURN = 3


class Query(BaseModel):
    size: int


class ScriptedModel:
    """Three tool calls per turn for ``turns`` turns, then a draft. No latency."""

    name = "bench"

    def __init__(self, turns: int) -> None:
        self.turns = turns
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> dict[str, Any]:
        self.requests.append(request)
        turn = sum(1 for m in request.messages if m["role"] == "assistant")
        usage = {
            "input_tokens": 1000,
            "output_tokens": 200,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        if turn >= self.turns:
            content = [{"type": "text", "text": "Final answer. " * 40}]
            return {"model": "bench", "stop_reason": "end_turn", "content": content, "usage": usage}
        sizes = [2_000, 20_000, 120_000 if turn % 2 else 8_000]
        calls = [
            {"type": "tool_use", "id": f"t{turn}_{i}", "name": "fetch", "input": {"size": size}}
            for i, size in enumerate(sizes)
        ]
        text = [{"type": "text", "text": "Looking this up. " * 20}]
        return {
            "model": "bench",
            "stop_reason": "tool_use",
            "content": text + calls,
            "usage": usage,
        }


def build_deps(turns: int, table: str, bucket: str) -> AgentDeps:
    registry = default_registry()

    @registry.tool(args=Query)
    def fetch(ctx: Any, args: Query) -> str:
        """Fetch a document of the given size."""
        return ("log line: service healthy, latency 42ms\n" * (args.size // 40 + 1))[: args.size]

    settings = Settings(
        llm_provider="offline",
        table_name=table,
        bucket=bucket,
        max_turns=turns + 2,
        approval_timeout_seconds=600,
    )
    deps = AgentDeps.from_settings(settings, tools=registry)
    return AgentDeps(
        settings=settings,
        model=ScriptedModel(turns),
        tools=registry,
        store=deps.store,
        blobs=deps.blobs,
        slack=None,
    )


def approve_when_asked(
    store: Store, runner: DurableFunctionTestRunner, arn: str, gate: str
) -> None:
    approval_id = approval_id_for(arn, gate)
    while (callback_id := store.get_callback_id(approval_id)) is None:
        time.sleep(0.01)
    decision = {"decision": "approve", "decider": {"id": "UBENCH", "name": "bench"}, "at": "now"}
    runner.send_callback_success(callback_id, json.dumps(decision).encode())


def checkpoint_bytes(runner: DurableFunctionTestRunner, arn: str) -> list[int]:
    execution = runner._store.load(arn)  # the runner has no public accessor for payloads
    sizes = []
    for op in execution.operations:
        for details in (op.step_details, op.context_details, op.callback_details):
            if details is not None and details.result:
                sizes.append(len(details.result.encode()))
    return sizes


def agent_run(turns: int) -> dict[str, float]:
    table, bucket = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    create_table(boto3.client("dynamodb"), table)
    boto3.client("s3").create_bucket(Bucket=bucket)
    deps = build_deps(turns, table, bucket)
    event = json.dumps({"task": "bench", "requester": "UBENCH", "source": "api"})
    with DurableFunctionTestRunner(
        handler=build_handler(lambda: deps), poll_interval=0.01
    ) as runner:
        started = time.perf_counter()
        arn = runner.run_async(input=event, execution_timeout=600)
        approver = threading.Thread(
            target=approve_when_asked, args=(deps.store, runner, arn, f"review-{turns}")
        )
        approver.start()
        result = runner.wait_for_result(arn, timeout=600)
        elapsed = time.perf_counter() - started
        approver.join()
        assert json.loads(result.result or "{}")["status"] == "delivered", result.error
        sizes = checkpoint_bytes(runner, arn)
    requests = deps.model.requests  # type: ignore[attr-defined]
    shares = [cached_prefix_share(a, b) for a, b in itertools.pairwise(requests)]
    return {
        "seconds": elapsed,
        "bytes": sum(sizes),
        "max_op": max(sizes),
        "ops": len(sizes),
        "cache_prefix": statistics.mean(shares),
    }


def _blocks(request: ModelRequest) -> list[Any]:
    """The request's input in the order the API caches it: tools, system, message blocks."""
    blocks: list[Any] = [*request.tools, *request.system]
    for message in request.messages:
        blocks += [{"role": message["role"], **block} for block in message["content"]]
    return blocks


def cached_prefix_share(before: ModelRequest, after: ModelRequest) -> float:
    """Bytes of ``after`` inside the longest prefix it shares with ``before`` that ends at one
    of ``before``'s breakpoints, over all of ``after``'s input bytes."""
    old, new = _blocks(before), _blocks(after)
    sizes = [len(json.dumps(strip_breakpoints(b), sort_keys=True)) for b in new]
    cached = 0
    for index, (was, now) in enumerate(zip(old, new, strict=False)):
        if strip_breakpoints(was) != strip_breakpoints(now):
            break
        if "cache_control" in was:
            cached = index + 1
    return sum(sizes[:cached]) / sum(sizes)


def bare_floor(turns: int) -> float:
    """The SDK alone: the same operations per turn with nothing inside them."""

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> int:
        for turn in range(turns):
            context.step(lambda _: {"ok": True}, name=f"llm-{turn}")
            context.map(
                [0, 1, 2],
                lambda ctx, item, index, _: ctx.step(lambda _: item, name=f"t-{index}"),
                name=f"tools-{turn}",
                config=MapConfig(max_concurrency=4, nesting_type=NestingType.FLAT),
            )
        return turns

    with DurableFunctionTestRunner(handler=handler, poll_interval=0.01) as runner:
        started = time.perf_counter()
        runner.run(input="{}", execution_timeout=600)
        return time.perf_counter() - started


def main() -> None:
    dynalite, s3 = Dynalite(), MotoS3()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
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
        metrics: dict[str, float] = {}
        for turns in (10, 50):
            runs = [agent_run(turns) for _ in range(3)]
            floors = [bare_floor(turns) for _ in range(3)]
            per_turn = statistics.median(r["seconds"] for r in runs) / turns
            floor_per_turn = statistics.median(floors) / turns
            metrics[f"turn_overhead_ms_{turns}"] = round(per_turn * 1000, 1)
            metrics[f"turn_floor_ms_{turns}"] = round(floor_per_turn * 1000, 1)
            metrics[f"checkpoint_bytes_per_turn_{turns}"] = round(runs[0]["bytes"] / turns)
            metrics[f"operations_{turns}_turns"] = runs[0]["ops"]
            metrics["max_operation_bytes"] = max(
                metrics.get("max_operation_bytes", 0), runs[0]["max_op"]
            )
            if turns == 10:
                metrics["cache_prefix_ratio"] = round(runs[0]["cache_prefix"], 3)
        metrics["turn_overhead_ms"] = metrics["turn_overhead_ms_10"]
        metrics["turn_overhead_ratio"] = round(
            metrics["turn_overhead_ms_10"] / metrics["turn_floor_ms_10"], 2
        )
    finally:
        dynalite.stop()
        s3.stop()
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
