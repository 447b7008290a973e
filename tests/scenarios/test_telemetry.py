"""What a run writes for operators: JSON log lines with the execution ARN, and EMF metrics,
each event once however many times the run was replayed."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from agent.telemetry import agent_logger
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_use
from tests.scenarios.conftest import HarnessFactory


def emf_records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def total(records: list[dict[str, Any]], metric: str) -> float:
    """A metric summed over records (EMF holds a number, or a list of them)."""
    values = [record[metric] for record in records if metric in record]
    return sum(sum(v) if isinstance(v, list) else float(v) for v in values)


def test_a_run_logs_and_counts_each_event_once(
    make_harness: HarnessFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = agent_logger().registered_handler
    lines = io.StringIO()
    previous = handler.setStream(lines)
    try:
        harness = make_harness(
            by_turn(
                calls(tool_use("t0", "read_slack_history", channel=CHANNEL, limit=5)),
                draft("All quiet."),
            )
        )
        arn = harness.start(task="is the channel quiet?")
        harness.decide(harness.approval(arn, "review-1"), "approve")  # a second invocation
        output = harness.output(arn)
    finally:
        handler.setStream(previous)

    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    started = [line for line in logged if line["message"] == "run started"]
    assert len(started) == 1  # the resumed invocation replays it without writing it again
    assert started[0]["executionArn"] == arn
    assert started[0]["run_id"] == output["run_id"]
    assert "task" not in started[0]  # the user's words only at DEBUG
    assert [line["turn"] for line in logged if line["message"] == "model turn"] == [0, 1]
    assert [line["status"] for line in logged if line["message"] == "run ended"] == ["delivered"]
    assert all(line["service"] == "signoff-agent" for line in logged)
    # One line per event, in order, however many invocations replayed the run.
    events = [line["message"] for line in logged]
    assert events == [
        "run started",
        "model turn",
        "tool call",
        "model turn",
        "card posted",
        "decision",
        "delivered",
        "run ended",
    ]
    (tool,) = [line for line in logged if line["message"] == "tool call"]
    assert (tool["tool"], tool["status"], tool["turn"]) == ("read_slack_history", "ok", 0)
    (decision,) = [line for line in logged if line["message"] == "decision"]
    assert (decision["decision"], decision["by"], decision["gate"]) == (
        "approve",
        "Ada Approver",
        "review-1",
    )
    assert all(line["run_id"] == output["run_id"] for line in logged)

    records = emf_records(capsys.readouterr().out)
    assert total(records, "RunsStarted") == 1
    assert total(records, "RunsSucceeded") == 1
    assert total(records, "InputTokens") == output["usage"]["total"]["input_tokens"]
    assert total(records, "OutputTokens") == output["usage"]["total"]["output_tokens"]
    by_model = [r for r in records if "model" in r]
    overall = [r for r in records if "CostUSD" in r and "model" not in r]
    assert total(by_model, "CostUSD") == pytest.approx(output["usage"]["cost_usd"])
    assert total(overall, "CostUSD") == pytest.approx(output["usage"]["cost_usd"])  # the alarm's
    namespaces = {ns["Namespace"] for r in records for ns in r["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"signoff"}
