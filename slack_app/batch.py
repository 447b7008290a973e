"""The batch card's buttons for the lot: "Approve all (K)" and "Reject all".

Each call on the card keeps its own gate, so the lot is decided call by call through the
control plane's ``decide_all``: each call exactly once, each under its own rules; the clicker
is told how many counted and why any did not.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from agent.approvals.batch_cards import ACTION_APPROVE_ALL, ACTION_REJECT_ALL
from agent.approvals.decisions import Approve, Reject
from agent.control.runs import Decided, DecideOutcome, Voted
from agent.models import ApprovalRecord
from agent.mrkdwn import escape, fit, one_line
from slack_app import modals
from slack_app.listeners import ControlFactory, _decider, _explain, _now, _tell, claim_of


def register_batch(app: App, control: ControlFactory) -> None:
    """Attach the batch card's Approve all and Reject all to ``app``."""

    def ack_approve_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        checked = control().check(_clicked(body), body["user"]["id"])
        if not isinstance(checked, ApprovalRecord):
            _tell(client, body, _explain(checked))

    def approve_all(body: dict[str, Any], client: WebClient) -> None:
        decision = Approve(decider=_decider(body["user"]), at=_now())
        outcomes = control().decide_all(_clicked(body), decision, claim_owner=claim_of(body))
        _tell(client, body, summary("approved", outcomes))

    def open_reject_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        plane = control()
        checked = plane.check(_clicked(body), body["user"]["id"])
        if not isinstance(checked, ApprovalRecord):
            _tell(client, body, _explain(checked))
            return
        calls = plane.store.batch_records(checked.run_id, checked.batch_id or "")
        count = sum(r.state == "pending" for r in calls)
        view = modals.reject_all_modal(checked, count)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def ack_reject_all(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        read = modals.read_reason(view)
        if isinstance(read, dict):
            ack(response_action="errors", errors=read)
            return
        ack()

    def reject_all(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        plane = control()
        record = plane.store.get_approval(view.get("private_metadata", ""))
        if record is None:
            return
        reason = modals.read_reason(view)
        if isinstance(reason, dict):
            return
        decision = Reject(decider=_decider(body["user"]), at=_now(), reason=reason)
        outcomes = plane.decide_all(record.approval_id, decision)
        card = {"channel": {"id": record.channel}, "container": {"thread_ts": record.thread_ts}}
        _tell(client, {**body, **card}, summary("rejected", outcomes))

    app.action(ACTION_APPROVE_ALL)(ack=ack_approve_all, lazy=[approve_all])
    app.action(ACTION_REJECT_ALL)(open_reject_all)
    app.view(modals.REJECT_ALL_VIEW)(ack=ack_reject_all, lazy=[reject_all])


def summary(verb: str, outcomes: list[tuple[ApprovalRecord, DecideOutcome]]) -> str:
    """What the clicker is told: how many calls counted, and why the others did not."""
    counted = [r for r, o in outcomes if isinstance(o, Decided | Voted)]
    lines = [f"You {verb} {len(counted)} of {len(outcomes)} open calls on this card."]
    for record, outcome in outcomes:
        if not isinstance(outcome, Decided | Voted):
            tool = escape(fit(one_line(record.tool_name or "?"), 100))
            lines.append(f"• `{tool}`: {_explain(outcome)}")
    return "\n".join(lines)


def _clicked(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value", ""))
