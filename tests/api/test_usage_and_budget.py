"""The API's view of spending: usage per requester and channel, and a run's own budget."""

from __future__ import annotations

from tests.api.conftest import REVIEWER_TOKEN, ApiFactory
from tests.api.test_api import waiting_card
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import REQUESTER

CHANNEL = "CGENERAL"


def test_usage_per_requester_and_channel(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("The answer.")))
    _, accepted = api.call(
        "POST", "/runs", {"task": "answer", "requester": REQUESTER, "channel": CHANNEL}
    )
    waiting_card(api, accepted["run_id"])

    status, report = api.call("GET", "/usage", query={"requester": REQUESTER, "days": "7"})
    assert status == 200 and report["days"] == 7 and report["channel"] is None
    assert report["requester"]["runs"] == 1 and report["requester"]["cost_usd"] > 0
    assert report["requester"]["tokens"]["input_tokens"] > 0
    status, both = api.call("GET", "/usage", query={"requester": "UNOBODY", "channel": CHANNEL})
    assert both["requester"]["runs"] == 0
    assert both["channel"]["cost_usd"] == report["requester"]["cost_usd"]


def test_usage_needs_someone_or_somewhere(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")))
    status, body = api.call("GET", "/usage")
    assert status == 400 and "requester" in body["error"]
    status, body = api.call("GET", "/usage", query={"channel": "CGENERAL", "days": "0"})
    assert status == 422 and "days" in body["error"]


def test_a_run_started_with_a_budget_shows_it(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")))
    _, accepted = api.call("POST", "/runs", {"task": "t", "budget_usd": 0.5})
    waiting_card(api, accepted["run_id"])
    _, view = api.call("GET", f"/runs/{accepted['run_id']}")
    assert view["budget"] == {"usd": 0.5, "tokens": 0}
    status, refused = api.call("POST", "/runs", {"task": "t", "budget_usd": -1})
    assert status == 422 and "budget_usd" in refused["error"]


def test_a_budget_card_takes_only_continue_or_stop(make_api: ApiFactory) -> None:
    read = tool_use("t1", "read_slack_history", channel=CHANNEL)
    api = make_api(by_turn(calls(read), draft("x")))
    _, accepted = api.call("POST", "/runs", {"task": "t", "budget_usd": 0.0001})
    approval_id = waiting_card(api, accepted["run_id"], gate="budget-1")
    path = f"/approvals/{approval_id}/decision"
    edit = {"decision": "edit", "text": "spend less"}
    revise = {"decision": "revise", "feedback": "spend less"}
    for refused in (edit, revise):
        status, body = api.call("POST", path, refused, token=REVIEWER_TOKEN)
        assert status == 403 and "only continue" in body["error"]
    status, body = api.call("POST", path, {"decision": "approve"}, token=REVIEWER_TOKEN)
    assert status == 200 and body["state"] == "decided"
