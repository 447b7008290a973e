"""Status, pending and cancel from Slack; and requests that must be refused without harm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlencode

from agent.approvals.cards import ACTION_APPROVE
from slack_app.modals import EDIT_VIEW
from tests.fakes.aws import FakeLambdaInvoke
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, body_json, wait_for
from tests.slack_app.slack_requests import (
    api_gateway_event,
    button_click,
    interaction,
    slash_command,
    view_submission,
)

CHANNEL = "CGENERAL"


def started(stack: SlackStack, trigger: str = "trig-1") -> dict[str, Any]:
    stack.send(
        slash_command("draft the update", user=REQUESTER, channel=CHANNEL, trigger_id=trigger)
    )
    return stack.run_of(trigger)


def responses(stack: SlackStack) -> list[str]:
    """What the app answered through response_url-less respond(): ephemeral posts."""
    return [e["text"] for e in stack.slack.ephemerals]


def test_status_and_pending_show_runs_and_what_waits_on_the_caller(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    stack.card(run, "review-0")
    status = stack.command(f"status {run['run_id']}", user=REQUESTER, channel=CHANNEL)
    assert status["statusCode"] == 200
    wait_for(
        lambda: any(run["run_id"] in text for text in stack.ephemerals_to(REQUESTER)),
        "status answer",
    )
    assert "waiting for approval" in stack.ephemerals_to(REQUESTER)[-1]

    stack.command("pending", user=APPROVER, channel=CHANNEL)
    wait_for(
        lambda: any("Waiting on you" in t for t in stack.ephemerals_to(APPROVER)), "pending answer"
    )
    assert run["run_id"] in stack.ephemerals_to(APPROVER)[-1]


def test_cancel_stops_the_run_and_closes_its_cards(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    run = started(stack)
    card = stack.card(run, "review-0")
    stack.command(f"cancel {run['run_id']}", user="UOUTSIDER", channel=CHANNEL)
    wait_for(lambda: stack.ephemerals_to("UOUTSIDER"), "refusal")
    assert "Only the requester or an approver" in stack.ephemerals_to("UOUTSIDER")[-1]

    stack.command(f"cancel {run['run_id']}", user=REQUESTER, channel=CHANNEL)
    wait_for(lambda: any("cancelled" in t for t in stack.ephemerals_to(REQUESTER)), "cancel answer")
    result = stack.agent.result(run["execution_arn"])
    assert result.execution_status is not None and result.execution_status.value == "STOPPED"
    assert stack.record(run, "review-0").state == "cancelled"  # type: ignore[union-attr]
    late = button_click(
        ACTION_APPROVE,
        card.approval_id,
        user=APPROVER,
        channel=CHANNEL,
        message_ts=card.message_ts or "",
    )
    assert "cancelled" in stack.answered(APPROVER, lambda: stack.send(late))


def test_bad_and_stale_signatures_get_401(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn())
    body = urlencode({"command": "/agent", "text": "x", "user_id": "U1", "channel_id": CHANNEL})
    forged = api_gateway_event(body, "application/x-www-form-urlencoded", secret="wrong")
    stale = api_gateway_event(body, "application/x-www-form-urlencoded", timestamp=1_000_000)
    assert stack.send(forged)["statusCode"] == 401
    assert stack.send(stale)["statusCode"] == 401
    assert stack.agent.runner._executor.list_executions().durable_executions == []


def test_malformed_payloads_get_a_4xx_never_a_5xx(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn())
    cases = [
        api_gateway_event("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        api_gateway_event("{]", "application/json"),
        interaction(
            {
                "type": "block_actions",
                "user": {"id": "U1"},
                "actions": [{"action_id": "nope", "value": "x"}],
            }
        ),
        interaction(
            {"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "unknown"}}
        ),
    ]
    for event in cases:
        assert 400 <= stack.send(event)["statusCode"] < 500, event["body"]
    assert stack.agent.runner._executor.list_executions().durable_executions == []


def test_deeply_nested_json_gets_a_400_naming_it_and_nothing_happens(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn())
    deep = "[" * 5_000 + "]" * 5_000
    cases = [
        api_gateway_event('{"type": "event_callback", "event": ' + deep + "}", "application/json"),
        api_gateway_event(deep, "application/json"),
        api_gateway_event(urlencode({"payload": deep}), "application/x-www-form-urlencoded"),
        api_gateway_event(
            urlencode({"payload": '{"type": "block_actions", "actions": ' + deep + "}"}),
            "application/x-www-form-urlencoded",
        ),
    ]
    for event in cases:
        answer = stack.send(event)
        assert answer["statusCode"] == 400, event["body"][:80]
        assert "levels deep, deeper than the 32 allowed" in body_json(answer)["error"]
    assert stack.agent.runner._executor.list_executions().durable_executions == []
    # Brackets inside a string are text, not nesting.
    challenge = "x=" + "[" * 5_000
    verification = {"token": "legacy", "type": "url_verification", "challenge": challenge}
    answer = stack.send(api_gateway_event(json.dumps(verification), "application/json"))
    assert answer["statusCode"] == 200 and challenge in answer["body"]


def test_tool_arguments_nested_too_deep_get_a_field_error_in_the_modal(
    make_stack: StackFactory,
) -> None:
    post = tool_use("t1", "post_slack_message", channel="CANNOUNCE", text="hi")
    stack = make_stack(by_turn(calls(post), draft("Posted.")))
    run = started(stack)
    card = stack.card(run, "approve-0-0")
    deep = "[" * 1_400 + "]" * 1_400  # fits the modal's 3,000 characters
    answer = stack.send(view_submission(EDIT_VIEW, card.approval_id, deep, user=APPROVER))
    errors = body_json(answer)
    assert errors["response_action"] == "errors"
    field = errors["errors"]["signoff_field"]
    assert field == "The arguments: JSON nested 1400 levels deep, deeper than the 32 allowed."
    assert stack.record(run, "approve-0-0").state == "pending"  # type: ignore[union-attr]


def test_the_ack_path_never_imports_anthropic(fake_slack: FakeSlack) -> None:
    """A cold start must ack fast: the Slack function never loads the model client."""
    lambda_endpoint = FakeLambdaInvoke()
    env = {
        **os.environ,
        "SLACK_API_URL": fake_slack.api_url,
        "AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint.endpoint_url,
    }
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.cold_ack"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    finally:
        lambda_endpoint.stop()
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200, completed.stderr[-3000:]
    assert outcome["anthropic_imported"] is False
    assert len(lambda_endpoint.invocations) == 1  # the lazy listener's self-invoke
