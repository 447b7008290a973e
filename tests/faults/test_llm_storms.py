"""Half of Claude's answers are 429, 529, 500 or a dropped connection, across concurrent runs.

Six runs start at once; each calls Claude twice (a tool call, then the draft), and a fault
plan makes exactly half of all calls fail. What a user would check: every run still ends
with its own approved draft; each model turn's step counts its attempts (failures + 1) and
the fake saw exactly one HTTP request per attempt, because the anthropic client's own retries
are off (``x-stainless-retry-count`` is always 0); and each retry waited what the API asked
for, as ``GetDurableExecutionHistory`` shows (the delay recorded, not time measured).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestResult

from tests.fakes.claude import Answer, Disconnect, Fault
from tests.faults.conftest import FaultStack, FaultStackFactory
from tests.scenarios.claude_scripts import CHANNEL, assistant_turns, calls, draft, tool_use

MAX_BACKOFF_SECONDS = 60  # agent.model.client's backoff when the API names no delay


@dataclass(frozen=True)
class Failure:
    """A failed call, and the retry delay the API asked for with it (None: it asked none)."""

    answer: Fault | Disconnect
    asks_seconds: int | None = None


def rate_limited(seconds: int) -> Failure:
    return Failure(Fault(429, "rate_limit_error", headers={"retry-after": str(seconds)}), seconds)


def overloaded(seconds: int) -> Failure:
    return Failure(Fault(529, "overloaded_error", headers={"retry-after": str(seconds)}), seconds)


def server_error(milliseconds: int | None = None) -> Failure:
    if milliseconds is None:
        return Failure(Fault(500, "api_error"))
    headers = {"retry-after-ms": str(milliseconds)}
    return Failure(Fault(500, "api_error", headers=headers), -(-milliseconds // 1000))


DROPPED = Failure(Disconnect())
# Per run, the failures before each turn's answer (llm-0, llm-1): twelve failed calls for
# twelve answered ones.
PLANS: tuple[tuple[tuple[Failure, ...], tuple[Failure, ...]], ...] = (
    ((rate_limited(3),), (DROPPED,)),
    ((overloaded(7), server_error()), ()),
    ((), (server_error(1_500), rate_limited(1))),
    ((DROPPED, DROPPED), ()),
    ((server_error(),), (overloaded(4),)),
    ((), (rate_limited(2), DROPPED)),
)
RUNS = len(PLANS)
TASK = re.compile(r"storm run (\d+)")


class FlakyClaude:
    """Answers each run's turns after that turn's planned failures; counts every request."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[int, int]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Answer:
        found = TASK.search(json.dumps(body["messages"][0]))
        assert found is not None, "a request from no storm run"
        run, turn = int(found.group(1)), assistant_turns(body)
        with self._lock:
            attempt = self.requests[(run, turn)]
            self.requests[(run, turn)] += 1
        planned = PLANS[run][turn]
        if attempt < len(planned):
            return planned[attempt].answer
        if turn == 0:
            return calls(tool_use(f"t{run}", "read_slack_history", channel=CHANNEL))
        return draft(f"Draft for run {run}.")


def retry_delays(arn: str, step: str) -> list[int]:
    """The delays the step's retries were scheduled with, read as an operator would."""
    history = boto3.client("lambda").get_durable_execution_history(
        DurableExecutionArn=arn, MaxItems=1000
    )
    return [
        event["StepFailedDetails"]["RetryDetails"]["NextAttemptDelaySeconds"]
        for event in history["Events"]
        if event["EventType"] == "StepFailed" and event.get("Name") == step
    ]


def approved(stack: FaultStack, arn: str) -> DurableFunctionTestResult:
    """The run's result once its draft is approved (a result can be awaited only once)."""
    stack.agent.decide(stack.agent.approval(arn, "review-1"), "approve")
    return stack.agent.result(arn)


@pytest.mark.timeout(300)  # six durable runs retrying on a shared two-core machine
def test_runs_ride_out_a_storm_of_failed_claude_calls_retrying_as_asked(
    make_fault_stack: FaultStackFactory,
) -> None:
    claude = FlakyClaude()
    stack = make_fault_stack(claude)
    arns = [stack.agent.start(task=f"storm run {run}: summarise #general") for run in range(RUNS)]

    results = [approved(stack, arn) for arn in arns]

    failed = sum(len(turn) for plan in PLANS for turn in plan)
    assert sum(claude.requests.values()) == 2 * failed  # half of all calls failed
    assert {h.get("x-stainless-retry-count") for h in stack.agent.claude_headers()} == {"0"}
    for run, (arn, result) in enumerate(zip(arns, results, strict=True)):
        output = json.loads(result.result or "{}")
        assert output["status"] == "delivered"
        assert output["text"] == {"text": f"Draft for run {run}."}
        for turn, failures in enumerate(PLANS[run]):
            step = f"llm-{turn}"
            assert result.get_step(step).attempt == len(failures) + 1, (run, step)
            assert claude.requests[(run, turn)] == len(failures) + 1, (run, step)
            delays = retry_delays(arn, step)
            assert len(delays) == len(failures), (run, step, delays)
            for failure, delay in zip(failures, delays, strict=True):
                if failure.asks_seconds is not None:
                    assert delay == failure.asks_seconds, (run, step, failure)
                else:
                    assert 1 <= delay <= MAX_BACKOFF_SECONDS, (run, step, failure)
