"""Ten thousand malformed or hostile requests to ``POST /slack/events``: none does harm.

A run waits on its draft card and another run's card is already decided. Hypothesis then
sends forged, stale and mis-signed requests, and correctly signed ones carrying every payload
kind Bolt routes with hostile values (``hostile_requests``), through the Slack function's
Lambda handler as API Gateway events, then a sample over real HTTP through the local front
door. What a user would check: nobody ever gets a 5xx, a forged request is refused, nothing is
resumed (no durable callback sent, the waiting run still waiting, its approval record and card
as they were), no run is started, no listener fails where no status code shows it, and
afterwards a real click still resumes the run, once.
"""

from __future__ import annotations

import base64
import http.client
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.approvals.cards import ACTION_APPROVE
from agent.approvals.gate import approval_id_for
from localdev.apigw import ApiGateway
from localdev.front import FrontDoor, serve
from localdev.lambda_host import LambdaContext
from tests.faults.conftest import FaultStack, FaultStackFactory, SilentFailures
from tests.faults.hostile_requests import Hostile, hostile_requests
from tests.faults.slack_payloads import Targets
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SLACK_FUNCTION
from tests.slack_app.slack_requests import button_click, slash_command

CHANNEL = "CGENERAL"
HOSTILE_REQUESTS = 10_000
OVER_HTTP = 300
Send = Callable[[dict[str, Any]], int]


def start(stack: FaultStack, trigger: str) -> dict[str, Any]:
    command = slash_command("draft the update", user=REQUESTER, channel=CHANNEL, trigger_id=trigger)
    stack.send(command)
    return stack.run_of(trigger)


def click_approve(stack: FaultStack, run: dict[str, Any]) -> int:
    card = stack.card(run, "review-0")
    click = button_click(
        ACTION_APPROVE,
        card.approval_id,
        user=APPROVER,
        channel=CHANNEL,
        message_ts=card.message_ts or "",
    )
    return int(stack.send(click)["statusCode"])


def what_users_see(
    stack: FaultStack, decided: dict[str, Any], waiting: dict[str, Any]
) -> dict[str, Any]:
    """Everything a hostile request must leave as it was."""
    waiting_card = stack.record(waiting, "review-0")
    assert waiting_card is not None
    thread = stack.slack.thread(CHANNEL, waiting["thread_ts"])
    execution = boto3.client("lambda").get_durable_execution(
        DurableExecutionArn=waiting["execution_arn"]
    )
    listed = stack.agent.runner._executor.list_executions().durable_executions
    return {
        "callbacks sent": list(stack.callbacks.sent),
        "runs": sorted(str(e.durable_execution_name) for e in listed),
        "waiting run": execution["Status"],
        "waiting approval": waiting_card,
        "waiting card": next(m for m in thread if m["ts"] == waiting_card.message_ts),
        "decided approval": stack.record(decided, "review-0"),
    }


def in_process(stack: FaultStack) -> Send:
    """One Lambda invocation per request, as API Gateway makes it."""

    def send(event: dict[str, Any]) -> int:
        # Bolt writes into the event's headers (and reuses them for its lazy invocation).
        return int(stack.send({**event, "headers": dict(event["headers"])})["statusCode"])

    return send


@contextmanager
def over_http(stack: FaultStack) -> Iterator[Send]:
    """Real HTTP through ``signoff dev``'s front door and API Gateway translation."""
    gateway = ApiGateway(
        [("/slack/events", stack.handler)],
        lambda _: LambdaContext.for_function(SLACK_FUNCTION, "us-east-1"),
    )
    front = FrontDoor(slack_events=gateway, api=ApiGateway([], lambda _: None), local_slack=None)
    front.ready.set()
    server = serve(front, "127.0.0.1", 0)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.daemon = True
    serving.start()

    def send(event: dict[str, Any]) -> int:
        raw = event["body"] or ""
        body = base64.b64decode(raw) if event["isBase64Encoded"] else raw.encode()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
        try:
            method = event["requestContext"]["http"]["method"]
            connection.request(method, "/slack/events", body=body, headers=event["headers"])
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        yield send
    finally:
        server.shutdown()
        server.server_close()


def answer_without_harm(
    stack: FaultStack, failures: SilentFailures, send: Send, hostile: Hostile
) -> None:
    """The property each hostile request must keep (its lazy listeners included)."""
    failed_before = len(failures.describe())
    statuses = [send(event) for event in hostile.events]
    stack.settle()
    assert all(status < 500 for status in statuses), (statuses, str(hostile))
    if hostile.allowed_statuses is not None:
        assert set(statuses) <= hostile.allowed_statuses, (statuses, str(hostile))
    assert failures.describe()[failed_before:] == [], str(hostile)


def fuzz(
    requests: st.SearchStrategy[Hostile], examples: int, prove: Callable[[Hostile], None]
) -> int:
    """Run ``prove`` on ``examples`` generated requests; returns how many ran."""
    ran = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # the table and the runs are this test's own: no replays across runs
        print_blob=True,  # a failure prints how to replay it
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests)
    def property_holds(hostile: Hostile) -> None:
        nonlocal ran
        ran += 1
        prove(hostile)

    property_holds()
    return ran


@pytest.mark.timeout(600)  # ten thousand requests on a shared two-core machine
def test_hostile_requests_get_no_5xx_resume_nothing_and_a_real_click_still_works(
    make_fault_stack: FaultStackFactory,
    silent_failures: SilentFailures,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack = make_fault_stack(by_turn(draft("Status: green.")))
    # Bolt warns about every unhandled request by echoing its payload: thousands, some huge.
    # (After the app is built: building it resets its logger's level.)
    caplog.set_level(logging.ERROR, logger="slack_bolt.App")
    decided = start(stack, "trig-decided")
    assert click_approve(stack, decided) == 200
    assert stack.output(decided)["status"] == "delivered"
    waiting = start(stack, "trig-waiting")
    card = stack.card(waiting, "review-0")
    stack.settle()
    before = what_users_see(stack, decided, waiting)
    assert before["waiting run"] == "RUNNING"
    targets = Targets(
        waiting_approval=card.approval_id,
        decided_approval=approval_id_for(decided["execution_arn"], "review-0"),
        waiting_run=waiting["run_id"],
        channel=CHANNEL,
        card_ts=card.message_ts or "",
        requester=REQUESTER,
        approvers=(APPROVER,),
        response_url=stack.slack.response_url(CHANNEL, "UHOSTILE"),
    )

    def prove_with(send: Send) -> Callable[[Hostile], None]:
        return lambda hostile: answer_without_harm(stack, silent_failures, send, hostile)

    ran = fuzz(hostile_requests(targets), HOSTILE_REQUESTS, prove_with(in_process(stack)))
    with over_http(stack) as send:
        ran_over_http = fuzz(hostile_requests(targets), OVER_HTTP, prove_with(send))
    assert ran >= HOSTILE_REQUESTS and ran_over_http >= OVER_HTTP
    assert what_users_see(stack, decided, waiting) == before

    assert click_approve(stack, waiting) == 200
    output = stack.output(waiting)
    assert output["status"] == "delivered"
    assert [d["decider"]["id"] for d in output["decisions"]] == [APPROVER]
    resumed = stack.agent.deps.store.get_callback_id(card.approval_id)
    assert stack.callbacks.sent == [*before["callbacks sent"], resumed]
    assert silent_failures.describe() == []


def test_a_run_id_too_long_to_be_a_table_key_gets_an_answer_not_an_error(
    make_fault_stack: FaultStackFactory, silent_failures: SilentFailures
) -> None:
    """``/agent status`` and ``cancel`` take whatever the user types as the run's id."""
    stack = make_fault_stack(by_turn(draft("Status: green.")))
    waiting = start(stack, "trig-waiting")
    card = stack.card(waiting, "review-0")
    too_long = "r" * 3_000  # a DynamoDB key holds at most 2,048 bytes

    for verb in ("status", "cancel"):
        answered = len(stack.ephemerals_to(REQUESTER))
        assert (
            stack.command(f"{verb} {too_long}", user=REQUESTER, channel=CHANNEL)["statusCode"]
            == 200
        )
        stack.settle()
        assert len(stack.ephemerals_to(REQUESTER)) == answered + 1, f"no answer to {verb}"
        assert "There is no run" in stack.ephemerals_to(REQUESTER)[-1]

    assert silent_failures.describe() == []
    assert stack.record(waiting, "review-0") == card
