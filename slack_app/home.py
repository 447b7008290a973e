"""The App Home tab: published when a person opens it, and its buttons.

A click on the Home tab has no channel (``container.type == "view"``), so nothing can answer it
with an ephemeral message: the person's Home is published again with a one-line notice on top
("You approved …", or why not). Approve goes through the control plane's ``decide`` like the
card's button (authorised, exactly once); Reject opens the card's own reject modal.
"""

from __future__ import annotations

from typing import Any, assert_never

from slack_bolt import Ack, App
from slack_sdk import WebClient

from agent.approvals import inbox
from agent.approvals.decisions import Approve
from agent.control.runs import (
    Closed,
    ControlPlane,
    Decided,
    DecideOutcome,
    Invalid,
    Refused,
    Voted,
)
from agent.models import ApprovalRecord
from agent.mrkdwn import fit, one_line
from slack_app import modals
from slack_app.listeners import ControlFactory, _decider, _explain, _now, claim_of


def register_home(app: App, control: ControlFactory) -> None:
    """Attach the Home tab's event and buttons to ``app``."""

    def ack_opened(ack: Ack) -> None:
        ack()

    def publish_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":  # the Messages tab needs nothing from us
            return
        plane = control()
        inbox.publish_home(client, plane.store, event["user"], plane.group_members)

    def ack_approve(ack: Ack) -> None:
        ack()

    def decide_approve(body: dict[str, Any], client: WebClient) -> None:
        plane = control()
        user, approval_id = body["user"]["id"], _approval_id(body)
        decision = Approve(decider=_decider(body["user"]), at=_now())
        # The same claim name as a card click: a redelivered lazy invocation counts once.
        outcome = plane.decide(approval_id, decision, claim_owner=claim_of(body))
        notice = approved_notice(outcome, _title(plane, approval_id))
        inbox.publish_home(client, plane.store, user, plane.group_members, notice=notice)

    def open_reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        plane = control()
        user, approval_id = body["user"]["id"], _approval_id(body)
        checked = plane.check(approval_id, user)
        if isinstance(checked, ApprovalRecord):
            client.views_open(trigger_id=body["trigger_id"], view=modals.reject_modal(checked))
            return
        notice = f"{_explain(checked)} ({_title(plane, approval_id)})"
        inbox.publish_home(client, plane.store, user, plane.group_members, notice=notice)

    def ack_open(ack: Ack) -> None:
        ack()  # a URL button: Slack opens the link and tells the app, which has nothing to do

    app.event("app_home_opened")(ack=ack_opened, lazy=[publish_opened])
    app.action(inbox.ACTION_HOME_APPROVE)(ack=ack_approve, lazy=[decide_approve])
    app.action(inbox.ACTION_HOME_REJECT)(open_reject)
    app.action(inbox.ACTION_HOME_OPEN)(ack_open)


def approved_notice(outcome: DecideOutcome, title: str) -> str:
    """The line on top of the Home tab after an Approve click: what became of it."""
    match outcome:
        case Decided():
            return f":white_check_mark: You approved {title}."
        case Voted(tally=votes):
            return (
                f":ballot_box_with_check: Your approval of {title} counted: "
                f"{len(votes.approved_by)} of {votes.required}."
            )
        case Refused() | Closed() | Invalid():
            return f"{_explain(outcome)} ({title})"
        case _:
            assert_never(outcome)


def _approval_id(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value", ""))


def _title(plane: ControlPlane, approval_id: str) -> str:
    record = plane.store.get_approval(approval_id) if approval_id else None
    return f"*{fit(one_line(record.title), 200)}*" if record else "this approval"
