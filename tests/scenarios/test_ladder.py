"""The reminder ladder under the durable runner with time skipped: days pass at once, and the
history shows each rung waiting exactly as long as the policy says."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.approvals.rules import Escalation, GateRule, environment_policy
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import APPROVER, CHANNEL, REQUESTER, AgentHarness
from tests.slack_app.conftest import wait_for

HOUR, DAY = 3600, 24 * 3600
LEAD = "ULEAD"


def history(harness: AgentHarness, arn: str) -> list[dict[str, Any]]:
    execution = harness.runner._store.load(arn)  # the runner has no public accessor
    return [op.to_json_dict() for op in execution.operations]


def climbed(harness: AgentHarness, arn: str, last: str) -> list[dict[str, Any]]:
    """The gate's ladder operations once ``last`` has succeeded (else empty)."""
    ladder = [op for op in history(harness, arn) if op["Name"].startswith("review-0-")]
    done = any(op["Name"] == last and op["Status"] == "SUCCEEDED" for op in ladder)
    return ladder if done else []


def waited(ops: list[dict[str, Any]]) -> dict[str, float]:
    """Each durable wait's length in seconds, by name."""
    return {
        op["Name"]: (op["WaitDetails"]["ScheduledEndTimestamp"] - op["StartTimestamp"]) / 1000
        for op in ops
        if op.get("Type") == "WAIT"
    }


def test_reminders_and_the_escalation_come_at_their_times_to_the_right_people(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.usergroups["SLEADS"] = [LEAD, REQUESTER]
    rule = GateRule(
        table="gates.draft",
        approvers=(APPROVER,),
        remind_seconds=(4 * HOUR, DAY),
        deadline_seconds=2 * DAY,
        escalate=Escalation(after_seconds=DAY, to=("SLEADS",)),
    )
    base = environment_policy(
        approvers=(APPROVER,), deadline_seconds=600, allow_self_approval=False
    )
    harness = make_harness(by_turn(draft("Status: green.")), policy=replace(base, draft=rule))
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    # Time is skipped: every rung runs at once, while the gate still waits.
    ladder = wait_for(lambda: climbed(harness, arn, "review-0-remind-1"), "the last rung")
    assert waited(ladder) == {"review-0-wait-0": 4 * HOUR, "review-0-wait-1": DAY - 4 * HOUR}
    steps = [op["Name"] for op in ladder if op["Type"] == "STEP" and op["Status"] == "SUCCEEDED"]
    assert steps == ["review-0-remind-0", "review-0-escalate", "review-0-remind-1"]

    thread = fake_slack.thread(CHANNEL, card.thread_ts or "")
    reminders = [str(m["blocks"]) for m in thread if "Reminder:" in m["text"]]
    assert len(reminders) == 2
    assert "is waiting on <@UAPPROVER>." in reminders[0]
    # After the escalation, the leads are reminded too (never the requester, who is one).
    assert "is waiting on <@UAPPROVER>, <@ULEAD>." in reminders[1]
    assert [m["text"] for m in fake_slack.messages(f"D{LEAD}")] == [
        "Escalated to you: the answer",
        "Reminder: the answer",
    ]
    assert not fake_slack.messages(f"D{REQUESTER}")

    harness.decide(card, "approve")
    assert harness.output(arn)["status"] == "delivered"
    race = next(op for op in history(harness, arn) if op["Name"] == "review-0-race")
    assert race["Status"] == "SUCCEEDED"
