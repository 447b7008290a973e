"""The whole loop with no API key: the offline model reads the channel, drafts, revises."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL
from tests.scenarios.conftest import HarnessFactory


def test_offline_run_reads_the_channel_drafts_and_takes_feedback(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.seed_message(CHANNEL, "deploy finished without errors", "UOPS")
    harness = make_harness(None)
    assert harness.deps.model.name == "offline"
    arn = harness.start(task="Summarise today's deploys")

    first = harness.approval(arn, "review-1")
    assert first.offline_model
    assert "Summarise today's deploys" in (first.draft or "")
    assert "deploy finished without errors" in (first.draft or "")
    card = next(
        m for m in fake_slack.thread(CHANNEL, first.thread_ts or "") if m["ts"] == first.message_ts
    )
    assert "offline model" in str(card["blocks"])

    harness.decide(first, "revise", feedback="mention the time")
    second = harness.approval(arn, "review-2")
    assert "mention the time" in (second.draft or "")
    harness.decide(second, "approve")
    output = harness.output(arn)
    assert output["status"] == "delivered"
    assert output["usage"]["total"]["output_tokens"] > 0
