"""Starting runs from Slack: quick acks, one run per delivery however often it comes."""

from __future__ import annotations

import json

from agent.approvals.cards import ACTION_APPROVE
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import StackFactory, wait_for
from tests.slack_app.slack_requests import app_mention, button_click, slash_command

CHANNEL = "CGENERAL"


def test_slash_command_acks_opens_a_thread_and_runs_to_an_approved_answer(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Weekly status: green.")))
    response = stack.send(slash_command("draft the weekly status", user=REQUESTER, channel=CHANNEL))
    assert response["statusCode"] == 200
    assert "On it: draft the weekly status" in response["body"]

    run = stack.run_of("trig-1")
    root = stack.slack.messages(CHANNEL)[0]
    assert root["ts"] == run["thread_ts"] and f"<@{REQUESTER}>" in root["text"]
    card = stack.card(run, "review-0")
    click = button_click(
        ACTION_APPROVE,
        card.approval_id,
        user=APPROVER,
        channel=CHANNEL,
        message_ts=card.message_ts or "",
    )
    assert stack.send(click)["statusCode"] == 200

    assert stack.output(run)["status"] == "delivered"
    callback_id = stack.agent.deps.store.get_callback_id(card.approval_id)
    assert callback_id and callback_id not in json.dumps([c.args for c in stack.slack.calls])
    locked = next(
        m for m in stack.slack.thread(CHANNEL, run["thread_ts"]) if m["ts"] == card.message_ts
    )
    assert "Approved by" in str(locked["blocks"]) and "actions" not in str(locked["blocks"])
    assert "Weekly status: green." in stack.slack.thread(CHANNEL, run["thread_ts"])[-1]["text"]


def test_a_repeated_delivery_never_starts_a_second_run(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Done.")))
    request = slash_command("do it", user=REQUESTER, channel=CHANNEL, trigger_id="trig-same")
    stack.send(request)
    run = stack.run_of("trig-same")
    stack.card(run, "review-0")
    stack.send(request)  # Slack or a user delivering the same command again
    executions = stack.agent.runner._executor.list_executions().durable_executions
    wait_for(lambda: len(stack.slack.calls_to("chat.postEphemeral")) >= 0, "settle")
    assert len(executions) == 1
    assert len(stack.slack.messages(CHANNEL)) == 1
    assert len(stack.agent.claude_requests()) == 1


def test_a_mention_starts_a_run_in_its_thread_and_retries_are_ignored(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Answer.")))
    mention = app_mention(
        "<@UBOT> summarise the incident for <@UBOB>",
        user=REQUESTER,
        channel=CHANNEL,
        ts="1700000001.000001",
        event_id="Ev1",
    )
    assert stack.send(mention)["statusCode"] == 200
    retried = app_mention(
        "<@UBOT> summarise the incident for <@UBOB>",
        user=REQUESTER,
        channel=CHANNEL,
        ts="1700000001.000001",
        event_id="Ev1",
        retry=1,
    )
    assert stack.send(retried)["statusCode"] == 200

    def approval_in_thread() -> bool:
        return any(
            "Approval needed" in m["text"] for m in stack.slack.thread(CHANNEL, "1700000001.000001")
        )

    wait_for(approval_in_thread, "the card in the mention's thread")
    assert len(stack.agent.runner._executor.list_executions().durable_executions) == 1
    task = stack.agent.claude_requests()[0]["messages"][0]["content"][0]["text"]
    assert task.endswith("\n\nsummarise the incident for <@UBOB>")  # the app's mention only


def test_help_and_empty_command_answer_with_usage(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn())
    for text in ("", "help"):
        body = stack.send(slash_command(text, user=REQUESTER, channel=CHANNEL))["body"]
        for subcommand in ("&lt;task&gt;", "status", "pending", "cancel", "usage", "help"):
            assert f"/agent {subcommand}" in body
