"""Every decision a reviewer can take, on a tool call and on a draft."""

from __future__ import annotations

from agent.approvals.cards import ACTION_REVISE
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import (
    CHANNEL,
    by_turn,
    calls,
    draft,
    last_user_blocks,
    tool_results,
    tool_use,
)
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import REQUESTER
from tests.slack_app.conftest import wait_for

ANNOUNCE = tool_use("t_post", "post_slack_message", channel="CANNOUNCE", text="We ship today")


def posted_to(fake_slack: FakeSlack, channel: str) -> list[str]:
    return [message["text"] for message in fake_slack.messages(channel)]


def test_approved_tool_call_runs_with_its_arguments(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(calls(ANNOUNCE), draft("Announced.")))
    arn = harness.start()
    card = harness.approval(arn, "approve-0-0")
    assert card.kind == "tool" and card.arguments == {
        "channel": "CANNOUNCE",
        "text": "We ship today",
    }
    assert posted_to(fake_slack, "CANNOUNCE") == []  # nothing runs before the decision
    harness.decide(card, "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")

    assert harness.output(arn)["status"] == "delivered"
    assert posted_to(fake_slack, "CANNOUNCE") == ["We ship today"]
    result = tool_results(harness.claude_requests()[1])["t_post"]
    assert "is_error" not in result and '"ts"' in result["content"]
    locked = harness.deps.store.get_approval(card.approval_id)
    assert locked is not None and locked.state == "decided"


def test_edited_tool_arguments_are_what_runs(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(calls(ANNOUNCE), draft("Announced.")))
    arn = harness.start()
    card = harness.approval(arn, "approve-0-0")
    harness.decide(card, "edit", arguments={"channel": "CANNOUNCE", "text": "We ship tomorrow"})
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["decisions"][0]["decision"] == "edit"
    assert posted_to(fake_slack, "CANNOUNCE") == ["We ship tomorrow"]


def test_rejected_tool_call_goes_back_to_claude_as_an_error_with_the_reason(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(calls(ANNOUNCE), draft("I did not post.")))
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "reject", reason="not before the review")
    harness.decide(harness.approval(arn, "review-1"), "approve")

    assert harness.output(arn)["status"] == "delivered"
    assert posted_to(fake_slack, "CANNOUNCE") == []
    result = tool_results(harness.claude_requests()[1])["t_post"]
    assert result["is_error"] is True
    assert "rejected" in result["content"] and "not before the review" in result["content"]


def test_edited_draft_is_delivered_and_the_card_shows_the_change(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(draft("Status: green.\nNext: ship.")))
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    harness.decide(card, "edit", text="Status: green.\nNext: ship on Friday.")

    output = harness.output(arn)
    assert output["status"] == "delivered"
    assert output["text"] == {"text": "Status: green.\nNext: ship on Friday."}
    locked = next(
        m for m in fake_slack.thread(CHANNEL, card.thread_ts or "") if m["ts"] == card.message_ts
    )
    shown = str(locked["blocks"])
    assert "-Next: ship." in shown and "+Next: ship on Friday." in shown
    assert "actions" not in [block["type"] for block in locked["blocks"]]


def test_requested_changes_reach_claude_and_a_new_card_supersedes_the_old(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(
        by_turn(draft("Draft one."), draft("Draft two, shorter.")), max_revisions=1
    )
    arn = harness.start()
    first = harness.approval(arn, "review-0")
    assert ACTION_REVISE in str(fake_slack.thread(CHANNEL, first.thread_ts or "")[-1]["blocks"])
    harness.decide(first, "revise", feedback="make it shorter")

    second = harness.approval(arn, "review-1")
    assert second.round == 2
    feedback = last_user_blocks(harness.claude_requests()[1])[0]["text"]
    assert "make it shorter" in feedback
    card = next(
        m
        for m in fake_slack.thread(CHANNEL, second.thread_ts or "")
        if m["ts"] == second.message_ts
    )
    assert ACTION_REVISE not in str(card["blocks"])  # the revision cap hides the button
    # The new card is posted first, then the old one gives way, in the same step.
    store = harness.deps.store
    wait_for(lambda: store.get_approval(first.approval_id).state == "superseded", "supersede")

    harness.decide(second, "approve")
    output = harness.output(arn)
    assert output["status"] == "delivered"
    assert output["text"] == {"text": "Draft two, shorter."}
    assert [d["decision"] for d in output["decisions"]] == ["revise", "approve"]


def test_rejected_draft_ends_the_run_and_says_why(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(draft("Draft.")))
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    harness.decide(card, "reject", reason="wrong audience")
    output = harness.output(arn)
    assert output["status"] == "rejected"
    assert "wrong audience" in output["note"]
    last = fake_slack.thread(CHANNEL, card.thread_ts or "")[-1]
    assert "wrong audience" in last["text"]


def test_unanswered_approval_expires_and_the_card_says_so(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    # Callback timeouts run on the real clock even under skip_time: keep this one short.
    harness = make_harness(by_turn(draft("Draft.")), approval_timeout_seconds=1)
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    output = harness.output(arn)
    assert output["status"] == "expired"
    record = harness.deps.store.get_approval(card.approval_id)
    assert record is not None and record.state == "expired"
    shown = next(
        m for m in fake_slack.thread(CHANNEL, card.thread_ts or "") if m["ts"] == card.message_ts
    )
    assert "No decision by" in str(shown["blocks"])
    assert "actions" not in [block["type"] for block in shown["blocks"]]


def test_a_gate_nobody_but_the_requester_could_decide_ends_at_once_and_says_why(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    # The only approver is the one who asked: nobody else may ever decide.
    harness = make_harness(by_turn(calls(ANNOUNCE), draft("Not posted.")), approvers=(REQUESTER,))
    arn = harness.start()
    output = harness.output(arn)

    assert output["status"] == "no_approver" and "nobody can approve" in output["note"]
    told = tool_results(harness.claude_requests()[1])["t_post"]
    assert told["is_error"] is True and "nobody can approve it" in told["content"]
    assert posted_to(fake_slack, "CANNOUNCE") == []
    thread = [m["text"] for m in fake_slack.messages(CHANNEL)] + [
        r["text"] for m in fake_slack.messages(CHANNEL) for r in fake_slack.thread(CHANNEL, m["ts"])
    ]
    assert not any("Approval needed" in text for text in thread)  # no card asks the wrong person
    assert any("Nobody can approve run post_slack_message" in text for text in thread)
