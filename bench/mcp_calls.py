"""What an MCP tool call adds over a native tool call in the same run.

One run of 20 turns; each turn calls the demo MCP server's read-only ``list_tickets``
(``localdev.demo_mcp``, the ``mcp`` package's server on loopback over Streamable HTTP, through
the agent's real client) and ``bench_tickets``, a native tool returning the same text, one
after the other (tool concurrency 1, so neither waits on the other). Each call's tool body is
timed where the two differ (the MCP client's ``call_tool`` around a connection, the protocol
handshake and the request; the native function); the step around it, its checkpoint and the
turn are the same for both. ``mcp_added_ms`` is the median MCP call less the median native
call; ``mcp_listing_ms`` is the run's one ``tools/list`` (the ``mcp-tools`` step's body).
"""

from __future__ import annotations

import json
import logging
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mcp.types import CallToolResult
from pydantic import BaseModel

from agent.tools import ToolRegistry
from agent.tools.context import ToolContext
from agent.tools.mcp.client import McpConnector
from agent.tools.mcp.config import McpServer
from bench.harness import aws_stand_ins, fresh_table_and_bucket, log, quiet, run_to_end
from bench.results import merge_results
from bench.workload import ScriptedModel, bench_deps, bench_handler, bench_settings, run_event
from localdev.demo_mcp import DEMO_TOKEN_VARIABLE, DemoMcp
from localdev.dynalite import free_port

TURNS = 20
NATIVE = "bench_tickets"
MCP_TOOL = "mcp__demo__list_tickets"
TICKETS = "2 open tickets: T-1 printer on fire; T-2 coffee machine empty"


class Status(BaseModel):
    status: str = "open"


@dataclass
class TimedConnector(McpConnector):
    """The agent's MCP client, timing each listing and call it makes."""

    listings: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)

    def list_tools(self, server: McpServer) -> list[dict[str, Any]]:
        started = time.perf_counter()
        try:
            return super().list_tools(server)
        finally:
            self.listings.append(time.perf_counter() - started)

    def call_tool(
        self, server: McpServer, tool: str, arguments: dict[str, Any], *, idempotency_key: str
    ) -> CallToolResult:
        started = time.perf_counter()
        try:
            return super().call_tool(server, tool, arguments, idempotency_key=idempotency_key)
        finally:
            self.calls.append(time.perf_counter() - started)


def with_native_tickets(registry: ToolRegistry, timings: list[float]) -> ToolRegistry:
    @registry.tool(args=Status, name=NATIVE)
    def tickets(ctx: ToolContext, args: Status) -> str:
        """List the tickets with a status (a native tool, for comparison)."""
        started = time.perf_counter()
        text = TICKETS.replace("open", args.status)
        timings.append(time.perf_counter() - started)
        return text

    return registry


def both(turn: int) -> list[tuple[str, dict[str, Any]]]:
    return [(MCP_TOOL, {"status": "open"}), (NATIVE, {"status": "open"})]


def measure(policy: Path, token: str) -> tuple[TimedConnector, list[float]]:
    table, bucket = fresh_table_and_bucket()
    settings = bench_settings(
        table,
        bucket,
        turns=TURNS,
        tool_concurrency=1,
        policy_path=str(policy),
        variables={DEMO_TOKEN_VARIABLE: token},
    )
    deps = bench_deps(settings, ScriptedModel(TURNS, calls=both))
    assert deps.mcp is not None, "the policy file names the demo server"
    connector = TimedConnector(deps.mcp.servers)
    native: list[float] = []
    with_native_tickets(deps.tools, native)
    deps = replace(deps, mcp=connector)
    with quiet():
        finished = run_to_end(bench_handler(deps), run_event(), deps.store)
    assert finished.result["status"] == "delivered", finished.result
    assert len(connector.calls) == len(native) == TURNS, (len(connector.calls), len(native))
    return connector, native


def main() -> None:
    token = secrets.token_urlsafe(16)
    demo = DemoMcp(free_port(), token).start()
    # The mcp package sets the root logger to INFO on a server's creation: every request of
    # the run would print.
    logging.getLogger().setLevel(logging.WARNING)
    try:
        with tempfile.TemporaryDirectory() as directory, aws_stand_ins():
            policy = demo.write_policy(Path(directory) / "signoff.toml")
            log(f"mcp: {TURNS} turns, each an MCP call and a native call, in one run")
            connector, native = measure(policy, token)
    finally:
        demo.stop()
    mcp_ms = statistics.median(connector.calls) * 1000
    native_ms = statistics.median(native) * 1000
    metrics = {
        "mcp_call_ms": round(mcp_ms, 2),
        "mcp_native_call_ms": round(native_ms, 3),
        "mcp_added_ms": round(mcp_ms - native_ms, 2),
        "mcp_listing_ms": round(connector.listings[0] * 1000, 2),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
