"""A run that reaches its spending cap pauses with a card instead of failing."""

from __future__ import annotations

from typing import Any

from tests.fakes.claude import Reply
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_use
from tests.scenarios.conftest import HarnessFactory

READ = tool_use("t_read", "read_slack_history", channel=CHANNEL)
# claude-sonnet-5-5 bills $2 per million input tokens: 5,000 tokens cost one cent.
CENT_OF_INPUT = {"input_tokens": 5_000, "output_tokens": 0}


def costly(reply: Reply) -> Reply:
    return Reply(content=reply.content, stop_reason=reply.stop_reason, usage=CENT_OF_INPUT)


def card_text(fake_slack: FakeSlack, record: Any) -> str:
    thread = fake_slack.thread(CHANNEL, record.thread_ts or "")
    message = next(m for m in thread if m["ts"] == record.message_ts)
    return str(message["blocks"])


def test_reaching_the_budget_asks_to_continue_and_a_go_ahead_carries_on(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(
        by_turn(costly(calls(READ)), costly(calls(READ)), draft("Done.")), budget_usd=0.01
    )
    arn = harness.start()
    card = harness.approval(arn, "budget-1")
    assert card.kind == "budget"
    assert len(harness.claude_requests()) == 1  # paused before the next model call
    shown = card_text(fake_slack, card)
    assert "$0.01" in shown and "Continue with $0.01 more" in shown
    assert "Edit" not in shown and "Request changes" not in shown

    harness.decide(card, "approve")
    # The go-ahead doubled the cap to two cents, which the second turn reaches again.
    harness.decide(harness.approval(arn, "budget-2"), "approve")
    harness.decide(harness.approval(arn, "review-2"), "approve")
    output = harness.output(arn)
    assert output["status"] == "delivered"
    assert [d["decision"] for d in output["decisions"]] == ["approve", "approve", "approve"]
    assert output["usage"]["cost_usd"] >= 0.02


def test_saying_stop_ends_the_run_with_the_reason_and_no_more_model_calls(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(costly(calls(READ)), draft("Done.")), budget_usd=0.01)
    arn = harness.start()
    card = harness.approval(arn, "budget-1")
    harness.decide(card, "reject", reason="too dear for this")
    output = harness.output(arn)
    assert output["status"] == "budget_exhausted"
    assert "too dear for this" in output["note"] and "$0.01" in output["note"]
    assert len(harness.claude_requests()) == 1
    last = fake_slack.thread(CHANNEL, card.thread_ts or "")[-1]
    assert "too dear for this" in last["text"]


def test_a_token_cap_from_the_run_request_overrides_the_deployment(
    make_harness: HarnessFactory,
) -> None:
    harness = make_harness(by_turn(costly(calls(READ)), draft("Done.")), budget_usd=0)
    arn = harness.start(budget_tokens=4_000)
    card = harness.approval(arn, "budget-1")
    assert card.spending is not None
    assert card.spending["spent"]["tokens"] >= 5_000
    assert card.spending["cap"] == {"usd": 0.0, "tokens": 4_000}


def test_no_budget_means_no_pause(make_harness: HarnessFactory) -> None:
    harness = make_harness(by_turn(costly(calls(READ)), draft("Done.")), budget_usd=0)
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"


def test_an_unanswered_budget_card_ends_the_run(make_harness: HarnessFactory) -> None:
    # Callback timeouts run on the real clock even under skip_time: keep this one short.
    harness = make_harness(
        by_turn(costly(calls(READ)), draft("Done.")), budget_usd=0.01, approval_timeout_seconds=1
    )
    arn = harness.start()
    output = harness.output(arn)
    assert output["status"] == "budget_exhausted"
    assert "nobody said go on" in output["note"]
