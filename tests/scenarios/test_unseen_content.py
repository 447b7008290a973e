"""A reviewer reads every byte they approve, and exactly those bytes are delivered."""

from __future__ import annotations

import hashlib

from slack_app.modals import edit_modal
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_use
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.test_delivery import LONG, delivered_text
from tests.slack_app.conftest import wait_for


def thread_after_card(fake_slack: FakeSlack, thread_ts: str, card_ts: str) -> list[dict]:
    return [m for m in fake_slack.thread(CHANNEL, thread_ts) if float(m["ts"]) > float(card_ts)]


def shown(message: dict) -> str:
    return "".join(
        b["text"]["text"] for b in message.get("blocks", []) if b["type"] == "section"
    ).replace("&amp;", "&")


def test_a_long_draft_is_shown_whole_with_its_hash_and_delivered_byte_for_byte(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    # Over the spill threshold: the checkpoint keeps a preview, the blob keeps the text.
    harness = make_harness(by_turn(draft(LONG)), spill_bytes=4_096)
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    digest = hashlib.sha256(LONG.encode()).hexdigest()[:12]

    assert card.draft == LONG  # the record holds every byte, not the preview
    posted_card = next(
        m for m in fake_slack.thread(CHANNEL, card.thread_ts or "") if m["ts"] == card.message_ts
    )
    assert f"sha256 `{digest}`" in str(posted_card["blocks"])
    assert "shown in full in the thread below" in str(posted_card["blocks"])
    full = wait_for(
        lambda: (
            (m := thread_after_card(fake_slack, card.thread_ts or "", card.message_ts or ""))
            and "".join(shown(x) for x in m) == LONG
            and m
        ),
        "the whole draft under the card",
    )
    assert "".join(shown(m) for m in full) == LONG  # every byte, before any decision
    assert edit_modal(card) is None  # too long for Slack's modal: Edit says so

    harness.decide(card, "approve")
    assert harness.output(arn)["status"] == "delivered"
    assert delivered_text(fake_slack, card.thread_ts or "", card.message_ts or "") == LONG


def test_long_tool_arguments_are_shown_whole_before_the_call_runs(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    text = "x" * 3_900
    post = tool_use("t_post", "post_slack_message", channel="CANNOUNCE", text=text)
    harness = make_harness(by_turn(calls(post), draft("Posted.")))
    arn = harness.start()
    card = harness.approval(arn, "approve-0-0")
    # Posted right after the card, in the same step: wait for it as a reader would.
    full = wait_for(
        lambda: thread_after_card(fake_slack, card.thread_ts or "", card.message_ts or ""),
        "the whole arguments under the card",
    )
    assert text in "".join(shown(m) for m in full)
    harness.decide(card, "reject", reason="too long")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
