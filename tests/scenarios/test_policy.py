"""The policy file in a run: `when` decided in a step of its own, a run keeps the policy it
started with, and a policy edited into an invalid state stops new runs and says why."""

from __future__ import annotations

import json
from pathlib import Path

from agent.approvals.gate import approval_id_for
from agent.approvals.policy_source import PolicySource
from agent.approvals.rules import environment_policy
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import APPROVER, CHANNEL, AgentHarness

SANDBOX, ANNOUNCE = "CSANDBOX", "CANNOUNCE"
POLICY = """
[gates.tools.post_slack_message]
when = 'args.channel != "CSANDBOX"'
required = 1
approvers = ["UAPPROVER"]
"""


def source(tmp_path: Path, text: str) -> PolicySource:
    path = tmp_path / "signoff.toml"
    path.write_text(text)
    base = environment_policy(
        approvers=(APPROVER,), deadline_seconds=600, allow_self_approval=False
    )
    return PolicySource(path, base=base, tool_names=["post_slack_message", "read_channel_history"])


def post(channel: str, id_: str = "t1") -> dict[str, object]:
    return tool_use(id_, "post_slack_message", channel=channel, text="hello")


def operation_names(harness: AgentHarness, arn: str) -> list[str]:
    execution = harness.runner._store.load(arn)  # the runner has no public accessor
    return [op.name or "" for op in execution.operations]


def test_when_decides_in_its_own_step_which_calls_wait_for_a_person(
    make_harness: HarnessFactory, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    harness = make_harness(
        by_turn(calls(post(SANDBOX, "t1"), post(ANNOUNCE, "t2")), draft("Done.")),
        policy=source(tmp_path, POLICY),
    )
    arn = harness.start()
    card = harness.approval(arn, "approve-0-1")  # the announcement waits for a person
    assert [m["text"] for m in fake_slack.messages(SANDBOX)] == ["hello"]  # the sandbox did not
    assert harness.deps.store.get_approval(approval_id_for(arn, "approve-0-0")) is None
    assert card.policy_table == "gates.tools.post_slack_message"
    harness.decide(card, "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    names = operation_names(harness, arn)
    assert "approve-0-0-when" in names and "approve-0-1-when" in names


def test_a_run_keeps_the_policy_it_started_with_and_new_runs_read_the_edit(
    make_harness: HarnessFactory, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    policy = source(tmp_path, POLICY)
    harness = make_harness(
        by_turn(calls(post(SANDBOX)), draft("Done.")), policy=policy, skip_time=False
    )
    first = harness.start()
    review = harness.approval(first, "review-1")
    # Mid-run, the sandbox is gated too; the run in flight keeps its policy to the end.
    stricter = POLICY.replace("when = 'args.channel != \"CSANDBOX\"'\n", "")
    (tmp_path / "signoff.toml").write_text(stricter)
    run = harness.deps.store.get_run(review.run_id)
    assert run is not None and run["policy_hash"] != policy.current().digest
    harness.decide(review, "approve")
    assert harness.output(first)["status"] == "delivered"

    second = harness.start(run_id="second-run")
    card = harness.approval(second, "approve-0-0")
    assert card.tool_name == "post_slack_message"
    assert harness.deps.store.get_run("second-run")["policy_hash"] == policy.current().digest  # type: ignore[index]


def test_a_policy_edited_into_an_invalid_state_stops_new_runs_and_says_why(
    make_harness: HarnessFactory, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    policy = source(tmp_path, POLICY)
    harness = make_harness(by_turn(draft("Done.")), policy=policy)
    (tmp_path / "signoff.toml").write_text(POLICY.replace("required = 1", "required = 0"))
    arn = harness.start()
    output = harness.output(arn)
    assert output["status"] == "failed"
    assert "[gates.tools.post_slack_message] required" in output["note"]
    run = harness.deps.store.get_run(output["run_id"])
    assert run is not None
    thread = json.dumps(fake_slack.thread(CHANNEL, run["thread_ts"]))
    assert "the approval policy has problems" in thread and "required" in thread
    assert not harness.claude_requests()  # Claude was never asked
