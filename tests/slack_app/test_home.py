"""The App Home inbox over signed Slack requests: opened, approved from, rejected from."""

from __future__ import annotations

import json
import time
from typing import Any

from agent.approvals.inbox import ACTION_HOME_APPROVE, ACTION_HOME_OPEN, ACTION_HOME_REJECT
from slack_app.modals import REJECT_VIEW
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import app_home_opened, home_click, slash_command

CHANNEL = "CGENERAL"


def started(stack: SlackStack, task: str = "draft the update") -> dict[str, Any]:
    stack.send(slash_command(task, user=REQUESTER, channel=CHANNEL, trigger_id="trig-1"))
    return stack.run_of("trig-1")


def homes_of(stack: SlackStack, user: str) -> list[dict[str, Any]]:
    return [
        c.args["view"] for c in stack.slack.calls_to("views.publish") if c.args["user_id"] == user
    ]


def home_after(stack: SlackStack, user: str, send: Any) -> dict[str, Any]:
    """The Home tab ``user`` sees once ``send`` made the app publish it again."""
    before = len(homes_of(stack, user))
    assert send()["statusCode"] == 200
    wait_for(lambda: len(homes_of(stack, user)) > before, f"{user}'s Home tab")
    return homes_of(stack, user)[-1]


def test_opening_home_lists_the_approval_for_its_approver_and_nothing_for_others(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    # The approver's Home already lists it: the gate refreshed it as the card opened.
    opened = wait_for(lambda: homes_of(stack, APPROVER), "the Home published by the gate")
    assert run["run_id"] in json.dumps(opened[-1])
    time.sleep(0.2)  # the gate's other refreshes (none expected) would land here

    home = home_after(
        stack, APPROVER, lambda: stack.send(app_home_opened(APPROVER, event_id="Ev1"))
    )
    shown = json.dumps(home)
    assert home["type"] == "home" and "Waiting on you" in shown
    assert run["run_id"] in shown and f"<@{REQUESTER}>" in shown
    actions = [e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["value"]) for e in actions] == [
        (ACTION_HOME_APPROVE, card.approval_id),
        (ACTION_HOME_REJECT, card.approval_id),
        (ACTION_HOME_OPEN, card.approval_id),
    ]
    assert f"/archives/{CHANNEL}/p{(card.message_ts or '').replace('.', '')}" in actions[2]["url"]

    # The requester may not approve their own run: nothing waits on them.
    own = home_after(
        stack, REQUESTER, lambda: stack.send(app_home_opened(REQUESTER, event_id="Ev2"))
    )
    assert "Nothing is waiting on you." in json.dumps(own)
    # The Messages tab publishes nothing.
    published = len(homes_of(stack, APPROVER))
    stack.send(app_home_opened(APPROVER, event_id="Ev3", tab="messages"))
    assert len(homes_of(stack, APPROVER)) == published
    # An event without the person who opened it is not from Slack.
    assert stack.send(app_home_opened("", event_id="Ev4"))["statusCode"] == 400


def test_approve_on_home_resumes_the_run_once_and_says_so_on_home(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")))
    run = started(stack)
    card = stack.card(run, "review-0")

    click = home_click(ACTION_HOME_APPROVE, card.approval_id, user=APPROVER, view_id="VHOME1")
    assert stack.send(click)["statusCode"] == 200
    # The decision refreshes every decider's Home; the clicker's then says what became of it.
    home = wait_for(
        lambda: next(
            (h for h in homes_of(stack, APPROVER)[-1:] if "You approved" in json.dumps(h)), None
        ),
        "the approver's Home with the notice",
    )
    output = stack.output(run)
    assert output["status"] == "delivered"
    assert output["decisions"][0]["decider"]["id"] == APPROVER
    shown = json.dumps(home)
    assert "You approved *the answer*" in shown and "Nothing is waiting on you." in shown
    assert stack.slack.ephemerals == []  # a Home click has no channel to answer in

    again = home_click(
        ACTION_HOME_APPROVE, card.approval_id, user=APPROVER, view_id="VHOME1", trigger_id="t2"
    )
    home = home_after(stack, APPROVER, lambda: stack.send(again))
    assert "Nothing to do: already decided" in json.dumps(home)
    assert len(stack.output(run)["decisions"]) == 1


def test_reject_on_home_opens_the_cards_reject_modal_and_outsiders_are_told_why_not(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Status: green.")))
    run = started(stack)
    card = stack.card(run, "review-0")

    reject = home_click(ACTION_HOME_REJECT, card.approval_id, user=APPROVER, view_id="VHOME1")
    assert stack.send(reject)["statusCode"] == 200
    (opened,) = stack.slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == REJECT_VIEW
    assert opened.args["view"]["private_metadata"] == card.approval_id

    outsider = home_click(ACTION_HOME_APPROVE, card.approval_id, user="UOUTSIDER", view_id="V9")
    home = home_after(stack, "UOUTSIDER", lambda: stack.send(outsider))
    assert "You can't decide on this: you are not one of the approvers" in json.dumps(home)
    assert stack.record(run, "review-0").state == "pending"  # type: ignore[union-attr]
