"""The App Home inbox: what waits on the viewer, its buttons, and Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.views import View

from agent.approvals.inbox import (
    ACTION_HOME_APPROVE,
    ACTION_HOME_OPEN,
    ACTION_HOME_REJECT,
    HOME_BLOCK_LIMIT,
    home_view,
    waiting_on,
)
from agent.models import ApprovalRecord

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
LINK = "https://example.slack.com/archives/CGENERAL/p1700000000000200"


def record(number: int = 1, **fields: Any) -> ApprovalRecord:
    base: dict[str, Any] = {
        "approval_id": f"ap_{number}",
        "run_id": f"run-{number}",
        "kind": "draft",
        "title": f"the answer {number}",
        "requester": "UALICE",
        "approvers": ("UBOB", "SLEADS"),
        "draft": "Hello",
        "channel": "CGENERAL",
        "message_ts": "1700000000.000200",
        "created_at": (NOW - timedelta(hours=3, minutes=number)).isoformat(),
        "expires_at": (NOW + timedelta(days=1)).isoformat(),
    }
    return ApprovalRecord.model_validate({**base, **fields})


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_each_waiting_approval_shows_its_facts_and_three_buttons_carrying_only_its_id() -> None:
    votes = {"UDAN": {"name": "dan", "at": NOW.isoformat(), "decision": "approve", "version": 0}}
    gate = record(title="post <!channel> & more", required=2, votes=votes)
    view = home_view("UBOB", [gate], now=NOW, links={gate.approval_id: LINK})
    shown = json.dumps(view)
    assert view["type"] == "home"
    assert "Waiting on you" in shown
    assert "post &lt;!channel&gt; &amp; more" in shown and "<!channel>" not in shown
    assert "Run `run-1`" in shown and "requested by <@UALICE>" in shown
    assert "opened 3h ago" in shown and "decide by <!date^" in shown
    assert "1 of 2 approvals so far: <@UDAN>" in shown
    approve, reject, open_ = buttons(view)
    assert (approve["action_id"], approve["value"]) == (ACTION_HOME_APPROVE, gate.approval_id)
    assert (reject["action_id"], reject["value"]) == (ACTION_HOME_REJECT, gate.approval_id)
    assert reject["confirm"]["confirm"]["text"] == "Reject"
    assert (open_["action_id"], open_["url"]) == (ACTION_HOME_OPEN, LINK)


def test_nothing_waiting_says_so_and_a_notice_goes_first() -> None:
    view = home_view("UBOB", [], now=NOW, links={}, notice="You approved *the answer*.")
    texts = [json.dumps(b) for b in view["blocks"]]
    assert "You approved *the answer*." in texts[0]  # the answer to a click, on top
    assert "Waiting on you" in texts[1]
    assert "Nothing is waiting on you." in texts[2]
    assert buttons(view) == []


def test_a_long_list_stays_under_slacks_block_limit_and_says_how_many_more() -> None:
    many = [record(n) for n in range(1, 61)]
    view = home_view("UBOB", many, now=NOW, links={}, notice="A notice.")
    assert len(view["blocks"]) <= HOME_BLOCK_LIMIT
    View(**view).validate_json()  # what slack_sdk checks before Slack would refuse it
    listed = {b["value"] for b in buttons(view)}
    assert "ap_60" in listed  # oldest first: the one waiting longest is listed
    more = len(many) - len(listed)
    assert f"and {more} more waiting on you" in json.dumps(view["blocks"][-1])


def test_no_open_button_without_a_link_and_budget_gates_say_continue_or_stop() -> None:
    gate = record(kind="budget", spending={"spent": {"usd": 2}})
    labels = [b["text"]["text"] for b in buttons(home_view("UBOB", [gate], now=NOW, links={}))]
    assert labels == ["Continue", "Stop"]


def test_the_inbox_lists_only_what_the_viewer_may_decide_and_has_not_approved() -> None:
    voted = {"UBOB": {"name": "bob", "at": NOW.isoformat(), "decision": "approve", "version": 0}}
    stale = {"UBOB": {"name": "bob", "at": NOW.isoformat(), "decision": "approve", "version": 0}}
    approvals = [
        record(1),
        record(2, approvers=("UCAROL",)),  # not bob's
        record(3, required=2, votes=voted),  # bob approved already
        record(4, required=2, votes=stale, version=1),  # edited since: bob's vote is stale
        record(5, state="claimed"),  # someone is deciding it
        record(6, expires_at=(NOW - timedelta(minutes=1)).isoformat()),
        record(7, approvers=("SLEADS",)),  # bob is in the group
        record(8, requester="UBOB"),  # bob's own run
    ]
    members = {"SLEADS": ["UBOB", "UDAN"]}
    mine = waiting_on("UBOB", approvals, lambda g: members.get(g, []), now=NOW)
    assert [r.approval_id for r in mine] == ["ap_1", "ap_4", "ap_7"]
