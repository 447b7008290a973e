"""``http_job``: start a job on any service with a start and a status endpoint, wait for it.

Start: ``POST start_url`` with the JSON ``body`` (and an ``Idempotency-Key`` header, stable
across retries of the call). The job's status URL is ``status_url`` (``{id}`` replaced by the
id the start answered with), else the answer's ``status_url`` or ``Location``. Each check
``GET``s it and reads ``status`` (or ``state``): succeeded/completed/done is done, with the
answer's ``result`` (or the whole answer); failed/error/cancelled is a failure; anything else
is still running. With ``completion: "callback"`` the start body also carries
``callback_url``, and the service posts its result there instead of being polled.

Every address is checked by ``agent.tools.safe_http``: public addresses only, unless the
deployment allows more. Starting a job changes things elsewhere, so a reviewer approves
each call.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.approvals.policy import REQUIRE
from agent.errors import ToolInputError
from agent.netpolicy import NetworkPolicy
from agent.tools.context import ToolContext
from agent.tools.jobs import (
    Completion,
    Done,
    Failed,
    JobHandle,
    JobStatus,
    Pending,
    Polling,
    Webhook,
)
from agent.tools.registry import ToolRegistry
from agent.tools.safe_http import request, resolve

DONE_WORDS = frozenset({"succeeded", "success", "successful", "completed", "complete", "done"})
FAILED_WORDS = frozenset({"failed", "failure", "error", "errored", "cancelled", "canceled"})


class HttpJobArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_url: str = Field(max_length=2048, description="POST here to start the job (http(s))")
    body: dict[str, Any] | None = Field(default=None, description="JSON body of the start call")
    status_url: str | None = Field(
        default=None,
        max_length=2048,
        description="GET this for the job's status; {id} is replaced by the started job's id. "
        "Default: the status_url or Location the start call answers with",
    )
    completion: Literal["poll", "callback"] = Field(
        default="poll",
        description="poll the status URL, or let the service post its result to the "
        "callback_url added to the start body",
    )
    check_every_seconds: int = Field(
        default=30, ge=5, le=3600, description="Wait before the second check (it then grows)"
    )
    timeout_minutes: int = Field(
        default=24 * 60, ge=1, le=7 * 24 * 60, description="Give up on a callback after this"
    )


def completion_for(args: HttpJobArgs) -> Completion:
    """Poll the status URL (backing off from ``check_every_seconds``), or wait for a call."""
    if args.completion == "callback":
        return Webhook(timeout_seconds=args.timeout_minutes * 60)
    return Polling(
        check=check_job,
        initial_delay_seconds=args.check_every_seconds,
        backoff_rate=1.5,
        max_delay_seconds=max(args.check_every_seconds, 15 * 60),
        max_attempts=200,
    )


def register(registry: ToolRegistry) -> None:
    """Add ``http_job`` to a registry."""

    @registry.tool(args=HttpJobArgs, approval=REQUIRE, side_effect=True, completion=completion_for)
    def http_job(ctx: ToolContext, args: HttpJobArgs) -> JobHandle:
        """Start a long-running job on an HTTP service (a POST to its start URL) and wait until
        it is done, by polling its status URL or by letting it call back. The result is the
        job's final answer. Use it for exports, builds, reports: anything that takes minutes
        or hours. A reviewer approves each start."""
        body = dict(args.body or {})
        if args.completion == "callback":
            body["callback_url"] = ctx.completion_url
        answer = request(
            "POST",
            args.start_url,
            policy=_policy(ctx),
            json_body=body,
            headers={"Idempotency-Key": ctx.idempotency_key},
        )
        if not 200 <= answer.status < 300:
            raise ToolInputError(f"the start URL answered {answer.status}: {answer.text()}")
        started = answer.json() if answer.body.strip() else {}
        started = started if isinstance(started, dict) else {}
        job_id = started.get("id") or started.get("job_id")
        return {"status_url": _status_url(args, answer.headers, started, job_id), "id": job_id}


def check_job(ctx: ToolContext, handle: JobHandle) -> JobStatus:
    """One status check; a 4xx ends the job, a 5xx or a network error is retried."""
    answer = request("GET", handle["status_url"], policy=_policy(ctx))
    if 400 <= answer.status < 500:
        return Failed(f"the status URL answered {answer.status}: {answer.text()}")
    if answer.status >= 500:
        raise ConnectionError(f"the status URL answered {answer.status}")
    report = answer.json()
    report = report if isinstance(report, dict) else {"status": report}
    status = str(report.get("status") or report.get("state") or "").strip().lower()
    if status in DONE_WORDS:
        return Done(report.get("result", report))
    if status in FAILED_WORDS:
        return Failed(str(report.get("error") or report.get("message") or status))
    progress = report.get("progress")
    return Pending(f"{status or 'running'}" + (f" ({progress})" if progress is not None else ""))


def _status_url(
    args: HttpJobArgs, headers: dict[str, str], started: dict[str, Any], job_id: Any
) -> str | None:
    if args.status_url:
        if "{id}" in args.status_url and job_id is None:
            raise ToolInputError("status_url has {id} but the start call answered with no id")
        return args.status_url.replace("{id}", str(job_id))
    found = started.get("status_url") or headers.get("location")
    if found:
        return resolve(args.start_url, str(found))
    if args.completion == "poll":
        raise ToolInputError("give status_url: the start call answered with no status_url")
    return None


def _policy(ctx: ToolContext) -> NetworkPolicy:
    return NetworkPolicy.parse(ctx.settings.http_job_allow)
