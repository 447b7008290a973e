"""What ``signoff dev`` prints: one readable line per event, or the JSON Lambda writes.

The handlers log as they do in Lambda (Powertools JSON, with the run's fields); here those
records are formatted for a person instead: the time, the run, and what happened (run
started, a model turn, a tool call, a card posted, a decision and by whom, the answer
delivered, the run ended). ``--json-logs`` keeps the JSON, and EMF metric records are only
printed with ``--metrics`` (Powertools' own switch, ``POWERTOOLS_METRICS_DISABLED``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent.telemetry import agent_logger

METRICS_SWITCH = "POWERTOOLS_METRICS_DISABLED"
VERBS = {
    "approve": "approved",
    "edit": "edited and approved",
    "revise": "asked for changes to",
    "reject": "rejected",
}
STATUS = {"ok": "done", "error": "failed", "changes_requested": "changes requested"}


def describe(message: str, fields: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """What a log record says happened, in a few words."""
    title = fields.get("title", "")
    match message:
        case "run started":
            who = names.get(str(fields.get("requester")), fields.get("requester"))
            return f"run started: asked by {who} (from {fields.get('source')})"
        case "model turn":  # numbered from 1, as the run's progress message counts turns
            return f"turn {int(fields.get('turn') or 0) + 1}: {_turn(fields)}"
        case "tool call":
            status = str(fields.get("status"))
            return f"tool call {fields.get('tool')}: {STATUS.get(status, status.replace('_', ' '))}"
        case "card posted":
            return f"card posted: {title} (waiting for a decision)"
        case "approval requested":
            return f"waiting for a decision: {title} (no Slack thread: decide through the API)"
        case "decision":
            verb = VERBS.get(str(fields.get("decision")), str(fields.get("decision")))
            by = str(fields.get("by"))
            return f"{names.get(by, by)} {verb} {title}"  # the API's decider is an id
        case "approval expired":
            return f"nobody decided in time: {title}"
        case "delivered":
            where = "in the thread" if fields.get("in_slack") else "(no Slack thread)"
            edited = " as edited" if fields.get("edited") else ""
            return f"answer delivered{edited} {where}"
        case "run ended":
            cost = fields.get("cost_usd")
            spent = f" (${float(cost):.4f})" if isinstance(cost, int | float) else ""
            return f"run ended: {str(fields.get('status')).replace('_', ' ')}{spent}"
        case _:
            return message


def _turn(fields: Mapping[str, Any]) -> str:
    named = [str(name) for name in fields.get("tool_calls") or []]
    counted = {name: named.count(name) for name in named}
    calls = [name if n == 1 else f"{name} ({n} calls)" for name, n in counted.items()]
    tokens = (
        f"({fields.get('input_tokens', 0):,} tokens in, {fields.get('output_tokens', 0):,} out)"
    )
    if calls:
        return f"asks for {', '.join(calls)} {tokens}"
    if fields.get("stop_reason") == "end_turn":
        return f"wrote a draft {tokens}"
    return f"{fields.get('stop_reason')} {tokens}"


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS  <run id>  <what happened>``; other records name their logger."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._names = dict(names or {})

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        fields = record.__dict__
        text = describe(record.getMessage(), fields, self._names)
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        run = fields.get("run_id")
        line = f"{when}  {run}  {text}" if run else f"{when}  {record.name}: {text}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(*, json_logs: bool, names: Mapping[str, str] | None = None) -> None:
    """Send every log record to stdout, in one shape: readable lines, or JSON as in Lambda."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    formatter: logging.Formatter = (
        LambdaPowertoolsFormatter() if json_logs else ConsoleFormatter(names)
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("signoff").setLevel(logging.INFO)
    if not json_logs:  # the agent's own logger keeps its JSON formatter for --json-logs
        agent_logger().registered_handler.setFormatter(formatter)
