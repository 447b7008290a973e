"""A fake job service: ``POST /jobs`` starts a job, ``GET /jobs/{id}`` reports on it.

A job answers ``running`` for ``checks_to_finish`` status checks, then ``outcome`` (a dict
merged into the answer, e.g. ``{"status": "succeeded", "result": ...}``). Starts are
recorded with their body and headers, so a test sees the ``callback_url`` and the
``Idempotency-Key`` the tool sent. ``start_status`` answers starts with another status
after recording them: a 5xx is a service that took the job and then failed to say so.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes._http import FakeHandler, LoopbackServer

_ids = itertools.count(1)


@dataclass
class Job:
    job_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    checks: int = 0


@dataclass
class FakeJobService:
    checks_to_finish: int = 3
    outcome: dict[str, Any] = field(
        default_factory=lambda: {"status": "succeeded", "result": {"rows": 42}}
    )
    jobs: list[Job] = field(default_factory=list)
    start_status: int = 202

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = LoopbackServer(_Handler, self)
        self.url = self._server.url

    def __enter__(self) -> FakeJobService:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def start(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            job = Job(job_id=f"job-{next(_ids)}", body=body, headers=headers)
            self.jobs.append(job)
        return {"id": job.job_id, "status": "queued", "status_url": f"/jobs/{job.job_id}"}

    def report(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = next((j for j in self.jobs if j.job_id == job_id), None)
            if job is None:
                return None
            job.checks += 1
            if job.checks < self.checks_to_finish:
                return {
                    "id": job_id,
                    "status": "running",
                    "progress": f"{job.checks} of {self.checks_to_finish}",
                }
            return {"id": job_id, **self.outcome}


class _Handler(FakeHandler):
    def do_POST(self) -> None:
        owner: FakeJobService = self.owner
        if self.path != "/jobs":
            self.send_json(404, {"error": "no such route"})
            return
        started = owner.start(json.loads(self.read_body() or b"{}"), self.lower_headers())
        if owner.start_status >= 400:
            self.send_json(owner.start_status, {"error": "the job queue did not answer in time"})
        else:
            self.send_json(owner.start_status, started)

    def do_GET(self) -> None:
        owner: FakeJobService = self.owner
        report = owner.report(self.path.rsplit("/", 1)[-1])
        if report is None:
            self.send_json(404, {"error": "no such job"})
        else:
            self.send_json(200, report)
