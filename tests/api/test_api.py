"""The HTTP API: start runs idempotently, read them, decide exactly once, refuse bad input."""

from __future__ import annotations

from typing import Any

import pytest

from agent.approvals.gate import approval_id_for
from tests.api.conftest import DELEGATE_TOKEN, REVIEWER_TOKEN, ApiClient, ApiFactory
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import wait_for

CHANNEL = "CGENERAL"


def waiting_card(api: ApiClient, run_id: str, gate: str = "review-0") -> str:
    store = api.stack.agent.deps.store
    run = wait_for(lambda: (r := store.get_run(run_id)) and r.get("execution_arn") and r, "run")
    posted = run.get("channel") is not None
    return api.stack.agent.approval(run["execution_arn"], gate, posted=posted).approval_id


def test_start_decide_and_read_a_run_without_slack(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("The answer.")))
    status, accepted = api.call("POST", "/runs", {"task": "answer", "requester": REQUESTER})
    assert status == 202 and accepted["status"] == "queued"
    run_id = accepted["run_id"]
    approval_id = waiting_card(api, run_id)

    status, view = api.call("GET", f"/runs/{run_id}")
    assert status == 200 and view["status"] == "waiting_for_approval"
    assert view["pending_approvals"][0]["approval_id"] == approval_id
    assert view["pending_approvals"][0]["draft"] == "The answer."

    path = f"/approvals/{approval_id}/decision"
    status, decided = api.call("POST", path, {"decision": "approve"}, token=REVIEWER_TOKEN)
    assert status == 200 and decided["state"] == "decided"
    status, again = api.call("POST", path, {"decision": "approve"}, token=REVIEWER_TOKEN)
    assert status == 409 and "already decided" in again["error"]

    run = api.stack.agent.deps.store.get_run(run_id)
    assert api.stack.output(run)["status"] == "delivered"  # type: ignore[arg-type]
    status, view = api.call("GET", f"/runs/{run_id}")
    assert view["status"] == "delivered" and view["result"] == "The answer."
    assert [d["decision"] for d in view["decisions"]] == ["approve"]
    assert view["usage"]["output_tokens"] > 0
    assert view["cost_usd"] > 0
    assert sum(m["cost_usd"] for m in view["usage_by_model"].values()) == pytest.approx(
        view["cost_usd"], abs=1e-6
    )


def test_the_same_idempotency_key_returns_the_same_run(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")))
    first = api.call("POST", "/runs", {"task": "t", "idempotency_key": "job-42"})
    second = api.call("POST", "/runs", {"task": "t", "idempotency_key": "job-42"})
    assert first[0] == second[0] == 202 and first[1]["run_id"] == second[1]["run_id"]
    waiting_card(api, first[1]["run_id"])
    conflict = api.call("POST", "/runs", {"task": "something else", "idempotency_key": "job-42"})
    assert conflict[0] == 409 and "job-42" in conflict[1]["error"]
    assert len(api.stack.agent.runner._executor.list_executions().durable_executions) == 1


def test_a_decision_through_the_api_locks_the_slack_card(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("Posted answer.")))
    _, accepted = api.call(
        "POST", "/runs", {"task": "t", "channel": CHANNEL, "requester": REQUESTER}
    )
    approval_id = waiting_card(api, accepted["run_id"])
    record = api.stack.agent.deps.store.get_approval(approval_id)
    assert record is not None and record.message_ts
    status, _ = api.call(
        "POST",
        f"/approvals/{approval_id}/decision",
        {"decision": "reject", "reason": "not now"},
        token=REVIEWER_TOKEN,
    )
    assert status == 200
    card = next(
        m
        for m in api.stack.slack.thread(CHANNEL, record.thread_ts or "")
        if m["ts"] == record.message_ts
    )
    assert "Rejected by" in str(card["blocks"]) and "actions" not in str(card["blocks"])


def test_the_decider_is_the_caller_never_a_name_in_the_body(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")))
    _, accepted = api.call("POST", "/runs", {"task": "t", "requester": REQUESTER})
    path = f"/approvals/{waiting_card(api, accepted['run_id'])}/decision"

    status, named = api.call("POST", path, {"decision": "approve", "by": APPROVER})
    assert status == 422 and "by" in named["error"]  # no body field says who decides
    status, own = api.call("POST", path, {"decision": "approve"})  # the operator started it
    assert status == 403 and "you started this run" in own["error"]
    status, for_someone = api.call(
        "POST", path, {"decision": "approve", "on_behalf_of": APPROVER}, token=REVIEWER_TOKEN
    )
    assert status == 403 and "API_DELEGATES" in for_someone["error"]
    missing = api.call("POST", "/approvals/ap_nope/decision", {"decision": "approve"})
    assert missing[0] == 404

    assert api.call("POST", path, {"decision": "approve"}, token=REVIEWER_TOKEN)[0] == 200
    record = api.stack.agent.deps.store.get_run(accepted["run_id"])
    output = api.stack.output(record)  # type: ignore[arg-type]
    assert output["decisions"][0]["decider"] == {"id": "token:reviewer", "name": "reviewer"}


def test_api_approvers_limit_who_may_decide_through_the_api(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")), api_approvers=("slackbridge",))
    _, accepted = api.call("POST", "/runs", {"task": "t", "requester": REQUESTER})
    path = f"/approvals/{waiting_card(api, accepted['run_id'])}/decision"
    status, body = api.call("POST", path, {"decision": "approve"}, token=REVIEWER_TOKEN)
    assert status == 403 and "API_APPROVERS" in body["error"]
    assert api.call("POST", path, {"decision": "approve"}, token=DELEGATE_TOKEN)[0] == 200


def test_a_delegate_decides_for_a_slack_approver_and_the_card_says_via_whom(
    make_api: ApiFactory,
) -> None:
    api = make_api(by_turn(draft("x")), api_delegates=("slackbridge",))
    _, accepted = api.call(
        "POST", "/runs", {"task": "t", "channel": CHANNEL, "requester": REQUESTER}
    )
    approval_id = waiting_card(api, accepted["run_id"])
    path = f"/approvals/{approval_id}/decision"

    def for_(user: str) -> tuple[int, Any]:
        body = {"decision": "approve", "on_behalf_of": user}
        return api.call("POST", path, body, token=DELEGATE_TOKEN)

    assert for_(REQUESTER)[0] == 403  # the requester may not approve their own run
    assert for_("UOUTSIDER")[0] == 403  # nor may someone who is not an approver
    assert for_(APPROVER)[0] == 200

    record = api.stack.agent.deps.store.get_approval(approval_id)
    assert record is not None and record.decision is not None
    assert record.decision["decider"] == {
        "id": APPROVER,
        "name": f"{APPROVER}, via slackbridge",
        "via": "slackbridge",
    }
    card = next(
        m
        for m in api.stack.slack.thread(CHANNEL, record.thread_ts or "")
        if m["ts"] == record.message_ts
    )
    assert f"Approved by <@{APPROVER}>, via slackbridge at" in str(card["blocks"])


def test_bad_input_gets_a_4xx_naming_the_problem(make_api: ApiFactory) -> None:
    api = make_api(by_turn())
    cases = [
        ({"raw": "{not json"}, 422, "JSON"),
        ({"body": {"task": 5}}, 422, "task"),
        ({"body": {"task": "t", "surprise": 1}}, 422, "surprise"),
        ({"body": {"task": "t", "channel": "not a channel"}}, 422, "channel"),
        ({"raw": "{" + '"task": "' + "x" * 70_000 + '"}'}, 413, "bytes"),
        ({"body": {"task": "t"}, "token": "wrong"}, 401, "token"),
        ({"body": {"task": "t"}, "token": None}, 401, "token"),
    ]
    for kwargs, expected, named in cases:
        status, body = api.call("POST", "/runs", **kwargs)  # type: ignore[arg-type]
        assert status == expected and named in body["error"], (kwargs.keys(), status, body)
    assert api.call("GET", "/runs/run-unknown")[0] == 404
    assert api.call("GET", "/runs", query={"cursor": "garbage!"})[0] == 400
    assert api.call("GET", "/runs", query={"limit": "0"})[0] == 422
    decision = api.call("POST", "/approvals/x/decision", {"decision": "reject"})
    assert decision[0] == 422 and "reason" in decision[1]["error"]


def test_runs_are_listed_by_requester_page_by_page(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x"), draft("x"), draft("x")))
    run_ids = [
        api.call("POST", "/runs", {"task": f"t{i}", "requester": "ULISTER"})[1]["run_id"]
        for i in range(3)
    ]
    for run_id in run_ids:
        waiting_card(api, run_id)
    status, page = api.call("GET", "/runs", query={"requester": "ULISTER", "limit": "2"})
    assert status == 200 and len(page["runs"]) == 2 and page["cursor"]
    _, rest = api.call(
        "GET", "/runs", query={"requester": "ULISTER", "limit": "2", "cursor": page["cursor"]}
    )
    assert {r["run_id"] for r in page["runs"] + rest["runs"]} == set(run_ids)


def test_cancel_through_the_api(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")))
    _, accepted = api.call("POST", "/runs", {"task": "t", "requester": REQUESTER})
    waiting_card(api, accepted["run_id"])
    status, body = api.call("POST", f"/runs/{accepted['run_id']}/cancel", token=REVIEWER_TOKEN)
    assert status == 200 and "cancelled" in body["message"]  # any caller: no API_APPROVERS
    assert api.call("GET", f"/runs/{accepted['run_id']}")[1]["status"] == "cancelled"


def test_openapi_document_describes_every_route(make_api: ApiFactory) -> None:
    api = make_api(by_turn())
    status, document = api.call("GET", "/openapi.json", token=None)
    assert status == 200 and document["openapi"].startswith("3.1")
    assert {
        "/runs",
        "/runs/{run_id}",
        "/approvals/{approval_id}/decision",
        "/runs/{run_id}/cancel",
    } <= set(document["paths"])
    assert "StartRun" in document["components"]["schemas"]
    start = document["paths"]["/runs"]["post"]["responses"]
    assert "202" in start and "200" not in start
    assert "RunAccepted" in str(start["202"])
    documented = {
        status
        for route in document["paths"].values()
        for operation in route.values()
        for status in operation["responses"]
    }
    assert {"400", "401", "403", "404", "409", "410", "413", "422"} <= documented
    decide = document["paths"]["/approvals/{approval_id}/decision"]["post"]["responses"]
    assert "ErrorBody" in str(decide["403"]) and "ErrorBody" in str(decide["409"])
    assert set(document["components"]["securitySchemes"]) == {"iam", "bearer"}
    assert document["paths"]["/callbacks/{token}"]["post"]["security"] == [{}]  # no auth
    assert approval_id_for  # the ids the API takes are the ones the agent makes


def test_with_iam_auth_the_callers_identity_is_recorded_with_the_decision(
    make_api: ApiFactory,
) -> None:
    api = make_api(by_turn(draft("x")))
    caller = "arn:aws:iam::123456789012:user/release-bot"
    status, accepted = api.call("POST", "/runs", {"task": "t"}, token=None, iam_arn=caller)
    assert status == 202
    approval_id = waiting_card(api, accepted["run_id"])
    path = f"/approvals/{approval_id}/decision"
    body = {"decision": "approve"}
    own = api.call("POST", path, body, token=None, iam_arn=caller)
    assert own[0] == 403 and "you started this run" in own[1]["error"]
    reviewer = "arn:aws:sts::123456789012:assumed-role/ReleaseReviewers/ada@example.com"
    assert api.call("POST", path, body, token=None, iam_arn=reviewer)[0] == 200
    view = wait_for(
        lambda: (
            (v := api.call("GET", f"/runs/{accepted['run_id']}", token=None, iam_arn=caller)[1])[
                "decisions"
            ]
            and v
        ),
        "the decision on the run",
    )
    assert view["requester"] == caller
    assert view["decisions"][0]["decider"] == {"id": reviewer, "name": "ReleaseReviewers"}


def test_edited_tool_arguments_are_checked_before_anything_is_claimed(
    make_api: ApiFactory,
) -> None:
    post = tool_use("t_post", "post_slack_message", channel="CANNOUNCE", text="We ship today")
    api = make_api(by_turn(calls(post), draft("Posted.")))
    _, accepted = api.call("POST", "/runs", {"task": "t", "requester": REQUESTER})
    approval_id = waiting_card(api, accepted["run_id"], gate="approve-0-0")
    path = f"/approvals/{approval_id}/decision"

    bad = {"decision": "edit", "arguments": {"channel": "CANNOUNCE", "text": 42}}
    status, body = api.call("POST", path, bad, token=REVIEWER_TOKEN)
    assert status == 422 and "text" in body["error"]
    record = api.stack.agent.deps.store.get_approval(approval_id)
    assert record is not None and record.state == "pending"  # nothing was claimed

    good = {"decision": "edit", "arguments": {"channel": "CANNOUNCE", "text": "We ship Monday"}}
    assert api.call("POST", path, good, token=REVIEWER_TOKEN)[0] == 200
    posted = wait_for(lambda: api.stack.slack.messages("CANNOUNCE"), "the edited post")
    assert [m["text"] for m in posted] == ["We ship Monday"]


def test_every_surface_uses_one_status_vocabulary(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("Draft.")))
    status, accepted = api.call("POST", "/runs", {"task": "t", "requester": REQUESTER})
    run_id = accepted["run_id"]
    assert status == 202 and accepted["status"] in ("queued", "running")
    status, view = api.call("GET", f"/runs/{run_id}")  # readable as soon as it was accepted
    assert status == 200 and view["status"] in ("queued", "running", "waiting_for_approval")

    approval_id = waiting_card(api, run_id)
    waiting = wait_for(
        lambda: (
            (v := api.call("GET", f"/runs/{run_id}")[1])["status"] == "waiting_for_approval" and v
        ),
        "waiting for approval",
    )
    assert waiting["pending_approvals"][0]["approval_id"] == approval_id
    listed = api.call("GET", "/runs", query={"requester": REQUESTER})[1]["runs"]
    assert [r["status"] for r in listed] == ["waiting_for_approval"]

    reject = {"decision": "reject", "reason": "wrong audience"}
    assert (
        api.call("POST", f"/approvals/{approval_id}/decision", reject, token=REVIEWER_TOKEN)[0]
        == 200
    )
    ended = wait_for(
        lambda: (v := api.call("GET", f"/runs/{run_id}")[1])["status"] == "rejected" and v,
        "the rejected run",
    )
    assert ended["status"] == "rejected"  # never "succeeded": nothing was delivered
    by_status = api.call("GET", "/runs", query={"status": "rejected"})[1]["runs"]
    assert [r["run_id"] for r in by_status] == [run_id]
    for unknown in ("succeeded", "bogus"):
        status, body = api.call("GET", "/runs", query={"status": unknown})
        assert status == 400 and "waiting_for_approval" in body["error"]
