"""An approved answer is always delivered, whole, in messages Slack accepts."""

from __future__ import annotations

import pytest

from localdev import slack_workspace
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL, by_turn, draft
from tests.scenarios.conftest import HarnessFactory

LONG = "\n".join(f"Line {i}: the {i}th finding, with details & figures." for i in range(700))


def delivered_text(fake_slack: FakeSlack, thread_ts: str, card_ts: str) -> str:
    """The delivered answer, as a person reads it in the thread after the card."""
    after = [
        m
        for m in fake_slack.thread(CHANNEL, thread_ts)
        if float(m["ts"]) > float(card_ts) and "card above" not in str(m)
    ]
    texts = []
    for message in after:
        sections = [b["text"]["text"] for b in message.get("blocks", []) if b["type"] == "section"]
        texts.append("".join(sections) if sections else message["text"].rsplit("\n", 1)[0])
    return "".join(texts).replace("&amp;", "&")


def test_a_long_approved_answer_is_delivered_whole_in_several_messages(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    assert len(LONG) > 30_000  # well past what one Slack message's blocks may hold
    harness = make_harness(by_turn(draft(LONG)))
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    harness.decide(card, "approve")

    assert harness.output(arn)["status"] == "delivered"
    assert delivered_text(fake_slack, card.thread_ts or "", card.message_ts or "") == LONG


def test_a_part_slack_refuses_is_posted_again_as_plain_text(
    make_harness: HarnessFactory, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slack's limit is not documented: here it is stricter than the parts are cut for.
    monkeypatch.setattr(slack_workspace, "BLOCKS_TEXT_LIMIT", 4_000)  # a card fits, parts do not
    harness = make_harness(by_turn(draft(LONG)))
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    harness.decide(card, "approve")

    assert harness.output(arn)["status"] == "delivered"
    assert delivered_text(fake_slack, card.thread_ts or "", card.message_ts or "") == LONG
