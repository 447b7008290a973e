"""Record the durable histories the replay tests replay: ``make record-histories``.

Not collected by ``make test`` (its name does not start with ``test_``). Run it only when a
change alters the durable path on purpose, and ship that change as a new version (README,
"Runs in flight and replay tests"). Each scenario of ``tests/replay/scenarios.py`` is run
against the fakes and saved twice: suspended where it waits, and finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.mcp_server import TOKEN, TestMcpServer
from tests.replay.histories import History
from tests.replay.scenarios import (
    MCP_TOKEN_VARIABLE,
    SCENARIOS,
    Scenario,
    mcp_policy,
    replay_registry,
)
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import AgentHarness

WAITING = {"STARTED", "PENDING", "READY"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def record(make_harness: HarnessFactory, scenario: Scenario, tmp_path: Path) -> None:
    with _servers(scenario, tmp_path) as settings:
        if scenario.clock_wait:  # a durable wait on the clock: seen waiting only in real time
            waiting = make_harness(
                scenario.script, tools=replay_registry(), skip_time=False, **settings
            )
            _save_suspended(waiting, waiting.start(scenario.task), scenario)
            harness = make_harness(scenario.script, tools=replay_registry(), **settings)
            arn = harness.start(scenario.task)
        else:
            harness = make_harness(scenario.script, tools=replay_registry(), **settings)
            arn = harness.start(scenario.task)
            _save_suspended(harness, arn, scenario)
        scenario.play(harness, arn)
    result = harness.result(arn)
    assert result.status.value == "SUCCEEDED", f"{scenario.name} ended {result.status}"
    History(
        scenario=scenario.name,
        state="finished",
        execution_arn=arn,
        operations=_operations(harness, arn),
        result=result.result,
    ).save()


@contextmanager
def _servers(scenario: Scenario, directory: Path) -> Iterator[dict[str, Any]]:
    """The scenario's settings, with the test MCP server running when it uses one."""
    if not scenario.mcp:
        yield scenario.settings
        return
    server = TestMcpServer().start()
    try:
        yield {
            **scenario.settings,
            "policy_path": mcp_policy(directory, server.url),
            "variables": {MCP_TOKEN_VARIABLE: TOKEN},
        }
    finally:
        server.stop()


def _save_suspended(harness: AgentHarness, arn: str, scenario: Scenario) -> None:
    History(
        scenario=scenario.name,
        state="suspended",
        execution_arn=arn,
        operations=_settled_operations(harness, arn, scenario.waits_at),
        waits_at=scenario.waits_at,
    ).save()


def _operations(harness: AgentHarness, arn: str) -> tuple[dict, ...]:
    execution = harness.runner._store.load(arn)  # the runner has no public accessor
    return tuple(json.loads(json.dumps(op.to_json_dict())) for op in execution.operations)


def _settled_operations(harness: AgentHarness, arn: str, waits_at: str) -> tuple[dict, ...]:
    """The operations once the run waits at ``waits_at`` and its invocation has ended."""
    deadline = time.monotonic() + 30
    last: tuple[dict, ...] = ()
    steady_since = time.monotonic()
    while time.monotonic() < deadline:
        now = _operations(harness, arn)
        if now != last:
            last, steady_since = now, time.monotonic()
        waiting = any(op.get("Name") == waits_at and op["Status"] in WAITING for op in now)
        if waiting and time.monotonic() - steady_since > 0.5:
            return now
        time.sleep(0.05)
    raise AssertionError(f"the run never settled waiting at {waits_at!r}")
