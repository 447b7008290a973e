"""The whole loop with no API key: the offline model reads the channel, asks to post (a gated
call), drafts from what it read and did, and revises visibly."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL
from tests.scenarios.conftest import HarnessFactory

OPS = "COPS"


def tool_posts(fake_slack: FakeSlack, channel: str) -> list[str]:
    """What post_slack_message posted in a channel (its posts carry their own metadata)."""
    return [
        m["text"]
        for m in fake_slack.messages(channel)
        if (m.get("metadata") or {}).get("event_type") == "signoff_tool_post"
    ]


def test_offline_run_reads_the_channel_drafts_and_takes_feedback(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.users["UOPS"] = "dana"
    fake_slack.seed_message(CHANNEL, "deploy finished without errors", "UOPS")
    harness = make_harness(None)
    assert harness.deps.model.name == "offline"
    arn = harness.start(task="Summarise today's deploys")

    first = harness.approval(arn, "review-1")
    assert first.offline_model
    assert (first.draft or "").splitlines() == [
        "*Summarise today's deploys*",
        "",
        "*In this channel*",
        "• dana: deploy finished without errors",  # who said it, by name, never raw JSON
    ]
    card = next(
        m for m in fake_slack.thread(CHANNEL, first.thread_ts or "") if m["ts"] == first.message_ts
    )
    assert "offline model" in str(card["blocks"])

    harness.decide(first, "revise", feedback="mention the time")
    second = harness.approval(arn, "review-2")
    assert "• The time." in (second.draft or "")
    assert "What changed: added “the time”" in (second.draft or "")
    harness.decide(second, "revise", feedback="shorter")
    third = harness.approval(arn, "review-3")
    assert len(third.draft or "") < len(second.draft or "")
    harness.decide(third, "approve")
    output = harness.output(arn)
    assert output["status"] == "delivered"
    assert output["usage"]["total"]["output_tokens"] > 0


def test_offline_run_posts_to_a_named_channel_once_a_reviewer_approves(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.workspace.channel_names[OPS] = "ops"
    fake_slack.users["UOPS"] = "dana"
    fake_slack.seed_message(OPS, "Deploy 1.4 is out on staging", "UOPS")
    harness = make_harness(None)
    arn = harness.start(task="post a summary of #ops to <#CGENERAL|general>")

    gate = harness.approval(arn, "approve-1-0")  # turn 0 read #ops and #general
    assert gate.kind == "tool" and gate.tool_name == "post_slack_message"
    assert gate.arguments == {
        "channel": CHANNEL,
        "text": "Latest in #ops:\n• dana: Deploy 1.4 is out on staging",
    }
    assert tool_posts(fake_slack, CHANNEL) == []  # nothing is posted before the approval
    harness.decide(gate, "approve")

    review = harness.approval(arn, "review-2")
    posted = "Latest in #ops:\n• dana: Deploy 1.4 is out on staging"
    assert tool_posts(fake_slack, CHANNEL) == [posted]
    assert "Posted to #general: “Latest in #ops:" in (review.draft or "")
    harness.decide(review, "approve")
    assert harness.output(arn)["status"] == "delivered"
