"""Standing approvals: "Approve and allow <tool> for this run", its use and its revocation,
through signed Slack requests."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

from agent.approvals.cards import ACTION_APPROVE_STANDING
from agent.approvals.rules import GateRule, ToolRule, environment_policy
from agent.messages import ACTION_REVOKE
from agent.storage.audit import AuditLog
from slack_app.modals import REJECT_VIEW
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import button_click, slash_command, view_submission

CHANNEL = "CGENERAL"


def post(i: int) -> dict[str, Any]:
    return tool_use(f"t{i}", "post_slack_message", channel=f"CPOST{i}", text=f"post {i}")


def sticky_policy() -> Any:
    base = environment_policy(
        approvers=(APPROVER,), deadline_seconds=600, allow_self_approval=False
    )
    rule = GateRule(table="gates.tools.post_slack_message", approvers=(APPROVER,))
    return replace(base, tools={"post_slack_message": ToolRule(rule=rule, sticky=True)})


def progress_of(stack: SlackStack, run: dict[str, Any]) -> dict[str, Any]:
    record = stack.agent.deps.store.get_run(run["run_id"]) or {}
    (message,) = [
        m for m in stack.slack.thread(CHANNEL, run["thread_ts"]) if m["ts"] == record["progress_ts"]
    ]
    return message


def test_a_standing_approval_lets_three_calls_run_and_a_revoke_stops_the_fourth(
    make_stack: StackFactory,
) -> None:
    revoked = threading.Event()

    def after_the_revoke(body: dict[str, Any]) -> Any:
        revoked.wait(30)
        return calls(post(4))

    script = by_turn(
        calls(post(0)), calls(post(1), post(2), post(3)), after_the_revoke, draft("Done.")
    )
    stack = make_stack(script, policy=sticky_policy())
    stack.send(slash_command("post a lot", user=REQUESTER, channel=CHANNEL, trigger_id="trig-1"))
    run = stack.run_of("trig-1")
    card = stack.card(run, "approve-0-0")
    assert card.sticky
    stack.send(
        button_click(
            ACTION_APPROVE_STANDING,
            card.approval_id,
            user=APPROVER,
            channel=CHANNEL,
            message_ts=card.message_ts or "",
            thread_ts=card.thread_ts,
        )
    )
    for i in range(4):  # the approved call, then three without a card
        wait_for(lambda i=i: stack.slack.messages(f"CPOST{i}"), f"post {i}")
    for i in (1, 2, 3):
        assert stack.record(run, f"approve-1-{i - 1}") is None  # no card was posted for them
    shown = [json.dumps(c.args.get("blocks")) for c in stack.slack.calls_to("chat.update")]
    # The turn's progress listed each call as allowed by the standing approval.
    assert any(p.count("allowed by @uapprover's standing approval") == 3 for p in shown)
    progress = json.dumps(progress_of(stack, run)["blocks"])
    assert "is allowed for this run by <@UAPPROVER>" in progress

    revoke = [
        e
        for b in progress_of(stack, run)["blocks"]
        if b.get("accessory", {}).get("action_id") == ACTION_REVOKE
        for e in [b["accessory"]]
    ]
    (button,) = revoke
    told = stack.answered(
        REQUESTER,
        lambda: stack.send(
            button_click(
                ACTION_REVOKE,
                button["value"],
                user=REQUESTER,
                channel=CHANNEL,
                message_ts=progress_of(stack, run)["ts"],
                thread_ts=run["thread_ts"],
            )
        ),
    )
    assert "revoked: its next call asks again" in told
    revoked.set()

    fourth = stack.card(run, "approve-2-0")  # the fourth later call asks again
    assert fourth.tool_name == "post_slack_message" and not stack.slack.messages("CPOST4")
    stack.send(view_submission(REJECT_VIEW, fourth.approval_id, "no more", user=APPROVER))
    answer = stack.card(run, "review-3")
    stack.send(
        button_click(
            "signoff_approve",
            answer.approval_id,
            user=APPROVER,
            channel=CHANNEL,
            message_ts=answer.message_ts or "",
            thread_ts=answer.thread_ts,
        )
    )
    assert stack.output(run)["status"] == "delivered"
    assert not stack.slack.messages("CPOST4")
    # Recorded like any decision: granted once, used three times, revoked once.
    log = AuditLog(stack.agent.deps.store.table).entries(run["run_id"])
    kinds = [e["kind"] for e in log]
    assert kinds.count("standing_granted") == 1 and kinds.count("standing_revoked") == 1
    assert kinds.count("standing_used") == 3
