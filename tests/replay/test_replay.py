"""Runs in flight survive a deploy: every recorded history replays on today's handler.

A run may wait days on a card while new code ships; when it resumes, the SDK replays its
history on the code that is deployed then. These tests replay histories recorded from earlier
code (``tests/replay/histories/``) and fail, naming the first operation that differs, when a
change renames, reorders or inserts a durable operation. Recording new ones: README, "Runs in
flight and replay tests".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from agent.config import Secret, Settings
from agent.deps import AgentDeps
from agent.handler import build_handler
from tests.replay.histories import History, divergence, recorded, replay
from tests.replay.scenarios import (
    MCP_TOKEN_VARIABLE,
    PUBLIC_URL,
    SCENARIOS,
    mcp_policy,
    replay_registry,
)
from tests.scenarios.harness import APPROVER

HISTORIES = recorded()
# Nothing listens here: a replay that reached for Slack, Claude or the table would fail loudly.
NOWHERE = "http://127.0.0.1:9"


def _handler(**overrides: Any) -> Callable[..., Any]:
    settings = Settings(
        llm_provider="anthropic",
        anthropic_api_key=Secret(value="sk-replay"),
        anthropic_base_url=NOWHERE,
        slack_bot_token=Secret(value="xoxb-replay"),
        slack_api_url=NOWHERE + "/api/",
        approvers=(APPROVER,),
        table_name="replay",
        bucket="replay",
        public_url=PUBLIC_URL,
        **overrides,
    )
    # Built at the first invocation, inside a test, where the offline AWS settings are in force.
    return build_handler(cache(lambda: AgentDeps.from_settings(settings, tools=replay_registry())))


@pytest.fixture(scope="module")
def handler() -> Callable[..., Any]:
    return _handler()


@pytest.fixture(scope="module")
def mcp_handler(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """The MCP scenario's server, at an address where nothing listens: a replay reads the
    run's tools from its history and never lists or calls them again."""
    policy = mcp_policy(tmp_path_factory.mktemp("mcp-policy"), NOWHERE + "/mcp")
    return _handler(policy_path=policy, variables={MCP_TOKEN_VARIABLE: "mcp-replay"})


USES_MCP = {s.name for s in SCENARIOS if s.mcp}


def named(stem: str) -> History:
    return next(h for h in HISTORIES if h.path.stem == stem)


def test_every_kind_of_run_in_flight_is_recorded() -> None:
    kinds = {(h.scenario, h.state) for h in HISTORIES}
    assert len(kinds) == len(HISTORIES) >= 18
    assert {state for _, state in kinds} == {"suspended", "finished"}


@pytest.mark.parametrize("history", HISTORIES, ids=lambda h: h.path.stem)
def test_recorded_history_replays_on_the_same_path(
    history: History,
    handler: Callable[..., Any],
    mcp_handler: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    chosen = mcp_handler if history.scenario in USES_MCP else handler
    reason = divergence(history, replay(history, chosen))
    if reason is not None:
        pytest.fail(f"{history.path.name}: {reason}", pytrace=False)


def test_a_renamed_operation_is_reported_by_its_recorded_name(
    handler: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself: a history whose first model turn had another name no longer fits."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    history = named("gated_tool_approved.finished")
    renamed = replace(
        history,
        operations=tuple(
            {**op, "Name": "model-turn-0"} if op.get("Name") == "llm-0" else op
            for op in history.operations
        ),
    )
    reason = divergence(renamed, replay(renamed, handler))
    assert reason is not None
    assert "'model-turn-0' (STEP)" in reason and "current='llm-0'" in reason


def test_an_operation_added_at_the_end_of_a_finished_run_is_reported(
    handler: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history missing its last operation stands for code that added one after it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    history = named("three_parallel_tools_then_draft.finished")
    shortened = replace(history, operations=history.operations[:-1])
    reason = divergence(shortened, replay(shortened, handler))
    assert reason is not None and "started 'finish' (STEP)" in reason


def test_a_finished_run_returns_what_it_returned_when_recorded(
    handler: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    history = named("request_changes_then_approve.finished")
    replayed = replay(history, handler)
    assert json.loads(replayed.result or "{}")["text"] == {"text": "Draft two, shorter."}
