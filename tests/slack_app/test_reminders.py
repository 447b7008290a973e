"""Reminders, escalation and the deadline, on the real clock (seconds stand in for days).

The gate's callback races a ladder of durable waits; these tests run the handler under the
SDK's runner without skipping time, so a reminder is seen arriving (or not) as it would.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from agent.approvals.cards import ACTION_APPROVE
from agent.approvals.rules import Escalation, GateRule, Policy, ToolRule, environment_policy
from agent.storage.audit import AuditLog
from agent.storage.audit_chain import verify
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import button_click, slash_command

CHANNEL, OPS = "CGENERAL", "COPS"
ADA, BOB, LEAD = "UADA", "UBOB", "ULEAD"
ANNOUNCE = tool_use("t_post", "post_slack_message", channel="CANNOUNCE", text="We ship today")


def policy(*, draft_rule: GateRule | None = None, post: GateRule | None = None) -> Policy:
    base = environment_policy(approvers=(ADA,), deadline_seconds=600, allow_self_approval=False)
    tools = {"post_slack_message": ToolRule(rule=post)} if post else {}
    return replace(base, draft=draft_rule or base.draft, tools=tools)


def started(stack: SlackStack, trigger: str = "trig-1") -> dict[str, Any]:
    stack.send(
        slash_command("draft the update", user=REQUESTER, channel=CHANNEL, trigger_id=trigger)
    )
    return stack.run_of(trigger)


def click(
    stack: SlackStack, card: Any, user: str, trigger: str, *, channel: str = CHANNEL, ts: str = ""
) -> dict[str, Any]:
    return stack.send(
        button_click(
            ACTION_APPROVE,
            card.approval_id,
            user=user,
            channel=channel,
            message_ts=ts or card.message_ts or "",
            trigger_id=trigger,
            thread_ts=None if channel != CHANNEL else card.thread_ts,
        )
    )


def bobs_dms(stack: SlackStack) -> list[str]:
    return [m["text"] for m in stack.slack.messages("DUBOB")]


def audited(stack: SlackStack, run: dict[str, Any]) -> list[str]:
    """The kinds of the run's audit entries, once the chain verifies."""
    entries = AuditLog(stack.agent.deps.store.table).entries(run["run_id"])
    assert verify(entries).ok
    return [e["kind"] for e in entries]


def reminders(slack: FakeSlack, card: Any) -> list[str]:
    return [
        str(m.get("blocks"))
        for m in slack.thread(CHANNEL, card.thread_ts)
        if "Reminder:" in str(m.get("text"))
    ]


def test_reminders_mention_who_has_not_voted_and_none_comes_after_the_decision(
    make_stack: StackFactory,
) -> None:
    rule = GateRule(table="gates.draft", approvers=(ADA, BOB), required=2, remind_seconds=(1, 4))
    stack = make_stack(
        by_turn(draft("Status: green.")), policy=policy(draft_rule=rule), skip_time=False
    )
    asked_at = time.monotonic()
    run = started(stack)
    card = stack.card(run, "review-0")
    posted_at = time.monotonic()  # the ladder started a moment before
    stack.answered(ADA, lambda: click(stack, card, ADA, "t-ada"))

    (first,) = wait_for(lambda: reminders(stack.slack, card), "the first reminder", timeout=10)
    assert "is waiting on <@UBOB>." in first  # not on Ada, whose approval counted
    assert "Approved by <@UADA> · 1 of 2" in first
    assert time.monotonic() - asked_at >= 1
    record = stack.record(run, "review-0")
    assert record is not None and record.reminders_sent == 1
    # Each approver got a DM when the card opened; only Bob, who had not voted, a reminder.
    bobs = wait_for(lambda: len(bobs_dms(stack)) > 1 and bobs_dms(stack), "Bob's reminder DM")
    assert bobs == ["Approval needed: the answer", "Reminder: the answer"]
    assert [m["text"] for m in stack.slack.messages("DUADA")] == ["Approval needed: the answer"]

    click(stack, card, BOB, "t-bob")
    assert stack.output(run)["status"] == "delivered"
    time.sleep(max(0.0, 4.5 - (time.monotonic() - posted_at)))  # past the second rung's time
    assert len(reminders(stack.slack, card)) == 1
    kinds = audited(stack, run)
    assert kinds.count("reminder_sent") == 1 and kinds.count("vote") == 2  # Ada, then Bob


def test_escalation_lets_more_people_decide_and_a_click_on_its_copy_decides_once(
    make_stack: StackFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.usergroups["SLEADS"] = [LEAD]
    escalation = Escalation(after_seconds=1, to=("SLEADS",), channel=OPS)
    rule = GateRule(table="gates.draft", approvers=(ADA,), escalate=escalation)
    stack = make_stack(
        by_turn(draft("Status: green.")), policy=policy(draft_rule=rule), skip_time=False
    )
    run = started(stack)
    card = stack.card(run, "review-0")
    early = stack.answered(LEAD, lambda: click(stack, card, LEAD, "t-lead-early"))
    assert "not one of the approvers" in early

    escalated = wait_for(
        lambda: (r := stack.record(run, "review-0")) and r.escalation_ts and r,
        "the escalation",
        timeout=10,
    )
    assert escalated.escalated_to == ("SLEADS",)
    (copy,) = [m for m in fake_slack.messages(OPS) if m["ts"] == escalated.escalation_ts]
    assert "Escalated to <!subteam^SLEADS>" in str(copy["blocks"])
    thread = str(fake_slack.thread(CHANNEL, card.thread_ts))
    assert "Escalated to <!subteam^SLEADS>" in thread
    leads = wait_for(lambda: [m["text"] for m in fake_slack.messages("DULEAD")], "the lead's DM")
    assert leads == ["Escalated to you: the answer"]

    click(stack, card, LEAD, "t-lead", channel=OPS, ts=escalated.escalation_ts)
    output = stack.output(run)
    assert output["status"] == "delivered"
    assert output["decisions"][0]["decider"]["id"] == LEAD
    late = stack.answered(ADA, lambda: click(stack, card, ADA, "t-ada"))
    assert "already decided" in late
    assert {"approval_requested", "escalated", "decided", "delivered"} <= set(audited(stack, run))


def test_at_the_deadline_a_tool_call_goes_back_as_not_decided_and_the_run_goes_on(
    make_stack: StackFactory,
) -> None:
    rule = GateRule(table="gates.tools.post_slack_message", approvers=(ADA,), deadline_seconds=1)
    stack = make_stack(
        by_turn(calls(ANNOUNCE), draft("Not posted.")), policy=policy(post=rule), skip_time=False
    )
    run = started(stack)
    card = stack.card(run, "approve-0-0")
    draft_card = stack.card(run, "review-1")
    assert draft_card.approval_id != card.approval_id
    told = str(stack.agent.claude_requests()[1]["messages"][-1])
    assert "Nobody decided on this call to post_slack_message" in told
    assert "not a rejection by a person" in told and "Do not call post_slack_message again" in told
    record = stack.record(run, "approve-0-0")
    assert record is not None and record.state == "expired"
    (shown,) = [
        m for m in stack.slack.thread(CHANNEL, card.thread_ts) if m["ts"] == card.message_ts
    ]
    assert "No decision by" in str(shown["blocks"]) and "Rejected" not in str(shown["blocks"])
    assert not stack.slack.messages("CANNOUNCE")


def test_at_the_deadline_end_run_ends_the_run_and_says_so_in_the_thread(
    make_stack: StackFactory,
) -> None:
    rule = GateRule(
        table="gates.tools.post_slack_message",
        approvers=(ADA,),
        deadline_seconds=1,
        on_timeout="end_run",
    )
    stack = make_stack(
        by_turn(calls(ANNOUNCE), draft("Not posted.")), policy=policy(post=rule), skip_time=False
    )
    run = started(stack)
    output = stack.output(run)
    assert output["status"] == "expired"
    assert output["note"] == "nobody decided on post_slack_message before the deadline"
    thread = str(stack.slack.thread(CHANNEL, run["thread_ts"]))
    assert "nobody decided on post_slack_message before the deadline" in thread
    assert len(stack.agent.claude_requests()) == 1  # Claude was not asked again
    kinds = audited(stack, run)
    assert "expired" in kinds and "decided" not in kinds and kinds[-1] == "run_ended"
