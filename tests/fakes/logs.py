"""A fake CloudWatch Logs API (JSON 1.1, ``X-Amz-Target: Logs_20140328.*``) for export tasks.

boto3's ``logs`` client talks to it unchanged (``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``). Export
tasks move PENDING -> RUNNING -> COMPLETED as they are described, ``describes_per_state``
descriptions per state, like a real export that takes a while; log groups must exist.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes._http import FakeHandler, LoopbackServer

STATES = ("PENDING", "RUNNING", "COMPLETED")
_ids = itertools.count(1)


@dataclass
class ExportTask:
    task_id: str
    request: dict[str, Any]
    answered: list[str] = field(default_factory=list)  # the status each description gave

    def describe(self, per_state: int) -> str:
        code = STATES[min(len(self.answered) // per_state, len(STATES) - 1)]
        self.answered.append(code)
        return code


@dataclass
class FakeLogs:
    """Log groups by name and the export tasks created, in order."""

    log_groups: set[str] = field(default_factory=set)
    describes_per_state: int = 2
    tasks: list[ExportTask] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = LoopbackServer(_Handler, self)
        self.endpoint_url = self._server.url

    def __enter__(self) -> FakeLogs:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def handle(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((action, body))
            if action == "CreateExportTask":
                if body.get("logGroupName") not in self.log_groups:
                    return 400, _error(
                        "ResourceNotFoundException", "The specified log group does not exist."
                    )
                task = ExportTask(task_id=f"task-{next(_ids):04d}", request=body)
                self.tasks.append(task)
                return 200, {"taskId": task.task_id}
            if action == "DescribeExportTasks":
                wanted = [t for t in self.tasks if body.get("taskId") in (None, t.task_id)]
                return 200, {"exportTasks": [self._view(task) for task in wanted]}
            return 400, _error("UnknownOperationException", f"no operation {action}")

    def _view(self, task: ExportTask) -> dict[str, Any]:
        code = task.describe(self.describes_per_state)
        return {
            "taskId": task.task_id,
            "taskName": task.request.get("taskName"),
            "logGroupName": task.request["logGroupName"],
            "from": task.request["from"],
            "to": task.request["to"],
            "destination": task.request["destination"],
            "destinationPrefix": task.request.get("destinationPrefix"),
            "status": {"code": code, "message": f"Export is {code.lower()}"},
        }


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"__type": kind, "message": message}


class _Handler(FakeHandler):
    def do_POST(self) -> None:
        action = self.headers.get("x-amz-target", "").split(".", 1)[-1]
        owner: FakeLogs = self.owner
        status, body = owner.handle(action, json.loads(self.read_body() or b"{}"))
        self.send_bytes(status, json.dumps(body).encode(), "application/x-amz-json-1.1")
