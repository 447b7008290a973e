"""Deciding from Slack: every button and modal, authorisation, exactly-once under races."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent.approvals.cards import ACTION_APPROVE, ACTION_EDIT, ACTION_REJECT, ACTION_REVISE
from slack_app.modals import EDIT_VIEW, REJECT_VIEW, REVISE_VIEW
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, body_json, wait_for
from tests.slack_app.slack_requests import button_click, slash_command, view_submission

CHANNEL = "CGENERAL"


def started(stack: SlackStack, trigger: str = "trig-1") -> dict[str, Any]:
    stack.send(
        slash_command("draft the update", user=REQUESTER, channel=CHANNEL, trigger_id=trigger)
    )
    return stack.run_of(trigger)


def claimed_by_a_click(stack: SlackStack, card: Any, trigger: str) -> None:
    """What the first delivery of APPROVER's click ``trigger`` left: its claim on the card."""
    assert stack.agent.deps.store.claim_approval(
        card.approval_id,
        owner=f"click:{trigger}:{APPROVER}",
        decider_name="Ada",
        now=int(time.time()),
        lease_seconds=30,
    )


def click(
    stack: SlackStack, action: str, card: Any, user: str = APPROVER, trigger: str = "trig-b"
) -> dict[str, Any]:
    return stack.send(
        button_click(
            action,
            card.approval_id,
            user=user,
            channel=CHANNEL,
            message_ts=card.message_ts or "",
            trigger_id=trigger,
            thread_ts=card.thread_ts,
        )
    )


def test_edit_opens_a_prefilled_modal_and_the_edited_draft_is_delivered(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    click(stack, ACTION_EDIT, card)
    (opened,) = stack.slack.calls_to("views.open")
    view = opened.args["view"]
    assert opened.args["trigger_id"] == "trig-b"
    assert view["callback_id"] == EDIT_VIEW and view["private_metadata"] == card.approval_id
    assert "Status: green." in json.dumps(view["blocks"])

    assert (
        stack.send(view_submission(EDIT_VIEW, card.approval_id, "Status: amber.", user=APPROVER))[
            "statusCode"
        ]
        == 200
    )
    output = stack.output(run)
    assert output["text"] == {"text": "Status: amber."}
    assert output["decisions"][0]["decider"] == {"id": APPROVER, "name": APPROVER.lower()}


def test_tool_arguments_are_validated_in_the_modal(make_stack: StackFactory) -> None:
    post = tool_use("t1", "post_slack_message", channel="CANNOUNCE", text="hi")
    stack = make_stack(by_turn(calls(post), draft("Posted.")))
    run = started(stack)
    card = stack.card(run, "approve-0-0")
    bad_json = body_json(
        stack.send(view_submission(EDIT_VIEW, card.approval_id, "{not json", user=APPROVER))
    )
    assert (
        bad_json["response_action"] == "errors"
        and "Not valid JSON" in bad_json["errors"]["signoff_field"]
    )
    bad_field = body_json(
        stack.send(view_submission(EDIT_VIEW, card.approval_id, '{"text": "x"}', user=APPROVER))
    )
    assert "channel" in bad_field["errors"]["signoff_field"]
    assert stack.record(run, "approve-0-0").state == "pending"  # type: ignore[union-attr]

    good = '{"channel": "CANNOUNCE", "text": "hello all"}'
    assert (
        stack.send(view_submission(EDIT_VIEW, card.approval_id, good, user=APPROVER))["statusCode"]
        == 200
    )
    wait_for(lambda: stack.slack.messages("CANNOUNCE"), "the edited post")
    assert [m["text"] for m in stack.slack.messages("CANNOUNCE")] == ["hello all"]


def test_request_changes_and_reject_ask_for_a_reason(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("v1"), draft("v2")))
    run = started(stack)
    first = stack.card(run, "review-0")
    click(stack, ACTION_REVISE, first)
    assert stack.slack.calls_to("views.open")[-1].args["view"]["callback_id"] == REVISE_VIEW
    empty = body_json(
        stack.send(view_submission(REVISE_VIEW, first.approval_id, "  ", user=APPROVER))
    )
    assert empty["errors"]["signoff_field"] == "This can't be empty."
    stack.send(view_submission(REVISE_VIEW, first.approval_id, "more detail", user=APPROVER))

    second = stack.card(run, "review-1")
    click(stack, ACTION_REJECT, second)
    assert stack.slack.calls_to("views.open")[-1].args["view"]["callback_id"] == REJECT_VIEW
    stack.send(view_submission(REJECT_VIEW, second.approval_id, "not needed", user=APPROVER))
    output = stack.output(run)
    assert output["status"] == "rejected" and "not needed" in output["note"]
    assert "superseded" in stack.answered(APPROVER, lambda: click(stack, ACTION_APPROVE, first))


def test_outsiders_and_the_requester_are_refused_and_the_run_keeps_waiting(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    before = next(
        m for m in stack.slack.thread(CHANNEL, run["thread_ts"]) if m["ts"] == card.message_ts
    )["blocks"]
    click(stack, ACTION_APPROVE, card, user="UOUTSIDER")
    click(stack, ACTION_APPROVE, card, user=REQUESTER)
    click(stack, ACTION_EDIT, card, user="UOUTSIDER")
    assert "not one of the approvers" in stack.ephemerals_to("UOUTSIDER")[0]
    assert "you started this run" in stack.ephemerals_to(REQUESTER)[0]
    # Told next to the card they clicked: in its thread, where Slack shows it.
    assert {e["thread_ts"] for e in stack.slack.ephemerals} == {run["thread_ts"]}
    assert stack.slack.calls_to("views.open") == []
    after = next(
        m for m in stack.slack.thread(CHANNEL, run["thread_ts"]) if m["ts"] == card.message_ts
    )["blocks"]
    assert after == before
    assert stack.record(run, "review-0").state == "pending"  # type: ignore[union-attr]


def test_members_of_an_approver_group_may_decide(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")), approvers=("SREVIEWERS",))
    stack.slack.usergroups["SREVIEWERS"] = ["UMEMBER"]
    run = started(stack)
    card = stack.card(run, "review-0")
    click(stack, ACTION_APPROVE, card, user="UMEMBER")
    assert stack.output(run)["status"] == "delivered"


def test_ten_concurrent_clicks_resume_the_run_once_and_everyone_hears_back(
    make_stack: StackFactory,
) -> None:
    clickers = [f"UAPP{i}" for i in range(10)]
    stack = make_stack(by_turn(draft("Draft.")), approvers=tuple(clickers))
    run = started(stack)
    card = stack.card(run, "review-0")
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda user: click(stack, ACTION_APPROVE, card, user=user), clickers))
    output = stack.output(run)
    assert output["status"] == "delivered"
    assert len(output["decisions"]) == 1
    winner = output["decisions"][0]["decider"]["id"]
    losers = [user for user in clickers if user != winner]
    wait_for(
        lambda: all(stack.ephemerals_to(user) for user in losers),
        "an answer to every other clicker",
    )
    assert all(["already" in e for e in stack.ephemerals_to(user)] == [True] for user in losers)
    assert stack.ephemerals_to(winner) == []


def test_a_click_on_an_expired_card_says_so(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")), approval_timeout_seconds=1)
    run = started(stack)
    card = stack.card(run, "review-0")
    assert stack.output(run)["status"] == "expired"
    assert "expired" in stack.answered(APPROVER, lambda: click(stack, ACTION_APPROVE, card))


def test_unknown_approval_ids_never_resume_anything(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    stack.card(run, "review-0")
    forged = button_click(
        ACTION_APPROVE, "ap_forged", user=APPROVER, channel=CHANNEL, message_ts="1.2"
    )
    assert "does not exist" in stack.answered(APPROVER, lambda: stack.send(forged))
    assert stack.record(run, "review-0").state == "pending"  # type: ignore[union-attr]


def test_a_claim_left_by_a_crash_is_retaken_after_its_lease(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    store = stack.agent.deps.store
    now = int(time.time())
    assert store.claim_approval(
        card.approval_id, owner="live", decider_name="Bea", now=now, lease_seconds=30
    )
    told = stack.answered(APPROVER, lambda: click(stack, ACTION_APPROVE, card))
    assert "already being decided by Bea" in told

    store.release_claim(card.approval_id, owner="live")
    crashed = now - 120  # a decider that claimed, then died before sending the callback
    assert store.claim_approval(
        card.approval_id, owner="dead", decider_name="Bea", now=crashed, lease_seconds=30
    )
    click(stack, ACTION_APPROVE, card)
    assert stack.output(run)["status"] == "delivered"


def test_a_click_delivered_again_after_a_crash_takes_back_its_own_claim(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    # The first delivery of the click claimed the card, then its process died.
    claimed_by_a_click(stack, card, "trig-again")
    other = stack.answered(  # another click still waits for the lease
        APPROVER, lambda: click(stack, ACTION_APPROVE, card, trigger="trig-other")
    )
    assert "already being decided by Ada" in other
    click(stack, ACTION_APPROVE, card, trigger="trig-again")  # the same click, again
    assert stack.output(run)["status"] == "delivered"


def test_oversize_modal_input_is_refused_in_the_modal(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    errors = body_json(
        stack.send(view_submission(REJECT_VIEW, card.approval_id, "x" * 5000, user=APPROVER))
    )
    assert (
        errors["response_action"] == "errors" and "under 3000" in errors["errors"]["signoff_field"]
    )
    assert stack.record(run, "review-0").state == "pending"  # type: ignore[union-attr]
