"""Long-running tools: polled jobs, jobs that wait in parallel, durable pauses, log exports.

Under the SDK's runner with skip_time, the hours between a job's checks pass at once: what a
test sees is the number of checks, the delays the run planned between them, and the result.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from agent.tools import ToolRegistry, default_registry
from agent.tools.context import ToolContext
from agent.tools.jobs import Done, Failed, JobHandle, JobStatus, Pending, Polling
from tests.fakes.logs import FakeLogs
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_results, tool_use
from tests.scenarios.conftest import HarnessFactory

NOV_30_MILLIS = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp() * 1000)


class ReportArgs(BaseModel):
    report: str


class Checks:
    """Counts each job's checks and keeps their order across jobs."""

    def __init__(self, needed: int, *, fail_with: str | None = None, raising: bool = False):
        self.needed, self.fail_with, self.raising = needed, fail_with, raising
        self.count: Counter[str] = Counter()
        self.order: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, ctx: ToolContext, handle: JobHandle) -> JobStatus:
        with self._lock:
            self.count[handle["report"]] += 1
            seen = self.count[handle["report"]]
            self.order.append((handle["report"], seen))
        if self.raising:
            raise TimeoutError("the report service did not answer")
        if seen < self.needed:
            return Pending(f"{seen} of {self.needed} parts")
        if self.fail_with:
            return Failed(self.fail_with)
        return Done({"report": handle["report"], "checks": seen})


def registry_with(checks: Checks, **polling: Any) -> ToolRegistry:
    registry = default_registry()

    @registry.tool(
        args=ReportArgs, completion=Polling(check=checks, initial_delay_seconds=60, **polling)
    )
    def slow_report(ctx: ToolContext, args: ReportArgs) -> JobHandle:
        """Build a report; it takes a while."""
        return {"report": args.report}

    return registry


def report(call_id: str, name: str) -> dict[str, Any]:
    return tool_use(call_id, "slow_report", report=name)


def test_a_job_polled_fifty_times_finishes_and_claude_reads_its_result(
    make_harness: HarnessFactory,
) -> None:
    checks = Checks(needed=50)
    registry = registry_with(checks, max_attempts=60)
    harness = make_harness(by_turn(calls(report("t1", "q4")), draft("Done.")), tools=registry)
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    run = harness.result(arn)
    assert json.loads(run.result or "{}")["status"] == "delivered"

    assert checks.count["q4"] == 50
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert "is_error" not in result and '"checks": 50' in result["content"]
    polling = registry.get("slow_report").completion  # type: ignore[union-attr]
    assert isinstance(polling, Polling)
    planned = [polling.next_delay({"status": "pending"}, attempt) for attempt in range(1, 50)]
    assert sum(d or 0 for d in planned) > 3 * 3600  # hours of waiting, never spent in a process
    poll = next(op for op in run.get_all_operations() if op.name == "tool-0-0-poll")
    assert poll.attempt == 50  # one durable operation, checkpointed once per check


def test_three_slow_jobs_of_one_turn_wait_in_parallel_and_show_their_next_check(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    checks = Checks(needed=4)
    turn = calls(report("t1", "north"), report("t2", "south"), report("t3", "west"))
    harness = make_harness(by_turn(turn, draft("All three.")), tools=registry_with(checks))
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"

    assert checks.count == {"north": 4, "south": 4, "west": 4}
    first = {name: checks.order.index((name, 1)) for name in checks.count}
    last = {name: checks.order.index((name, 4)) for name in checks.count}
    assert max(first.values()) < min(last.values())  # every job was waiting at the same time
    waiting_lines = [
        sum(
            "slow_report` waiting" in line and "next check" in line
            for line in str(c.args).split("\\n")
        )
        for c in fake_slack.calls_to("chat.update")
    ]
    assert max(waiting_lines) == 3  # the progress message showed all three waiting at once


@pytest.mark.parametrize(
    ("checks", "polling", "expected"),
    [
        (Checks(needed=2, fail_with="quota exceeded"), {}, "slow_report failed: quota exceeded"),
        (Checks(needed=1, raising=True), {"max_check_errors": 3}, "checking failed 3 times"),
        (Checks(needed=99), {"max_attempts": 3}, "did not finish within 3 checks"),
    ],
    ids=["job-failed", "checks-keep-raising", "out-of-checks"],
)
def test_a_job_that_fails_or_never_finishes_is_a_tool_error_and_the_run_goes_on(
    make_harness: HarnessFactory, checks: Checks, polling: dict[str, Any], expected: str
) -> None:
    registry = registry_with(checks, **polling)
    harness = make_harness(by_turn(calls(report("t1", "q4")), draft("Sorry.")), tools=registry)
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert result["is_error"] is True and expected in result["content"]


def test_pause_waits_durably_up_to_the_deployments_cap(make_harness: HarnessFactory) -> None:
    tomorrow = tool_use("t1", "pause", seconds=86_400, reason="check the export tomorrow")
    too_long = tool_use("t2", "pause", seconds=90_000, reason="wait longer")
    harness = make_harness(
        by_turn(calls(tomorrow, too_long), draft("Checked.")), max_pause_seconds=86_400
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    run = harness.result(arn)
    assert json.loads(run.result or "{}")["status"] == "delivered"

    results = tool_results(harness.claude_requests()[1])
    assert "is_error" not in results["t1"] and "Waited 86400 seconds" in results["t1"]["content"]
    assert results["t2"]["is_error"] is True and "at most 86400 seconds" in results["t2"]["content"]
    wait = next(op for op in run.get_all_operations() if op.name == "tool-0-0-pause")
    assert wait.operation_type.value == "WAIT"


@pytest.fixture
def fake_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLogs]:
    with FakeLogs(log_groups={"/aws/lambda/checkout"}) as logs:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs.endpoint_url)
        yield logs


# What this deployment lets export_log_group touch.
EXPORTS = {"export_buckets": ("audit-exports",), "export_log_groups": ("/aws/lambda/*",)}


def export(log_group: str = "/aws/lambda/checkout", bucket: str = "audit-exports") -> Any:
    """Claude's export_log_group call for one day."""
    return tool_use(
        "t1",
        "export_log_group",
        log_group=log_group,
        bucket=bucket,
        **{"from": "2026-11-30T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
    )


def test_a_log_export_is_approved_then_polled_from_pending_to_completed(
    make_harness: HarnessFactory, fake_logs: FakeLogs
) -> None:
    harness = make_harness(by_turn(calls(export()), draft("Exported.")), **EXPORTS)
    arn = harness.start()
    card = harness.approval(arn, "approve-0-0")
    assert card.tool_name == "export_log_group" and fake_logs.tasks == []  # nothing before yes
    harness.decide(card, "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"

    (task,) = fake_logs.tasks
    assert task.request["logGroupName"] == "/aws/lambda/checkout"
    assert task.request["from"] == NOV_30_MILLIS and task.request["destination"] == "audit-exports"
    seen = [
        (action, body.get("taskId"))
        for action, body in fake_logs.calls
        if action != "CreateExportTask"
    ]
    assert len(seen) == 5  # PENDING, PENDING, RUNNING, RUNNING, COMPLETED
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert "is_error" not in result
    assert f"s3://audit-exports/exported-logs/{task.task_id}/" in result["content"]


def test_exporting_a_log_group_that_does_not_exist_is_a_tool_error(
    make_harness: HarnessFactory, fake_logs: FakeLogs
) -> None:
    harness = make_harness(
        by_turn(calls(export(log_group="/aws/lambda/nope")), draft("Could not.")), **EXPORTS
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert result["is_error"] is True and "ResourceNotFoundException" in result["content"]


@pytest.mark.parametrize(
    ("call", "settings", "said"),
    [
        (export(bucket="attacker-bucket"), EXPORTS, "bucket 'attacker-bucket' is not allowed"),
        (export(log_group="/secrets/db"), EXPORTS, "log group '/secrets/db' is not allowed"),
        (export(), {}, "exporting logs is not set up in this deployment"),
    ],
    ids=["other bucket", "other log group", "nothing configured"],
)
def test_an_export_the_deployment_does_not_name_is_refused_and_claude_reads_why(
    make_harness: HarnessFactory,
    fake_logs: FakeLogs,
    call: dict[str, Any],
    settings: dict[str, Any],
    said: str,
) -> None:
    harness = make_harness(by_turn(calls(call), draft("Could not.")), **settings)
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert result["is_error"] is True and said in result["content"]
    assert fake_logs.tasks == []  # nothing was exported
