"""A run reads what its requester may read: its own channel, public channels, and private
conversations only when the requester is in them."""

from __future__ import annotations

import pytest

from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_results, tool_use
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import APPROVER, REQUESTER

SECRET = "GSECRET01"  # a private channel the bot is in


@pytest.fixture
def private_channel(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.seed_message(SECRET, "the merger closes Friday", user=APPROVER)
    fake_slack.seed_message("CPUBLIC01", "lunch at noon", user=APPROVER)
    fake_slack.private_members[SECRET] = [APPROVER]
    return fake_slack


def read(channel: str) -> dict:
    return tool_use(f"t_{channel}", "read_slack_history", channel=channel)


def test_a_private_channel_the_requester_is_not_in_is_refused_with_a_reason(
    make_harness: HarnessFactory, private_channel: FakeSlack
) -> None:
    harness = make_harness(
        by_turn(calls(read(SECRET), read("CPUBLIC01"), read(CHANNEL)), draft("Done."))
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    results = tool_results(harness.claude_requests()[1])

    refused = results[f"t_{SECRET}"]
    assert refused["is_error"] is True and "private conversation" in refused["content"]
    assert "merger" not in refused["content"]
    assert "lunch at noon" in results["t_CPUBLIC01"]["content"]  # public: fine
    assert "is_error" not in results[f"t_{CHANNEL}"]  # the run's own channel: fine


def test_a_requester_in_the_private_channel_may_read_it(
    make_harness: HarnessFactory, private_channel: FakeSlack
) -> None:
    private_channel.private_members[SECRET] = [APPROVER, REQUESTER]
    harness = make_harness(by_turn(calls(read(SECRET)), draft("Done.")))
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    result = tool_results(harness.claude_requests()[1])[f"t_{SECRET}"]
    assert "is_error" not in result and "merger" in result["content"]
