"""Hostile requests to the HTTP API: none gets a 5xx, each 4xx names what was wrong, none
changes anything, and afterwards a real decision still resumes the waiting run.

Hypothesis sends ``hostile_api_requests``: bodies nested past any parser's limit, bodies
over the size limit in bytes but not in characters, forged list cursors, long IAM callers,
and any JSON, to every route, through the API's Lambda handler as API Gateway events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from api.handler import serve
from tests.api.conftest import REVIEWER_TOKEN, TOKEN, ApiClient, ApiFactory
from tests.faults.hostile_requests import ApiTargets, Hostile, hostile_api_requests
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import REQUESTER
from tests.slack_app.conftest import wait_for

HOSTILE_API_REQUESTS = 1_500


def waiting_run(api: ApiClient, task: str) -> tuple[str, str]:
    """Start a run through the API; its id and its draft card's approval id, once waiting."""
    _, accepted = api.call("POST", "/runs", {"task": task, "requester": REQUESTER})
    store = api.stack.agent.deps.store
    run = wait_for(
        lambda: (r := store.get_run(accepted["run_id"])) and r.get("execution_arn") and r, "run"
    )
    card = api.stack.agent.approval(run["execution_arn"], "review-0", posted=False)
    return accepted["run_id"], card.approval_id


def what_users_see(api: ApiClient, run_id: str, approval_id: str) -> dict[str, Any]:
    store = api.stack.agent.deps.store
    executions = api.stack.agent.runner._executor.list_executions().durable_executions
    return {
        "runs": sorted(str(e.durable_execution_name) for e in executions),
        "waiting run": api.call("GET", f"/runs/{run_id}")[1]["status"],
        "waiting approval": store.get_approval(approval_id),
    }


def answer(api: ApiClient, hostile: Hostile) -> None:
    """The property: no 5xx, an allowed status, and a 4xx says what was wrong."""
    for event in hostile.events:
        response = serve(api.resolver, event, None)
        status = response["statusCode"]
        assert status < 500, (status, response.get("body", "")[:300], str(hostile))
        if hostile.allowed_statuses is not None:
            assert status in hostile.allowed_statuses, (status, response["body"][:300])
        if status >= 400:
            error = json.loads(response["body"])["error"]
            assert isinstance(error, str) and error.strip(), str(hostile)


@pytest.mark.timeout(600)
def test_hostile_api_requests_get_a_4xx_naming_the_problem_and_change_nothing(
    make_api: ApiFactory,
) -> None:
    api = make_api(by_turn(draft("Decided."), draft("Waiting.")))
    decided_run, decided_approval = waiting_run(api, "decide me")
    body = {"decision": "approve"}
    path = f"/approvals/{decided_approval}/decision"
    assert api.call("POST", path, body, token=REVIEWER_TOKEN)[0] == 200
    run_id, approval_id = waiting_run(api, "keep me waiting")
    before = what_users_see(api, run_id, approval_id)
    assert before["waiting run"] == "waiting_for_approval"
    targets = ApiTargets(decided_approval=decided_approval, run_id=decided_run, token=TOKEN)
    ran = 0

    @settings(
        max_examples=HOSTILE_API_REQUESTS,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(hostile_api_requests(targets))
    def property_holds(hostile: Hostile) -> None:
        nonlocal ran
        ran += 1
        answer(api, hostile)

    property_holds()
    assert ran >= HOSTILE_API_REQUESTS
    assert what_users_see(api, run_id, approval_id) == before

    assert (
        api.call("POST", f"/approvals/{approval_id}/decision", body, token=REVIEWER_TOKEN)[0] == 200
    )
    run = api.stack.agent.deps.store.get_run(run_id)
    assert run is not None and api.stack.output(run)["status"] == "delivered"
