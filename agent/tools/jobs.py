"""Long-running tools: a call that starts outside work and finishes when that work does.

A tool declares how its call completes (``Tool.completion``); its function then *starts* the
work and returns a JSON handle, and the run waits at no compute cost:

- ``Polling``: ``check(ctx, handle)`` says ``Pending``, ``Done(result)`` or ``Failed(error)``;
  the run checks under ``context.wait_for_condition`` with the backoff given here;
- ``Webhook``: the tool hands the outside system ``ctx.completion_url``; the system posts
  the result there (``POST /callbacks/{token}``) and the run resumes through
  ``context.wait_for_callback``; ``heartbeat_seconds`` makes a silent job time out;
- ``Sleep``: the function returns ``{"seconds": n}`` and the run waits durably that long.

A job that fails or times out goes back to Claude as a tool error; the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_durable_execution_sdk_python.config import Duration, JitterStrategy
from aws_durable_execution_sdk_python.exceptions import WaitForConditionError
from aws_durable_execution_sdk_python.waits import (
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)

from agent.tools.context import ToolContext

JobHandle = dict[str, Any]
PollState = dict[str, Any]


@dataclass(frozen=True)
class Pending:
    """Still running; ``detail`` is shown on the run's progress message."""

    detail: str | None = None


@dataclass(frozen=True)
class Done:
    """Finished; ``result`` (JSON or text) is what Claude reads."""

    result: Any


@dataclass(frozen=True)
class Failed:
    """Finished without a result; ``error`` goes back to Claude."""

    error: str


JobStatus = Pending | Done | Failed
CheckFunction = Callable[["ToolContext", JobHandle], JobStatus]


@dataclass(frozen=True, kw_only=True)
class Polling:
    """Check the job until it is done: first at once, then after ``initial_delay_seconds``,
    growing by ``backoff_rate`` up to ``max_delay_seconds``, at most ``max_attempts`` checks.
    ``max_check_errors`` checks in a row that raise fail the job."""

    check: CheckFunction
    initial_delay_seconds: int = 5
    backoff_rate: float = 1.5
    max_delay_seconds: int = 300
    max_attempts: int = 60
    max_check_errors: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.initial_delay_seconds <= self.max_delay_seconds:
            raise ValueError("polling needs 1 <= initial_delay_seconds <= max_delay_seconds")
        if self.backoff_rate < 1 or self.max_attempts < 1 or self.max_check_errors < 1:
            raise ValueError("polling needs backoff_rate >= 1 and at least one attempt")

    def wait_strategy(self) -> Callable[[PollState, int], WaitForConditionDecision]:
        """The SDK's strategy, without jitter so the next check's time can be shown."""
        return create_wait_strategy(
            WaitStrategyConfig(
                should_continue_polling=lambda state: state.get("status") == "pending",
                max_attempts=self.max_attempts,
                initial_delay=Duration.from_seconds(self.initial_delay_seconds),
                max_delay=Duration.from_seconds(self.max_delay_seconds),
                backoff_rate=self.backoff_rate,
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    def next_delay(self, state: PollState, attempt: int) -> int | None:
        """Seconds until the check after ``attempt``, or None when there will be none."""
        try:
            decision = self.wait_strategy()(state, attempt)
        except WaitForConditionError:
            return None
        return decision.delay_seconds if decision.should_continue else None


@dataclass(frozen=True, kw_only=True)
class Webhook:
    """Wait for the outside system to post to ``ctx.completion_url``, at most
    ``timeout_seconds``; with ``heartbeat_seconds`` it must also post to
    ``<completion_url>/heartbeat`` at least that often."""

    timeout_seconds: int = 24 * 3600
    heartbeat_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.timeout_seconds < 1 or (self.heartbeat_seconds or 1) < 1:
            raise ValueError("a webhook job needs a positive timeout (and heartbeat)")


@dataclass(frozen=True)
class Sleep:
    """The tool's function returns ``{"seconds": n}``: the run waits that long, durably."""


Completion = Polling | Webhook | Sleep
# A tool's completion, fixed or chosen per call from its parsed arguments.
CompletionRule = Completion | Callable[[Any], Completion]
