"""Quorum through signed Slack requests: distinct approvers, vetoes, edits, concurrent clicks.

The gate resumes the run once, when its rule is met; every vote before that is tallied in the
table (dynalite) with conditional writes, and each clicker is told where the count stands.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from agent.approvals.cards import ACTION_APPROVE
from agent.approvals.rules import GateRule, Policy, environment_policy
from slack_app.modals import EDIT_VIEW, REJECT_VIEW
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import button_click, slash_command, view_submission

CHANNEL = "CGENERAL"
ADA, BOB, CAROL = "UADA", "UBOB", "UCAROL"


def two_of_three(**rule: Any) -> Policy:
    """Every gate needs two of Ada, Bob and Carol."""
    base = environment_policy(approvers=(ADA,), deadline_seconds=600, allow_self_approval=False)
    fields: dict[str, Any] = {"approvers": (ADA, BOB, CAROL), "required": 2} | rule
    draft_rule = GateRule(table="gates.draft", **fields)
    return replace(base, draft=draft_rule)


def started(stack: SlackStack, trigger: str = "trig-1") -> dict[str, Any]:
    stack.send(
        slash_command("draft the update", user=REQUESTER, channel=CHANNEL, trigger_id=trigger)
    )
    return stack.run_of(trigger)


def approve(stack: SlackStack, card: Any, user: str, trigger: str) -> dict[str, Any]:
    return stack.send(
        button_click(
            ACTION_APPROVE,
            card.approval_id,
            user=user,
            channel=CHANNEL,
            message_ts=card.message_ts or "",
            trigger_id=trigger,
            thread_ts=card.thread_ts,
        )
    )


def card_text(stack: SlackStack, card: Any) -> str:
    """The card's blocks as they stand in Slack now."""
    (posted,) = [
        m for m in stack.slack.thread(CHANNEL, card.thread_ts) if m["ts"] == card.message_ts
    ]
    return str(posted["blocks"])


def test_two_distinct_approvers_are_needed_and_each_is_told_how_many_more(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")), policy=two_of_three())
    run = started(stack)
    card = stack.card(run, "review-0")
    assert "No approvals yet · 0 of 2" in card_text(stack, card)

    told = stack.answered(ADA, lambda: approve(stack, card, ADA, "t-ada"))
    assert told.startswith("Your approval counted: 1 of 2; 1 more approval is needed")
    again = stack.answered(ADA, lambda: approve(stack, card, ADA, "t-ada-2"))
    assert again.startswith("You had approved this already: 1 of 2")
    wait_for(
        lambda: "Approved by <@UADA> · 1 of 2" in card_text(stack, card), "the vote on the card"
    )
    assert "waiting for <@UBOB>, <@UCAROL>" in card_text(stack, card)
    assert stack.record(run, "review-0").state == "pending"  # type: ignore[union-attr]

    approve(stack, card, BOB, "t-bob")
    output = stack.output(run)
    assert output["status"] == "delivered"
    (decision,) = output["decisions"]
    assert [a["id"] for a in decision["approvals"]] == [ADA, BOB]
    wait_for(lambda: "(2 of 2)" in card_text(stack, card), "the decided card")


def test_any_reject_vetoes_at_once_with_its_reason(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Status: green.")), policy=two_of_three())
    run = started(stack)
    card = stack.card(run, "review-0")
    stack.answered(ADA, lambda: approve(stack, card, ADA, "t-ada"))
    stack.send(view_submission(REJECT_VIEW, card.approval_id, "numbers are wrong", user=CAROL))
    output = stack.output(run)
    assert output["status"] == "rejected" and "numbers are wrong" in output["note"]
    late = stack.answered(BOB, lambda: approve(stack, card, BOB, "t-bob"))
    assert "already decided" in late


def test_an_edit_is_the_editors_approval_and_clears_the_earlier_ones(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")), policy=two_of_three())
    run = started(stack)
    card = stack.card(run, "review-0")
    stack.answered(ADA, lambda: approve(stack, card, ADA, "t-ada"))
    stack.send(view_submission(EDIT_VIEW, card.approval_id, "Status: amber.", user=BOB))
    record = wait_for(
        lambda: (r := stack.record(run, "review-0")) and r.edited and r, "the edit on record"
    )
    assert record.state == "pending"
    wait_for(lambda: "Status: amber." in card_text(stack, card), "the edited card")
    assert "Approved by <@UBOB> · 1 of 2 · waiting for <@UADA>, <@UCAROL>" in card_text(stack, card)
    assert "approvals given before the edit no longer count" in card_text(stack, card)

    approve(stack, card, ADA, "t-ada-after-edit")
    output = stack.output(run)
    assert output["text"] == {"text": "Status: amber."}
    (decision,) = output["decisions"]
    assert decision["decision"] == "edit"
    assert {a["id"] for a in decision["approvals"]} == {ADA, BOB}


def test_a_quorum_nobody_can_reach_ends_the_gate_at_once(make_stack: StackFactory) -> None:
    stack = make_stack(
        by_turn(draft("Status: green.")),
        policy=two_of_three(approvers=(ADA, REQUESTER), required=2),
    )
    run = started(stack)
    output = stack.output(run)
    assert output["status"] == "no_approver"
    assert (
        "needs 2 distinct approvers, but only 1 person other than the requester" in output["note"]
    )


def test_twenty_concurrent_clicks_by_three_people_resume_the_run_once(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")), policy=two_of_three())
    run = started(stack)
    card = stack.card(run, "review-0")
    clicks = [(person, f"t-{person}-{i}") for i in range(7) for person in (ADA, BOB, CAROL)][:20]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda c: approve(stack, card, *c)["statusCode"], clicks))
    assert set(answers) == {200}
    output = stack.output(run)
    assert output["status"] == "delivered"
    (decision,) = output["decisions"]
    approvers = [a["id"] for a in decision["approvals"]]
    # Two distinct approvals met the quorum; a third counted before the claim may be named too.
    assert len(approvers) == len(set(approvers)) >= 2
    record = stack.record(run, "review-0")
    assert record is not None and record.state == "decided"
    # Each person's vote is on record once (a map keyed by person), and the ones that met
    # the quorum are exactly those the run was resumed with.
    assert set(approvers) <= set(record.votes)
    assert all(vote["version"] == 0 for vote in record.votes.values())
    shown = f"({len(approvers)} of {len(approvers)})"
    resumes = [c for c in stack.slack.calls_to("chat.update") if shown in str(c.args)]
    assert resumes, "the card shows the quorum that decided"
