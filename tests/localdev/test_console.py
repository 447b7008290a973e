"""signoff dev's console: one readable line per event; JSON only when asked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from agent.telemetry import agent_logger
from localdev import console
from localdev.cli import _parser
from localdev.console import ConsoleFormatter, describe

NAMES = {"UALICE": "alice"}
RUN = {"run_id": "slack-1a2b"}


@pytest.mark.parametrize(
    ("message", "fields", "said"),
    [
        (
            "run started",
            {"requester": "UALICE", "source": "slack"},
            "run started: asked by alice (from slack)",
        ),
        (
            "model turn",
            {
                "turn": 0,
                "tool_calls": ["read", "read", "post"],
                "input_tokens": 1200,
                "output_tokens": 30,
            },
            "turn 1: asks for read (2 calls), post (1,200 tokens in, 30 out)",
        ),
        (
            "model turn",
            {"turn": 1, "tool_calls": [], "stop_reason": "end_turn"},
            "turn 2: wrote a draft (0 tokens in, 0 out)",
        ),
        (
            "tool call",
            {"tool": "post_slack_message", "status": "changes_requested"},
            "tool call post_slack_message: changes requested",
        ),
        (
            "tool call",
            {"tool": "read_slack_history", "status": "ok"},
            "tool call read_slack_history: done",
        ),
        (
            "card posted",
            {"title": "run post_slack_message"},
            "card posted: run post_slack_message (waiting for a decision)",
        ),
        (
            "decision",
            {"decision": "revise", "by": "bob", "title": "the answer"},
            "bob asked for changes to the answer",
        ),
        (
            "decision",
            {"decision": "approve", "by": "bob", "title": "run post_slack_message"},
            "bob approved run post_slack_message",
        ),
        ("decision", {"decision": "reject", "by": "UALICE", "title": "x"}, "alice rejected x"),
        (
            "delivered",
            {"in_slack": True, "edited": True},
            "answer delivered as edited in the thread",
        ),
        (
            "run ended",
            {"status": "turn_limit", "cost_usd": 0.01234},
            "run ended: turn limit ($0.0123)",
        ),
        ("something else", {}, "something else"),
    ],
)
def test_each_event_reads_as_what_happened(message: str, fields: dict, said: str) -> None:
    assert describe(message, fields, NAMES) == said


def record(
    message: str, level: int = logging.INFO, name: str = "signoff-agent", **fields: object
) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, message, None, None)
    made.__dict__.update(fields)
    made.created = 1_800_000_000.0
    return made


def test_a_line_has_the_time_the_run_and_what_happened() -> None:
    line = ConsoleFormatter(NAMES).format(
        record("tool call", tool="pause", status="expired", **RUN)
    )
    time, run, text = line.split("  ")
    assert len(time) == 8 and time.count(":") == 2
    assert (run, text) == ("slack-1a2b", "tool call pause: expired")
    other = ConsoleFormatter().format(record("resumed 2 runs", logging.WARNING, "signoff.dev"))
    assert other.endswith("  signoff.dev: warning: resumed 2 runs")


@pytest.fixture
def agent_output() -> Iterator[io.StringIO]:
    """What the agent's logger writes, with the root logger's handlers put back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    handler = agent_logger().registered_handler
    formatter = handler.formatter
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)
    handler.setFormatter(formatter)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_agents_json_lines_become_readable_unless_json_is_asked_for(
    agent_output: io.StringIO,
) -> None:
    agent_logger().info("run ended", extra={"run_id": "r-1", "status": "delivered"})
    assert json.loads(agent_output.getvalue())["status"] == "delivered"  # as in Lambda

    console.configure(json_logs=True)
    agent_logger().info("run ended", extra={"run_id": "r-2", "status": "delivered"})
    assert json.loads(agent_output.getvalue().splitlines()[-1])["run_id"] == "r-2"

    console.configure(json_logs=False, names=NAMES)
    agent_logger().info("run ended", extra={"run_id": "r-3", "status": "delivered"})
    assert agent_output.getvalue().splitlines()[-1].endswith("  r-3  run ended: delivered")


def test_dev_takes_an_address_to_listen_on_and_the_console_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["dev", "--help"])
    shown = capsys.readouterr().out
    assert "--host ADDRESS" in shown and "0.0.0.0" in shown
    assert "--json-logs" in shown and "--metrics" in shown
    args = _parser().parse_args(["dev", "--host", "0.0.0.0", "--json-logs", "--metrics"])
    assert (args.host, args.json_logs, args.metrics) == ("0.0.0.0", True, True)
