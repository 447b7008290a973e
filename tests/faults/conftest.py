"""The Slack stack under fire: what it resumed, what is still running, what failed silently.

``make_fault_stack`` wires the same parts as the Slack app tests' stack (the real Slack Lambda
handler, a local Lambda endpoint, the real durable agent on the SDK's runner) and adds what a
fault test must see: every durable callback the Slack app sends, the lazy listener invocations
still running, and the failures that never become an HTTP status (ERROR logs, exceptions that
end a thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from agent.config import Secret
from localdev.lambda_host import LocalLambda
from slack_app.app import build_app
from slack_app.config import SlackSettings
from slack_app.lambda_handler import LambdaHandler, make_lambda_handler
from tests.api.conftest import make_api, make_stack
from tests.fakes.aws import Dynalite, MotoS3
from tests.fakes.claude import FakeClaude, Script
from tests.fakes.slack import FakeSlack
from tests.scenarios.harness import AgentHarness, agent_harness
from tests.slack_app.conftest import AGENT_FUNCTION, SLACK_FUNCTION, SlackStack
from tests.slack_app.slack_requests import SIGNING_SECRET

__all__ = ["make_api", "make_stack"]  # the API's fixtures, for the API abuse suite

CALLBACK_OPERATIONS = ("SendDurableExecutionCallbackSuccess", "SendDurableExecutionCallbackFailure")


@dataclass
class SilentFailures:
    """ERROR log records and uncaught thread exceptions, from any thread."""

    records: list[logging.LogRecord] = field(default_factory=list)
    thread_errors: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        logged = [f"{r.name}: {r.getMessage()}" for r in self.records]
        return logged + self.thread_errors


class _Recorder(logging.Handler):
    def __init__(self, into: SilentFailures) -> None:
        super().__init__(level=logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.records.append(record)


@pytest.fixture
def silent_failures() -> Iterator[SilentFailures]:
    """Collect what fails without an HTTP status: a lazy listener's error is only logged."""
    failures = SilentFailures()
    recorder = _Recorder(failures)
    root = logging.getLogger()
    root.addHandler(recorder)
    previous_hook = threading.excepthook

    def record_thread_error(args: threading.ExceptHookArgs) -> None:
        failures.thread_errors.append(f"{args.thread}: {args.exc_type.__name__}: {args.exc_value}")
        previous_hook(args)

    threading.excepthook = record_thread_error
    try:
        yield failures
    finally:
        threading.excepthook = previous_hook
        root.removeHandler(recorder)


@dataclass
class LazyInvocations:
    """The Slack function's lazy listener invocations: counted when Bolt invokes, and when done.

    Counting when the Invoke returns (synchronously, inside the ack) means that once a request
    has been answered, every lazy listener it started is already counted.
    """

    started: int = 0
    finished: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def count_invokes(self, lambda_client: Any) -> Any:
        lambda_client.meta.events.register("after-call.lambda.Invoke", self._invoked)
        return lambda_client

    def _invoked(self, http_response: Any, **_: Any) -> None:
        if http_response.status_code < 300:  # accepted: its handler runs (or has run)
            with self._changed:
                self.started += 1

    def track(self, handler: LambdaHandler) -> LambdaHandler:
        def tracked(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return handler(event, context)
            finally:
                with self._changed:
                    self.finished += 1
                    self._changed.notify_all()

        return tracked

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Until every lazy listener started so far has returned."""
        with self._changed:
            idle = self._changed.wait_for(lambda: self.finished >= self.started, timeout)
        assert idle, f"{self.started - self.finished} lazy listeners still running"


@dataclass
class CallbackLog:
    """The durable callbacks the Slack app sent, recorded on its own boto3 client."""

    sent: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, lambda_client: Any) -> Any:
        for operation in CALLBACK_OPERATIONS:
            lambda_client.meta.events.register(
                f"before-parameter-build.lambda.{operation}", self._record
            )
        return lambda_client

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.sent.append(str(params["CallbackId"]))


@dataclass
class FaultStack(SlackStack):
    callbacks: CallbackLog = field(default_factory=CallbackLog)
    lazy: LazyInvocations = field(default_factory=LazyInvocations)

    def settle(self) -> None:
        """Let the lazy listeners of the requests answered so far finish."""
        self.lazy.wait_until_idle()


FaultStackFactory = Callable[..., FaultStack]


@pytest.fixture
def make_fault_stack(
    dynalite: Dynalite, moto_s3: MotoS3, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultStackFactory]:
    """Build a stack around a Claude script; ``agent_overrides`` go to the agent's settings."""
    with ExitStack() as exits:

        def make(script: Script, **agent_overrides: Any) -> FaultStack:
            claude = exits.enter_context(FakeClaude(script))
            harness = exits.enter_context(
                agent_harness(
                    dynalite_url=dynalite.endpoint_url,
                    s3_url=moto_s3.endpoint_url,
                    slack_url=fake_slack.api_url,
                    claude_url=claude.base_url,
                    monkeypatch=monkeypatch,
                    **agent_overrides,
                )
            )
            harness.claude = claude
            local = exits.enter_context(local_lambda(harness))
            monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", local.url)
            callbacks, lazy = CallbackLog(), LazyInvocations()
            handler = slack_handler(harness, fake_slack, local.url, callbacks, lazy)
            local.functions[SLACK_FUNCTION] = lazy.track(handler)
            return FaultStack(harness, fake_slack, handler, callbacks=callbacks, lazy=lazy)

        yield make


@contextmanager
def local_lambda(harness: AgentHarness) -> Iterator[LocalLambda]:
    """The Lambda endpoint: Invoke starts the durable agent, or runs the Slack function."""
    local = LocalLambda(
        harness.runner._executor,  # the runner has no public accessor for its executor
        durable_function=AGENT_FUNCTION,
        functions={},
    )
    threading.Thread(target=local.serve_forever, daemon=True).start()
    try:
        yield local
    finally:
        local.shutdown()
        local.server_close()


def slack_handler(
    harness: AgentHarness,
    slack: FakeSlack,
    lambda_url: str,
    callbacks: CallbackLog,
    lazy: LazyInvocations,
) -> LambdaHandler:
    """The Slack function as deployed, its Lambda clients counting callbacks and lazy runs."""
    agent_settings = harness.deps.settings
    settings = SlackSettings(
        signing_secret=Secret(value=SIGNING_SECRET),
        bot_token=Secret(value="xoxb-test-token"),
        api_url=slack.api_url,
        approvers=agent_settings.approvers,
        table_name=agent_settings.table_name,
        agent_function=f"{AGENT_FUNCTION}:live",
    )
    control_client = callbacks.attach(boto3.client("lambda", endpoint_url=lambda_url))
    lazy_client = lazy.count_invokes(boto3.client("lambda", endpoint_url=lambda_url))
    app = build_app(settings, lambda_client=control_client)
    return make_lambda_handler(app, lambda_client=lazy_client)
