"""Long-running tool calls: start the outside work, then wait for it at no compute cost.

Run inside the turn's ``context.map`` branch, so several jobs of one turn wait in parallel:

    polling   tool-N-i (start, a step)    tool-N-i-poll (wait_for_condition: check, back off)
    webhook   tool-N-i-callback (the callback the job completes)    tool-N-i (start, a step at
              most once per attempt, with the callback's completion URL)    tool-N-i-result
              (a step: record how it ended, after waiting on the callback)
    sleep     tool-N-i (a step: how long)  tool-N-i-pause (context.wait)

In every kind ``tool-N-i`` is the step that runs the tool's function. A webhook job's start
is its own step rather than a ``wait_for_callback`` submitter: a submitter is retried on any
error, so an outside system that took the start and then failed to answer would get two or
three starts; a start that fails here is reported, never repeated.

Each ends as an outcome (``agent.tools.results``); a job that fails, times out or cannot start
is an error outcome for Claude, never a failed run.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext
from aws_durable_execution_sdk_python.config import (
    CallbackConfig,
    Duration,
    StepConfig,
    StepSemantics,
)
from aws_durable_execution_sdk_python.exceptions import (
    CallbackError,
    CallbackExternalError,
    CallbackTimeoutError,
    WaitForConditionError,
)
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.types import Callback, WaitForConditionCheckContext
from aws_durable_execution_sdk_python.waits import WaitForConditionConfig

from agent.approvals import audit
from agent.clock import iso_after, now_iso, utc_clock_after
from agent.errors import ToolInputError
from agent.serdes import COMPACT_JSON
from agent.telemetry import AGENT_SERVICE, COUNT, emit
from agent.tools.jobs import Done, Failed, Pending, Polling, PollState, Sleep, Webhook
from agent.tools.results import ERROR_TEXT_LIMIT, CallRun, failure_text, output_text

# Durable operations each kind of job adds (the run counts them against AWS's cap).
JOB_OPERATIONS = {Polling: 2, Webhook: 3, Sleep: 2}
JOB_ID_PREFIX = "jb_"

JSON_STEP = StepConfig(serdes=COMPACT_JSON)
_START_RETRY = create_retry_strategy(
    RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(2))
)


def job_id_for(execution_arn: str, operation: str) -> str:
    """Stable across retries and replays of one call, unrelated to anything public."""
    return JOB_ID_PREFIX + hashlib.sha256(f"{execution_arn}|{operation}".encode()).hexdigest()[:32]


def completion_path(token: str) -> str:
    """The API path an outside system posts a job's result to."""
    return f"/callbacks/{token}"


def run_job(context: DurableContext, call: CallRun) -> tuple[dict[str, Any], int]:
    """Start the job and wait for it: the call's outcome and the operations it took."""
    job = _Job(call)
    try:
        completion = call.tool.completion_for(call.tool.parse_args(call.arguments))
    except ToolInputError as err:  # arguments are checkpointed: the same on every replay
        return call.outcome("error", {"text": str(err)}), 0
    match completion:
        case Polling():
            return job.poll(context, completion), JOB_OPERATIONS[Polling]
        case Webhook():
            return job.webhook(context, completion), JOB_OPERATIONS[Webhook]
        case Sleep():
            return job.sleep(context), JOB_OPERATIONS[Sleep]
        case _:
            raise TypeError(f"{call.tool.name} is not a long-running tool")


class _Job:
    """One long-running call: the durable operations of each kind, and their step bodies."""

    def __init__(self, call: CallRun) -> None:
        self.call = call
        self.tool = call.tool

    # Polling -------------------------------------------------------------------------------
    def poll(self, context: DurableContext, polling: Polling) -> dict[str, Any]:
        started: dict[str, Any] = context.step(
            self._start, name=self.call.name, config=self._start_config()
        )
        if "handle" not in started:
            return started  # the start failed: its error outcome
        initial: PollState = {"handle": started["handle"], "status": "pending", "errors": 0}
        try:
            final: PollState = context.wait_for_condition(
                lambda state, check: self._check(polling, state, check),
                config=WaitForConditionConfig(
                    wait_strategy=polling.wait_strategy(),
                    initial_state=initial,
                    serdes=COMPACT_JSON,
                ),
                name=f"{self.call.name}-poll",
            )
        except WaitForConditionError as err:
            text = (
                f"{self.tool.name} did not finish within {polling.max_attempts} checks "
                f"and may still be running ({err})"
            )
            return self.call.outcome("timed_out", {"text": text})
        if final["status"] == "done":
            return self.call.outcome("ok", final["output"])
        return self.call.outcome("error", {"text": f"{self.tool.name} failed: {final['error']}"})

    def _start(self, step: StepContext) -> dict[str, Any]:
        """Start the job: ``{"handle"}``, or an error outcome when it could not start."""
        self.call.show("running", "starting")
        try:
            args = self.tool.parse_args(self.call.arguments)
            handle = self.tool.run(self.call.context(attempt=step.attempt), args)
        except ToolInputError as err:
            return self.call.error(str(err))
        except Exception as err:  # noqa: BLE001 - a tool's failure is Claude's to handle
            step.logger.warning("job %s did not start: %s", self.tool.name, type(err).__name__)
            return self.call.error(failure_text(self.tool.name, err))
        return {"handle": json.loads(json.dumps(handle, default=str))}

    def _check(
        self, polling: Polling, state: PollState, check: WaitForConditionCheckContext
    ) -> PollState:
        """One check of the job; the returned state is checkpointed between checks."""
        try:
            status = polling.check(self.call.context(attempt=check.attempt), state["handle"])
            state = state | {"errors": 0}
        except Exception as err:  # noqa: BLE001 - a failing check is retried, then reported
            state = state | {"errors": state["errors"] + 1}
            if state["errors"] >= polling.max_check_errors:
                error = f"checking failed {state['errors']} times in a row: {err}"
                return self._ended(state, "failed", error=error)
            status = Pending(f"check failed ({type(err).__name__}), trying again")
        match status:
            case Done(result=result):
                output = self.call.stored(output_text(result))
                return self._ended(state, "done", output=output)
            case Failed(error=error):
                return self._ended(state, "failed", error=error)
            case Pending(detail=detail):
                self._show_next_check(polling, state, check.attempt, detail)
                return state
        raise TypeError(f"{self.tool.name}'s check returned {status!r}")

    def _ended(self, state: PollState, status: str, **fields: Any) -> PollState:
        self.call.show("done" if status == "done" else "failed")
        emit(AGENT_SERVICE, {"ToolJobsEnded": (1, COUNT)}, outcome=status)
        ended = "completed" if status == "done" else status
        event = audit.job_completed(
            self.call.run.run_id,
            job_id=self.call.name,  # a polled job has no id of its own: its call's name
            tool=self.tool.name,
            state=ended,
            error=fields.get("error"),
        )
        audit.record(self.call.deps.store, event)
        return state | {"status": status, **fields}

    def _show_next_check(
        self, polling: Polling, state: PollState, attempt: int, detail: str | None
    ) -> None:
        delay = polling.next_delay(state, attempt)
        when = "last check" if delay is None else f"next check {utc_clock_after(delay)}"
        self.call.show("waiting_job", f"{detail or 'running'} · check {attempt} · {when}")

    # Webhook -------------------------------------------------------------------------------
    def webhook(self, context: DurableContext, webhook: Webhook) -> dict[str, Any]:
        public_url = self.call.deps.settings.public_url  # read once per process: fixed per version
        if public_url is None:
            text = f"{self.tool.name} needs SIGNOFF_PUBLIC_URL (the API's URL) to call back"
            return self.call.outcome("error", {"text": text})
        job_id = job_id_for(self.call.run.execution_arn, self.call.name)
        callback = context.create_callback(
            name=f"{self.call.name}-callback",
            config=CallbackConfig(
                timeout=Duration.from_seconds(webhook.timeout_seconds),
                heartbeat_timeout=Duration.from_seconds(webhook.heartbeat_seconds or 0),
                serdes=COMPACT_JSON,
            ),
        )
        callback_id = callback.callback_id
        started: dict[str, Any] = context.step(
            lambda step: self._start_webhook(step, job_id, callback_id, webhook, public_url),
            name=self.call.name,
            config=StepConfig(
                retry_strategy=_START_RETRY,  # only an attempt cut off mid-step is retried
                step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
                serdes=COMPACT_JSON,
            ),
        )
        ended: dict[str, Any]
        if "error" in started:
            ended = {"status": "error", "error": started["error"], "abandoned": True}
        else:
            ended = self._wait(callback, webhook)
        return context.step(
            lambda _: self._settle(job_id, ended), name=f"{self.call.name}-result", config=JSON_STEP
        )

    def _start_webhook(
        self, step: StepContext, job_id: str, callback_id: str, webhook: Webhook, public_url: str
    ) -> dict[str, Any]:
        """Save the job (its completion URL's secret), then start it with that URL, once:
        a start that raises is reported (the outside system may have taken it), not retried."""
        record = {
            "job_id": job_id,
            "run_id": self.call.run.run_id,
            "tool_name": self.tool.name,
            "created_at": now_iso(),
            "expires_at": iso_after(webhook.timeout_seconds),
            "heartbeat_seconds": webhook.heartbeat_seconds,
        }
        secret = self.call.deps.store.open_job(
            record, callback_id=callback_id, secret=secrets.token_urlsafe(24)
        )
        url = public_url + completion_path(f"{job_id}.{secret}")
        self.call.show("running", "starting")
        try:
            args = self.tool.parse_args(self.call.arguments)
            self.tool.run(self.call.context(attempt=step.attempt, completion_url=url), args)
        except Exception as err:  # noqa: BLE001 - a tool's failure is Claude's to handle
            step.logger.warning("job %s did not start: %s", self.tool.name, type(err).__name__)
            return {"error": f"{self.tool.name} did not start: {_reason(err)}"}
        self.call.show("waiting_job", "waiting for it to call back")
        return {"started": True}

    def _wait(self, callback: Callback[Any], webhook: Webhook) -> dict[str, Any]:
        """Suspend until the job posts to its completion URL, or its time is up."""
        try:
            return {"status": "ok", "result": callback.result()}
        except CallbackTimeoutError as err:
            return {"status": "timed_out", "error": _timeout_text(self.tool.name, webhook, err)}
        except CallbackExternalError as err:  # the job reported a failure
            return {"status": "error", "error": f"{self.tool.name} failed: {err.message}"}
        except CallbackError as err:
            return {"status": "error", "error": f"{self.tool.name}: {err.message}"}

    def _settle(self, job_id: str, ended: dict[str, Any]) -> dict[str, Any]:
        """Record how the job ended (a late completion then gets a clear answer)."""
        status = ended["status"]
        if status == "timed_out" or ended.get("abandoned"):
            self.call.deps.store.expire_job(job_id, at=now_iso())
        emit(AGENT_SERVICE, {"ToolJobsEnded": (1, COUNT)}, outcome=status)
        state = {"ok": "completed", "timed_out": "expired"}.get(status, "failed")
        run_id, error = self.call.run.run_id, ended.get("error")
        ended_job = audit.job_completed(
            run_id, job_id=job_id, tool=self.tool.name, state=state, error=error
        )
        audit.record(self.call.deps.store, ended_job)
        self.call.show("done" if status == "ok" else "failed")
        if status != "ok":
            return self.call.outcome(status, {"text": ended["error"]})
        result = ended["result"]
        text = f"{self.tool.name} finished" if result is None else output_text(result)
        return self.call.outcome("ok", self.call.stored(text))

    # Sleep ---------------------------------------------------------------------------------
    def sleep(self, context: DurableContext) -> dict[str, Any]:
        planned: dict[str, Any] = context.step(
            self._plan_pause, name=self.call.name, config=JSON_STEP
        )
        if "seconds" not in planned:
            return planned  # refused: its error outcome
        context.wait(Duration.from_seconds(planned["seconds"]), name=f"{self.call.name}-pause")
        text = f"Waited {planned['seconds']} seconds (until {planned['until']}). Carry on."
        return self.call.outcome("ok", {"text": text})

    def _plan_pause(self, step: StepContext) -> dict[str, Any]:
        try:
            args = self.tool.parse_args(self.call.arguments)
            planned = self.tool.run(self.call.context(attempt=step.attempt), args)
            seconds = int(planned["seconds"])
        except ToolInputError as err:
            return self.call.error(str(err))
        until = iso_after(seconds)
        self.call.show("waiting_job", f"{planned.get('reason') or 'paused'} · until {until}")
        return {"seconds": seconds, "until": until}

    def _start_config(self) -> StepConfig:
        return StepConfig(
            retry_strategy=_START_RETRY,
            step_semantics=self.call.step_semantics,
            serdes=COMPACT_JSON,
        )


def _reason(err: Exception) -> str:
    """Why a start failed, as Claude reads it (a tool's own input errors speak for
    themselves)."""
    text = str(err) if isinstance(err, ToolInputError) else f"{type(err).__name__}: {err}"
    return text[:ERROR_TEXT_LIMIT]


def _timeout_text(tool_name: str, webhook: Webhook, err: CallbackTimeoutError) -> str:
    if "heartbeat" in str(err).lower():
        return (
            f"{tool_name} stopped sending heartbeats (one is due every "
            f"{webhook.heartbeat_seconds} seconds); it may have died"
        )
    return f"{tool_name} did not call back within {webhook.timeout_seconds} seconds"
