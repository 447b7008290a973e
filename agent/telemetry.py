"""Structured logs and CloudWatch metrics, both through aws-lambda-powertools.

Logs: one JSON ``Logger`` per function. The agent hands it to the durable context
(``context.set_logger``), so each line carries the execution ARN, the operation's name and id
and its attempt, and lines of replayed code are not written twice. Lines name runs, turns,
tools and decisions; never secrets, and never prompts, drafts or tool outputs unless the log
level is DEBUG (``POWERTOOLS_LOG_LEVEL`` / ``LOG_LEVEL``).

Metrics: one EMF record per event, written at the moment the event happens, from inside a
step or from the control plane, never from orchestration code that replays, so a replay
never counts a run, a turn or a decision twice. CloudWatch turns the records into metrics in
the ``signoff`` namespace (dimension ``service``); the stack's alarms read them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

NAMESPACE = "signoff"
AGENT_SERVICE = "signoff-agent"
CONTROL_SERVICE = "signoff-control"
COUNT = "Count"
SECONDS = "Seconds"
NONE = "None"
# The stack alarms on these (infra.alarms).
CALLBACK_SEND_FAILURES = "CallbackSendFailures"
COST_USD = "CostUSD"

_logger = logging.getLogger(__name__)


@cache
def agent_logger() -> Any:
    """The agent's JSON logger (built once: Powertools reads its level from the env)."""
    from aws_lambda_powertools import Logger

    return Logger(service=AGENT_SERVICE)


def emit(service: str, values: Mapping[str, tuple[float, str]], **dimensions: str) -> None:
    """Write one EMF record now: ``values`` are ``name -> (value, unit)``.

    Metrics are best effort: a failure here is logged and never fails a run or a click.
    """
    try:
        from aws_lambda_powertools.metrics import EphemeralMetrics

        metrics = EphemeralMetrics(namespace=NAMESPACE, service=service)
        for name, value in dimensions.items():
            metrics.add_dimension(name=name, value=value)
        for name, (amount, unit) in values.items():
            metrics.add_metric(name=name, unit=unit, value=amount)
        metrics.flush_metrics()
    except Exception:  # observability must never break the work it observes
        _logger.warning("could not write metrics %s", sorted(values), exc_info=True)
