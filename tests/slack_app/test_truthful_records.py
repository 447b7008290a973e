"""An approval record only moves forward, and Slack's refusals never decide anything."""

from __future__ import annotations

from typing import Any

from agent.approvals.cards import ACTION_APPROVE
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import slash_command
from tests.slack_app.test_decisions import CHANNEL, claimed_by_a_click, click, started


def cancel(stack: SlackStack, run: dict[str, Any], card: Any) -> None:
    """The requester cancels the run from Slack; its card is closed once the command ran."""
    stack.send(slash_command(f"cancel {run['run_id']}", user=REQUESTER, channel=CHANNEL))
    store = stack.agent.deps.store
    wait_for(lambda: store.get_approval(card.approval_id).state == "cancelled", "the cancel")


def test_a_late_settle_never_turns_a_cancelled_approval_into_a_decided_one(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    cancel(stack, run, card)
    store = stack.agent.deps.store

    late = store.settle_approval(card.approval_id, state="decided", decision={"decision": "x"})

    assert late.state == "cancelled" and late.decision is None
    stored = store.get_approval(card.approval_id)
    assert stored is not None and stored.state == "cancelled"


def test_a_click_whose_first_delivery_resumed_the_run_is_told_it_counted(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    store = stack.agent.deps.store
    # The first delivery of the click claimed the card and resumed the run, then died
    # before it could settle the record or answer.
    claimed_by_a_click(stack, card, "trig-again")
    stack.agent.decide(card, "approve")
    assert stack.output(run)["status"] == "delivered"

    updates = len(stack.slack.calls_to("chat.update"))
    click(stack, ACTION_APPROVE, card, trigger="trig-again")  # Slack delivers it again

    # The clicker sees the card locked with their decision, and no "closed" notice.
    wait_for(lambda: len(stack.slack.calls_to("chat.update")) > updates, "the card's update")
    settled = store.get_approval(card.approval_id)
    assert settled is not None and settled.state == "decided"
    assert not [e for e in stack.ephemerals_to(APPROVER) if "closed" in e or "expired" in e]


def test_a_card_slack_will_not_update_never_fails_the_decision_or_the_run(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    # The card was deleted (or the bot removed from the channel): every update is refused.
    stack.slack.fail_next("chat.update", error="message_not_found", times=10)

    click(stack, ACTION_APPROVE, card)

    assert stack.output(run)["status"] == "delivered"
    settled = stack.agent.deps.store.get_approval(card.approval_id)
    assert settled is not None and settled.state == "decided"
    assert settled.card_error == "message_not_found"


def test_a_cancelled_run_says_who_cancelled_it_and_leaves_every_pending_list(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    store = stack.agent.deps.store
    assert [a.approval_id for a in store.pending_approvals()] == [card.approval_id]

    cancel(stack, run, card)

    thread = stack.slack.thread(CHANNEL, card.thread_ts or "")
    shown_card = next(m for m in thread if m["ts"] == card.message_ts)
    assert f"Run cancelled by <@{REQUESTER}> at <!date^" in str(shown_card["blocks"])
    assert "Approval needed" not in str(shown_card["blocks"])
    progress = next(m for m in thread if m["ts"] == store.get_run(run["run_id"])["progress_ts"])
    assert f"Cancelled by <@{REQUESTER}> at <!date^" in str(progress["blocks"])
    assert store.pending_approvals() == []
    stack.command("pending", user=APPROVER, channel=CHANNEL)
    assert "nothing" in wait_for(lambda: stack.ephemerals_to(APPROVER), "pending")[-1].lower()
