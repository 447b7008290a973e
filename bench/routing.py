"""What routing costs: a reminder's durable operations and checkpoint bytes, and a quorum's
last vote against a single approver's click.

- ``reminder_operations`` and ``reminder_checkpoint_bytes``: a run whose answer waits on a gate
  with 1, then 5, reminders, under the durable runner with time skipped (a reminder day
  passes at once), approved once every rung ran. The difference over the four extra
  reminders, per reminder, counted from the runner's store. ``ladder_operations`` is what the
  race itself adds to a gate (the parallel, its two branches) over a gate with no reminder.
- ``quorum_last_vote_to_resume_ms`` against ``single_click_to_resume_ms``: on ``signoff dev``
  with a policy file, one run asks to post (a tool gate, one approver) and then for sign-off
  on its answer (two of three approvers). From a signed click to the first Slack Web API write
  only the resumed run makes: the post itself, then the delivered answer. Median of 5 runs.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from agent.approvals.decisions import Approve
from agent.approvals.gate import approval_id_for
from agent.approvals.rules import FixedPolicy, GateRule, environment_policy
from agent.control.runs import ControlPlane, Decided
from bench.click_to_resume import (
    CHANNEL,
    REQUESTER,
    TimedSlack,
    dev_stack,
    is_card,
    metadata_key,
    metadata_of,
    post_event,
    stack_env,
    stored_ts,
)
from bench.harness import (
    REVIEWER,
    RunnerLambda,
    aws_stand_ins,
    counted_operations,
    fresh_table_and_bucket,
    log,
    quiet,
    stored_operations,
)
from bench.results import merge_results
from bench.workload import ScriptedModel, bench_deps, bench_handler, bench_settings, run_event
from tests.slack_app.slack_requests import button_click, slash_command

FEW, MANY = 1, 5
DAY = 24 * 3600
SAMPLES = 5
APPROVERS = ("UBOB", "UCAROL", "UDAVE")
POLICY = f"""
[gates.tools.post_slack_message]
approvers = ["{APPROVERS[0]}"]
required = 1

[gates.draft]
approvers = {json.dumps(list(APPROVERS))}
required = 2
"""


def ladder_run(reminders: int) -> tuple[int, int]:
    """Operations and checkpoint bytes of a run whose answer waits through ``reminders``."""
    table, bucket = fresh_table_and_bucket()
    settings = bench_settings(table, bucket, turns=0, approvers=(REVIEWER.id,))
    rule = GateRule(
        table="gates.draft",
        approvers=(REVIEWER.id,),
        remind_seconds=tuple(DAY * (i + 1) for i in range(reminders)),
        deadline_seconds=DAY * (reminders + 2),
    )
    base = environment_policy(
        approvers=(REVIEWER.id,), deadline_seconds=DAY, allow_self_approval=False
    )
    deps = replace(
        bench_deps(settings, ScriptedModel(0)), policy=FixedPolicy(replace(base, draft=rule))
    )
    with quiet(), DurableFunctionTestRunner(handler=bench_handler(deps), skip_time=True) as runner:
        arn = runner.run_async(input=json.dumps(run_event()), execution_timeout=600)
        gate = approval_id_for(arn, "review-0")
        _wait(lambda: (r := deps.store.get_approval(gate)) and r.reminders_sent == reminders)
        plane = ControlPlane(
            store=deps.store, lambda_client=RunnerLambda(runner), agent_function=""
        )
        assert isinstance(plane.decide(gate, Approve(decider=REVIEWER, at=_now())), Decided)
        runner.wait_for_result(arn, timeout=600)
        stored = stored_operations(runner, arn)
    return counted_operations(stored), sum(op.payload_bytes for op in stored)


def _wait(probe: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.01)
    raise TimeoutError("the ladder did not reach its last rung")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def reminder_costs() -> dict[str, float]:
    with aws_stand_ins():
        log(f"routing: a gate with {FEW} and {MANY} reminders, under the durable runner")
        plain_ops, _ = ladder_run(0)
        few_ops, few_bytes = ladder_run(FEW)
        many_ops, many_bytes = ladder_run(MANY)
    per = MANY - FEW
    return {
        "reminder_operations": (many_ops - few_ops) / per,
        "reminder_checkpoint_bytes": round((many_bytes - few_bytes) / per),
        "ladder_operations": few_ops - plain_ops - 2 * FEW,
    }


def click(url: str, approval_id: str, ts: str, user: str, trigger: str) -> float:
    """Send a signed Approve click; when it was sent (``perf_counter``)."""
    event = button_click(
        "signoff_approve",
        approval_id,
        user=user,
        channel=CHANNEL,
        message_ts=ts,
        trigger_id=trigger,
    )
    sent = time.perf_counter()
    post_event(url, event)
    return sent


def _card(slack: TimedSlack, after: float, title: str) -> tuple[str, str]:
    """The approval id and ts of the next card whose header names ``title``."""
    _, _, card = slack.first(after, lambda m, a: is_card(m, a) and title in json.dumps(a))
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    return str(actions["elements"][0]["value"]), stored_ts(slack, card)


def quorum_sample(url: str, slack: TimedSlack, index: int) -> dict[str, float]:
    started = time.perf_counter()
    command = slash_command(
        f"announce release {index} in <#{CHANNEL}|bench> and draft a note",
        user=REQUESTER,
        channel=CHANNEL,
        trigger_id=f"routing-{index}-{time.time_ns()}",
        response_url=slack.response_url(CHANNEL, REQUESTER),
    )
    post_event(url, command)
    tool_id, tool_ts = _card(slack, started, "post_slack_message")
    sent = click(url, tool_id, tool_ts, APPROVERS[0], f"t-{index}-tool")
    posted, _, _ = slack.first(sent, lambda m, a: m == "chat.postMessage" and _tool_post(a))
    single = posted - sent
    draft_id, draft_ts = _card(slack, sent, "the answer")
    click(url, draft_id, draft_ts, APPROVERS[1], f"t-{index}-first")
    time.sleep(0.5)  # a person's second vote comes later, after the first settled
    last = click(url, draft_id, draft_ts, APPROVERS[2], f"t-{index}-last")
    delivered, _, _ = slack.first(last, lambda m, a: m == "chat.postMessage" and _final(a))
    return {"single": single * 1000, "quorum": (delivered - last) * 1000}


def _final(args: dict[str, Any]) -> bool:
    """The delivered answer (the resumed run's first post after the draft's last vote)."""
    return metadata_key(args).endswith("-final")


def _tool_post(args: dict[str, Any]) -> bool:
    """post_slack_message's own post (the resumed run's first post after the tool's click)."""
    return metadata_of(args).get("event_type") == "signoff_tool_post"


def click_costs() -> dict[str, float]:
    slack = TimedSlack()
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "signoff.toml"
        policy.write_text(POLICY)
        env = stack_env(slack) | {"SIGNOFF_POLICY": str(policy), "APPROVERS": ",".join(APPROVERS)}
        with slack, dev_stack(env) as url:
            log(f"routing: {SAMPLES} runs on signoff dev, a 1-of-1 tool gate then a 2-of-3 answer")
            samples = [quorum_sample(url, slack, i) for i in range(SAMPLES)]
    return {
        "single_click_to_resume_ms": round(statistics.median(s["single"] for s in samples), 1),
        "quorum_last_vote_to_resume_ms": round(statistics.median(s["quorum"] for s in samples), 1),
    }


def main() -> None:
    metrics = reminder_costs() | click_costs()
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
