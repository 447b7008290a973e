"""A local Lambda endpoint: Invoke plus the durable execution APIs, for boto3 unchanged.

Point ``AWS_ENDPOINT_URL_LAMBDA`` here and the code that runs in AWS runs locally as is:
- ``Invoke`` of the durable agent starts an execution on the durable local runner, deduped by
  ``DurableExecutionName`` as AWS does (the runner itself does not dedupe names);
- ``Invoke`` of a plain function (the Slack app's lazy listeners) calls its handler, in a
  thread for ``InvocationType=Event``; like Lambda's queue for async invocations, an
  ``EventQueue`` on disk keeps each one until its handler returns, so one cut off by a
  crash is delivered again on the next start;
- every other path (callbacks, get, history, stop) is the runner's own web API.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.token import CallbackToken
from aws_durable_execution_sdk_python_testing.web.server import (
    RequestHandler,
    WebServer,
    WebServiceConfig,
)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
CALLBACK_PATH = re.compile(
    r"^/2025-12-01/durable-execution-callbacks/(?P<callback_id>[^/]+)/(succeed|fail)$"
)
# After a callback completes, the execution is invoked once more this long after.
NUDGE_SECONDS = 0.5
ACCOUNT_ID = "000000000000"
EXECUTION_TIMEOUT_SECONDS = 7 * 24 * 3600

_logger = logging.getLogger(__name__)
LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object our handlers and Bolt read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 512

    @classmethod
    def for_function(cls, name: str, region: str, request_id: str | None = None) -> LambdaContext:
        arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        request_id = request_id or str(uuid.uuid4())
        return cls(function_name=name, invoked_function_arn=arn, aws_request_id=request_id)

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass(frozen=True)
class QueuedEvent:
    """One async invocation waiting for its handler to return.

    Its request id stays the same when it is delivered again, as Lambda's retries keep it.
    """

    path: Path
    function: str
    event: dict[str, Any]
    request_id: str

    def done(self) -> None:
        """The handler returned: forget the invocation."""
        self.path.unlink(missing_ok=True)


class EventQueue:
    """Async invocations on disk, one file each, from the Invoke until the handler returns.

    Lambda keeps an async invocation in a queue and retries it when the execution
    environment dies mid-way; here the file left by a killed process is delivered again on
    the next start. Delivery is at least once, as in AWS: the handlers are idempotent.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for partial in directory.glob("*.partial"):  # its Invoke failed: the caller knows
            partial.unlink()

    def put(self, function: str, event: dict[str, Any]) -> QueuedEvent:
        """Keep an invocation (written whole, then renamed into place, so never half there)."""
        request_id = str(uuid.uuid4())
        path = self.directory / f"{time.time_ns():020d}-{request_id}.json"
        partial = path.with_suffix(".partial")
        stored = {"function": function, "event": event, "request_id": request_id}
        partial.write_text(json.dumps(stored))
        os.replace(partial, path)
        return QueuedEvent(path, function, event, request_id)

    def pending(self) -> list[QueuedEvent]:
        """What was put and never done, oldest first."""
        queued = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                stored = json.loads(path.read_text())
            except FileNotFoundError:  # done (and removed) since the directory was listed
                continue
            queued.append(
                QueuedEvent(path, stored["function"], stored["event"], stored["request_id"])
            )
        return queued


class LocalLambda(WebServer):
    """Serves Invoke for the registered functions and the runner's durable APIs."""

    # A burst of lazy invocations (a click storm) queues rather than being reset (default: 5).
    request_queue_size = 128

    def __init__(
        self,
        executor: Executor,
        *,
        durable_function: str,
        functions: dict[str, LambdaHandler],
        events: EventQueue | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
    ) -> None:
        self.durable_function = durable_function
        self.functions = functions
        self.events = events
        self.region = region
        self._start_lock = threading.Lock()
        super().__init__(
            WebServiceConfig(host=host, port=port, log_level=logging.WARNING), executor
        )
        self.RequestHandlerClass = _InvokeAwareHandler

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_durable(
        self, name: str | None, payload: str, qualifier: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Start (or find) the execution of that name; AWS semantics for repeats."""
        with self._start_lock:
            if name:
                existing = self.executor.list_executions(execution_name=name).durable_executions
                if existing:
                    arn = existing[0].durable_execution_arn
                    stored = self.executor.get_execution(arn).start_input.input or ""
                    if json.loads(stored or "null") != json.loads(payload or "null"):
                        return _error(
                            409, "DurableExecutionAlreadyStartedException", f"{name} is in use"
                        )
                    return 202, {"X-Amz-Durable-Execution-Arn": arn}, b""
            output = self.executor.start_execution(
                StartDurableExecutionInput(
                    account_id=ACCOUNT_ID,
                    function_name=self.durable_function,
                    function_qualifier=qualifier,
                    execution_name=name or str(uuid.uuid4()),
                    execution_timeout_seconds=EXECUTION_TIMEOUT_SECONDS,
                    execution_retention_period_days=14,
                    input=payload or None,
                )
            )
        return 202, {"X-Amz-Durable-Execution-Arn": str(output.execution_arn)}, b""

    def invoke_plain(
        self, name: str, payload: bytes, invocation_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Call a plain function's handler as Lambda would."""
        event = json.loads(payload or b"{}")
        if invocation_type == "Event":
            queued = None if self.events is None else self.events.put(name, event)
            self._run_async(name, event, queued)
            return 202, {}, b""
        result = self.functions[name](event, LambdaContext.for_function(name, self.region))
        return 200, {"X-Amz-Executed-Version": "$LATEST"}, json.dumps(result).encode()

    def nudge(self, callback_id: str) -> None:
        """Invoke the callback's execution once more, a moment after it completed."""
        invoke_after_callback(self.executor, callback_id)

    def redeliver(self) -> int:
        """Run again every async invocation a previous process took and never finished."""
        pending = [] if self.events is None else self.events.pending()
        for queued in pending:
            if queued.function in self.functions:
                self._run_async(queued.function, queued.event, queued)
            else:
                _logger.warning("dropping a queued invocation of unknown %s", queued.function)
                queued.done()
        return len(pending)

    def _run_async(self, name: str, event: dict[str, Any], queued: QueuedEvent | None) -> None:
        threading.Thread(target=self._run_quietly, args=(name, event, queued), daemon=True).start()

    def _run_quietly(self, name: str, event: dict[str, Any], queued: QueuedEvent | None) -> None:
        request_id = None if queued is None else queued.request_id
        try:
            self.functions[name](event, LambdaContext.for_function(name, self.region, request_id))
        except Exception:  # an async invoke's failure is logged, as Lambda would
            _logger.exception("async invocation of %s failed", name)
        finally:
            if queued is not None:
                queued.done()


class _InvokeAwareHandler(RequestHandler):
    server: LocalLambda

    def do_POST(self) -> None:
        match = INVOKE_PATH.match(self.path.split("?")[0])
        if match is None:
            super().do_POST()
            completed = CALLBACK_PATH.match(self.path.split("?")[0])
            if completed is not None:
                self.server.nudge(unquote(completed.group("callback_id")))
            return
        name, _, qualifier = function_name(unquote(match.group("name"))).partition(":")
        if "Qualifier=" in self.path:
            qualifier = self.path.split("Qualifier=", 1)[1].split("&")[0]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if name == self.server.durable_function:
            durable_name = self.headers.get("X-Amz-Durable-Execution-Name")
            status, headers, payload = self.server.start_durable(
                durable_name, body.decode(), qualifier or "$LATEST"
            )
        elif name in self.server.functions:
            status, headers, payload = self.server.invoke_plain(name, body, invocation_type)
        else:
            status, headers, payload = _error(
                404, "ResourceNotFoundException", f"Function not found: {name}"
            )
        self.send_response(status)
        for header, value in headers.items():
            self.send_header(header, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def invoke_after_callback(
    executor: Executor, callback_id: str, delay: float = NUDGE_SECONDS
) -> None:
    """Invoke a completed callback's execution once more, ``delay`` seconds later.

    The local runner skips the invocation a completed callback earns when the execution's
    running invocation has already seen the completion in a checkpoint's answer; but a map
    branch that suspended on that callback earlier in the same invocation does not pick it
    up, so the run would wait until its next timer (AWS invokes it again). One more
    invocation is harmless: a replay with nothing new suspends as before. This uses the
    runner's private ``_invoke_execution``: it has no public way to invoke.
    """
    try:
        arn = CallbackToken.from_str(callback_id).execution_arn
    except (ValueError, KeyError):
        return
    executor._invoke_execution(arn, delay=delay)


def function_name(name_or_arn: str) -> str:
    """``NAME[:QUALIFIER]`` from a name or a function ARN (Bolt invokes its own ARN)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":function:", 1)[1]
    return name_or_arn


def _error(status: int, error_type: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"Type": error_type, "Message": message}).encode()
    return status, {"X-Amzn-ErrorType": error_type, "Content-Type": "application/json"}, body
