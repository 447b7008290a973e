"""Fixtures for driving the durable handler against the fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.aws import Dynalite, MotoS3
from tests.fakes.claude import FakeClaude
from tests.fakes.slack import FakeSlack
from tests.scenarios.harness import AgentHarness, agent_harness

HarnessFactory = Callable[..., AgentHarness]


@pytest.fixture
def make_harness(
    dynalite: Dynalite,
    moto_s3: MotoS3,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[HarnessFactory]:
    """Build a harness around a Claude script (None: the offline model)."""
    stack: list[Any] = []

    def make(script: Callable[[dict], Any] | None = None, **overrides: Any) -> AgentHarness:
        claude_url, claude = None, None
        if script is not None:
            claude = FakeClaude(script)
            stack.append(claude)
            claude.__enter__()
            claude_url = claude.base_url
            if overrides.get("llm_provider") == "bedrock":
                monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", claude_url)
        context = agent_harness(
            dynalite_url=dynalite.endpoint_url,
            s3_url=moto_s3.endpoint_url,
            slack_url=fake_slack.api_url,
            claude_url=claude_url,
            monkeypatch=monkeypatch,
            **overrides,
        )
        stack.append(context)
        harness = context.__enter__()
        harness.claude = claude
        return harness

    yield make
    for item in reversed(stack):
        item.__exit__(None, None, None)
