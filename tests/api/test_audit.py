"""The audit log through the HTTP API: a whole run's entries verify, an altered entry is named,
only the requester and approvers read it, and the export pages through every run."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.approvals.rules import GateRule, environment_policy
from agent.storage.audit import audit_pk, seq_key
from agent.storage.audit_chain import verify
from tests.api.conftest import (
    DELEGATE_TOKEN,
    REVIEWER_TOKEN,
    STRANGER_TOKEN,
    ApiClient,
    ApiFactory,
)
from tests.api.test_jobs import registry_with
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_use
from tests.slack_app.conftest import wait_for

APPROVERS = ("reviewer", "slackbridge")  # API_APPROVERS: the two callers that decide
ADA, BOB, CAROL = "UADA", "UBOB", "UCAROL"


def two_approvals_for_the_answer() -> Any:
    base = environment_policy(approvers=(ADA,), deadline_seconds=600, allow_self_approval=False)
    rule = GateRule(table="gates.draft", approvers=(ADA, BOB, CAROL), required=2)
    return replace(base, draft=rule)


def audit_lines(api: ApiClient, run_id: str, token: str) -> tuple[int, str, list[dict[str, Any]]]:
    response = api.respond("GET", f"/runs/{run_id}/audit", token=token)
    body = response.get("body") or ""
    lines = (
        [json.loads(line) for line in body.splitlines()] if response["statusCode"] == 200 else []
    )
    return response["statusCode"], response["headers"].get("Content-Type", ""), lines


def open_card(api: ApiClient, run_id: str, gate: str) -> str:
    store = api.stack.agent.deps.store
    run = wait_for(lambda: (r := store.get_run(run_id)) and r.get("execution_arn") and r, "run")
    posted = run.get("channel") is not None
    return api.stack.agent.approval(run["execution_arn"], gate, posted=posted).approval_id


def decide(api: ApiClient, approval_id: str, body: dict[str, Any], token: str) -> None:
    status, answer = api.call("POST", f"/approvals/{approval_id}/decision", body, token=token)
    assert status == 200, answer


def test_a_whole_run_leaves_a_log_that_verifies_and_an_altered_entry_is_named(
    make_api: ApiFactory,
) -> None:
    urls: dict[str, str] = {}
    api = make_api(
        by_turn(
            calls(tool_use("t1", "render", video="intro")),
            draft("Status: green."),
            draft("Status: green, all systems go."),
        ),
        tools=registry_with(urls),
        public_url="https://signoff.example.test",
        policy=two_approvals_for_the_answer(),
        api_approvers=APPROVERS,
    )
    _, accepted = api.call(
        "POST", "/runs", {"task": "status update", "requester": ADA, "channel": CHANNEL}
    )
    run_id = accepted["run_id"]
    wait_for(lambda: "intro" in urls, "the render job")
    path = urls["intro"].removeprefix("https://signoff.example.test")
    assert api.call("POST", path, {"result": {"url": "s3://intro.mp4"}}, token=None)[0] == 200

    first = open_card(api, run_id, "review-1")
    decide(api, first, {"decision": "revise", "feedback": "say all systems go"}, REVIEWER_TOKEN)
    second = open_card(api, run_id, "review-2")
    edited = {"decision": "edit", "text": "Status: green. All systems go."}
    decide(api, second, edited, REVIEWER_TOKEN)
    decide(api, second, {"decision": "approve"}, DELEGATE_TOKEN)
    run = api.stack.agent.deps.store.get_run(run_id)
    assert api.stack.output(run)["status"] == "delivered"  # type: ignore[arg-type]

    status, content_type, entries = audit_lines(api, run_id, REVIEWER_TOKEN)
    assert status == 200 and content_type == "application/x-ndjson"
    assert verify(entries).ok
    kinds = [e["kind"] for e in entries]
    assert kinds == [
        "run_started",
        "job_completed",
        "approval_requested",
        "decided",
        "approval_requested",
        "vote",
        "vote",
        "decided",
        "delivered",
        "run_ended",
    ]
    by_kind = {e["kind"]: e for e in entries}
    assert by_kind["run_started"]["data"]["task"] == "status update"
    assert by_kind["run_started"]["data"]["policy_hash"]
    assert by_kind["job_completed"]["data"]["state"] == "completed"
    revise, final = (e for e in entries if e["kind"] == "decided")
    assert revise["data"]["feedback"] == "say all systems go"
    assert revise["by"] == {"id": "token:reviewer", "name": "reviewer"}
    assert final["data"]["decision"] == "edit"
    assert "+Status: green. All systems go." in final["data"]["diff"]
    assert [a["name"] for a in final["data"]["approvals"]] == ["reviewer", "slackbridge"]
    assert by_kind["delivered"]["data"]["edited"] is True
    assert by_kind["run_ended"]["data"]["status"] == "delivered"

    # Someone with write access to the table changes what the reviewer asked for.
    api.stack.agent.deps.store.table.update_item(
        Key={"pk": audit_pk(run_id), "sk": seq_key(4)},
        UpdateExpression="SET #d.feedback = :forged",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":forged": "ship it as it is"},
    )
    verdict = verify(audit_lines(api, run_id, REVIEWER_TOKEN)[2])
    assert not verdict.ok and verdict.bad_seq == 4 and "entry 4 (decided" in str(verdict.problem)


def test_the_requester_and_approvers_read_the_log_and_no_one_else(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")), api_approvers=("reviewer",))
    _, accepted = api.call("POST", "/runs", {"task": "t", "requester": ADA})
    run_id = accepted["run_id"]
    decide(api, open_card(api, run_id, "review-0"), {"decision": "approve"}, REVIEWER_TOKEN)
    run = api.stack.agent.deps.store.get_run(run_id)
    api.stack.output(run)  # type: ignore[arg-type]

    assert audit_lines(api, run_id, "test-api-token")[0] == 200  # the caller that started it
    assert audit_lines(api, run_id, REVIEWER_TOKEN)[0] == 200  # an approver
    status, refused = api.call("GET", f"/runs/{run_id}/audit", token=STRANGER_TOKEN)
    assert status == 403 and "API_APPROVERS" in refused["error"]
    assert api.call("GET", f"/runs/{run_id}/audit", token=None)[0] == 401
    assert api.call("GET", "/runs/no-such-run/audit", token=REVIEWER_TOKEN)[0] == 404
    export = {"since": "2020-01-01"}
    assert api.call("GET", "/audit", query=export, token=STRANGER_TOKEN)[0] == 403


def test_the_export_pages_through_every_runs_entries(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x")), api_approvers=("reviewer",))
    run_ids = []
    for task in ("one", "two"):
        _, accepted = api.call("POST", "/runs", {"task": task, "requester": ADA})
        run_ids.append(accepted["run_id"])
        approval = open_card(api, accepted["run_id"], "review-0")
        decide(api, approval, {"decision": "approve"}, REVIEWER_TOKEN)
        api.stack.output(api.stack.agent.deps.store.get_run(accepted["run_id"]))  # type: ignore[arg-type]
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    query = {"since": since.replace("+00:00", "Z"), "limit": "3"}
    exported: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = api.respond("GET", "/audit", query=query, token=REVIEWER_TOKEN)
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response["body"].splitlines()]
        assert len(lines) <= 3
        exported += lines
        pages += 1
        following = response["headers"].get("x-next-cursor")
        if following is None:
            break
        query = {**query, "cursor": following}
    mine = [e for e in exported if e["run_id"] in run_ids]
    # per run: started, approval requested, decided, delivered, ended
    assert pages >= 3 and len(mine) == 10
    for run_id in run_ids:
        assert verify([e for e in mine if e["run_id"] == run_id]).ok

    bad = api.call("GET", "/audit", query={"since": "2026-13-45"}, token=REVIEWER_TOKEN)
    assert bad[0] == 400 and "since" in bad[1]["error"]
    forged = api.call(
        "GET", "/audit", query={"since": since, "cursor": "bm9wZQ"}, token=REVIEWER_TOKEN
    )
    assert forged[0] == 400 and "cursor" in forged[1]["error"]
