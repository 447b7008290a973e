"""Completing long-running jobs from outside, through their completion URLs (exactly once).

A webhook job's URL is ``/callbacks/<job_id>.<secret>``: opaque, single-use, and the only
thing the outside system holds; the durable callback id stays in the table. Completing is
the approvals' path in small: claim the job with a conditional write, send the callback
(first completion wins at the Lambda API too), record the end. Every refusal says why:
404 for a URL that names no job, 409 for a job already completed, 410 for one the run
stopped waiting for.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from agent.approvals import audit
from agent.clock import now_iso
from agent.control.runs import CLAIM_LEASE_SECONDS, callback_closed, send_under_claim
from agent.storage.store import Store
from agent.tools.waiting import JOB_ID_PREFIX

FAILED_WORDS = frozenset({"failed", "failure", "error", "errored", "cancelled", "canceled"})
JOB_FAILURE_TYPE = "JobFailed"
ERROR_LIMIT = 4000


@dataclass(frozen=True)
class JobReport:
    """What the outside system said: a result, or a failure and why."""

    succeeded: bool
    result: Any = None
    error: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> JobReport:
        """Read a completion body leniently: ``{"status": "failed", "error": ...}`` is a
        failure; anything else succeeds, with ``result`` (or the whole body) as the result."""
        status = str(body.get("status") or "").strip().lower()
        if status in FAILED_WORDS:
            error = body.get("error") or body.get("message") or f"the job reported {status!r}"
            return cls(succeeded=False, error=str(error)[:ERROR_LIMIT])
        return cls(succeeded=True, result=body.get("result", body or None))


@dataclass(frozen=True)
class Accepted:
    job_id: str
    state: str


@dataclass(frozen=True)
class Refused:
    """The answer to a completion that cannot count, with its HTTP status."""

    status: int
    reason: str


@dataclass
class JobCompletions:
    """The completion URL's two routes: complete (once) and heartbeat."""

    store: Store
    lambda_client: Any
    lease_seconds: int = CLAIM_LEASE_SECONDS

    def complete(self, token: str, report: JobReport) -> Accepted | Refused:
        """Resume the run with the job's result or failure, exactly once."""
        job = self._job(token)
        if isinstance(job, Refused):
            return job
        if (closed := self._closed(job)) is not None:
            return closed
        job_id, owner = job["job_id"], uuid.uuid4().hex
        now = int(time.time())
        if not self.store.claim_job(job_id, owner=owner, now=now, lease_seconds=self.lease_seconds):
            again = self.store.job_for_completion(job_id) or job
            return self._closed(again) or Refused(409, "this job is being completed right now")
        sent = send_under_claim(
            lambda: self._send(job["callback_id"], report),
            release=lambda: self.store.release_job(job_id, owner=owner),
        )
        state = ("completed" if report.succeeded else "failed") if sent else "expired"
        self.store.settle_job(job_id, state=state, ended_at=now_iso())
        ended = audit.job_completed(
            str(job["run_id"]),
            job_id=job_id,
            tool=job.get("tool_name"),
            state=state,
            error=report.error if sent else None,
        )
        audit.record(self.store, ended)
        if not sent:
            return Refused(410, "the run stopped waiting for this job (it timed out)")
        return Accepted(job_id=job_id, state=state)

    def heartbeat(self, token: str) -> Accepted | Refused:
        """Tell the run the job is alive (jobs with a heartbeat timeout must, in time)."""
        job = self._job(token)
        if isinstance(job, Refused):
            return job
        if job["state"] not in ("waiting", "claimed"):
            return Refused(410, f"this job is no longer running ({job['state']})")
        try:
            self.lambda_client.send_durable_execution_callback_heartbeat(
                CallbackId=job["callback_id"]
            )
        except ClientError as err:
            if not callback_closed(err):
                raise
            self.store.expire_job(job["job_id"], at=now_iso())
            return Refused(410, "the run stopped waiting for this job (it timed out)")
        return Accepted(job_id=job["job_id"], state=job["state"])

    def _send(self, callback_id: str, report: JobReport) -> None:
        if report.succeeded:
            self.lambda_client.send_durable_execution_callback_success(
                CallbackId=callback_id, Result=json.dumps(report.result).encode()
            )
        else:
            self.lambda_client.send_durable_execution_callback_failure(
                CallbackId=callback_id,
                Error={"ErrorType": JOB_FAILURE_TYPE, "ErrorMessage": report.error or ""},
            )

    def _job(self, token: str) -> dict[str, Any] | Refused:
        """The job a completion URL names, if its secret matches."""
        job_id, _, secret = token.partition(".")
        job = None
        if job_id.startswith(JOB_ID_PREFIX) and secret:
            job = self.store.job_for_completion(job_id)
        if job is None or not hmac.compare_digest(secret.encode(), str(job["secret"]).encode()):
            return Refused(404, "no job has this completion URL")
        return job

    def _closed(self, job: dict[str, Any]) -> Refused | None:
        """Why a completion cannot count now, or None when the job still waits."""
        state, ended = job["state"], job.get("ended_at", "earlier")
        if state in ("completed", "failed"):
            return Refused(409, f"this job was already completed ({state}) at {ended}")
        if state == "expired":
            return Refused(410, f"the run stopped waiting for this job at {ended}")
        if state == "claimed" and int(job.get("claimed_at", 0)) >= time.time() - self.lease_seconds:
            return Refused(409, "this job is being completed right now")
        return None
