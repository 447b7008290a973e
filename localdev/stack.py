"""``signoff dev``: the Lambda handlers that run in AWS, unchanged, on one machine.

One port (``localdev.front``) takes Slack's requests, the HTTP API and the local Slack page.
Behind it, in this process: the durable local runner (sqlite under the data dir, so runs
survive a restart), a Lambda endpoint for boto3's Invoke and durable calls
(``localdev.lambda_host``), S3 objects on disk (``localdev.disk_s3``); and dynalite on disk
as a child process. Everything is pointed at through the same environment variables the
handlers read in AWS.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from agent.approvals.policy_source import policy_file_path
from agent.config import ENV_POLICY, ConfigError, chosen_provider
from localdev.dynalite import Dynalite
from localdev.health import Health, answers_at, table_answers

AGENT_FUNCTION = "signoff-agent"
SLACK_FUNCTION = "signoff-slack"
API_FUNCTION = "signoff-api"
REGION = "us-east-1"
LOCAL_APPROVERS = "UBOB"

_logger = logging.getLogger("signoff.dev")


@dataclass(frozen=True)
class DevOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: Path = Path(".signoff")
    socket_mode: bool = False
    metrics: bool = False  # print EMF metric records (off: they are JSON noise on a console)
    demo_mcp: bool = False  # also run the demo MCP server on port + 1 (localdev.demo_mcp)


@dataclass(frozen=True)
class LocalSecrets:
    """Made once per data dir, so a restart keeps the same tokens (and the page keeps working)."""

    slack_signing_secret: str
    slack_bot_token: str
    api_token: str  # the operator's: starts runs (and may not approve its own)
    reviewer_token: str  # a second API caller, "reviewer", that may decide

    @classmethod
    def load_or_create(cls, path: Path) -> LocalSecrets:
        fresh = cls(
            slack_signing_secret=secrets.token_hex(16),
            slack_bot_token="xoxb-local-" + secrets.token_hex(12),
            api_token="local-" + secrets.token_urlsafe(24),
            reviewer_token="local-reviewer-" + secrets.token_urlsafe(24),
        )
        saved = json.loads(path.read_text()) if path.exists() else {}
        made = cls(**{**fresh.__dict__, **saved})
        if saved.keys() != made.__dict__.keys():  # new, or from before a token was added
            partial = path.with_suffix(".partial")  # a crash mid-write leaves no empty file
            partial.touch(mode=0o600)
            partial.write_text(json.dumps(made.__dict__))
            partial.replace(path)
        return made


def local_environment(
    env: Mapping[str, str],
    *,
    public_url: str,
    local_secrets: LocalSecrets,
    local_slack: bool,
    metrics: bool = False,
) -> dict[str, str]:
    """What the handlers read, pointed at the local parts; a variable already set wins.

    Pure, so what ``signoff dev`` changes is visible in one place (and tested).
    """
    wanted = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "SIGNOFF_TABLE": "signoff",
        "SIGNOFF_BUCKET": "signoff-blobs",
        "AGENT_FUNCTION": f"{AGENT_FUNCTION}:live",
        "SIGNOFF_API_TOKEN": local_secrets.api_token,
        "SIGNOFF_API_TOKENS": f"{local_secrets.reviewer_token}=reviewer",
        "SIGNOFF_PUBLIC_URL": public_url,  # completion URLs for long-running tools
        # Powertools' switch: EMF records are written (to stdout) only when asked for.
        "POWERTOOLS_METRICS_DISABLED": "false" if metrics else "true",
    }
    if local_slack:
        wanted |= {
            "SLACK_API_URL": f"{public_url}/api/",
            "SLACK_BOT_TOKEN": local_secrets.slack_bot_token,
            "SLACK_SIGNING_SECRET": local_secrets.slack_signing_secret,
            "APPROVERS": LOCAL_APPROVERS,
        }
    return {name: value for name, value in wanted.items() if not env.get(name)}


class DevStack:
    """Start every part, in order, and stop what was started, in reverse."""

    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.public_url = f"http://{options.host}:{options.port}"
        self._stops: list[Callable[[], None]] = []
        self._timers: list[threading.Timer] = []
        # Socket Mode talks to a real workspace: no local Slack then, nor with SLACK_API_URL.
        self.local_slack_enabled = not (os.environ.get("SLACK_API_URL") or options.socket_mode)

    def start(self) -> None:
        """Everything up; ``/healthz`` turns 200 at the end."""
        from localdev import front

        # anthropic takes seconds to import: while the rest starts, not in the first run.
        warm_up = threading.Thread(target=_import_model_client, daemon=True)
        if chosen_provider(os.environ) != "offline":
            warm_up.start()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        local_secrets = LocalSecrets.load_or_create(self.data_dir / "secrets.json")
        os.environ.update(
            local_environment(
                os.environ,
                public_url=self.public_url,
                local_secrets=local_secrets,
                local_slack=self.local_slack_enabled,
                metrics=self.options.metrics,
            )
        )
        self.api_token = os.environ["SIGNOFF_API_TOKEN"]
        self.reviewer_token = local_secrets.reviewer_token
        if self.options.demo_mcp:
            self._start_demo_mcp(local_secrets.api_token)
        # Before anything starts: a bad one stops here, named.
        self.policy_file = check_settings(os.environ)
        self._start_storage()
        door = self._front_door()
        self.server = front.serve(door, self.options.host, self.options.port)
        self._stops.append(self.server.server_close)
        self._start_runner()
        self._wire()
        self._resume()
        if self.options.socket_mode:
            self._start_socket_mode()
        if warm_up.is_alive():
            warm_up.join()
        door.ready.set()

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        while self._stops:
            stop = self._stops.pop()
            with contextlib.suppress(Exception):  # stop the rest whatever one of them does
                stop()

    # Parts --------------------------------------------------------------------------------
    def _start_demo_mcp(self, secret: str) -> None:
        """The demo MCP server; without a policy file of one's own, one that points at it."""
        from localdev.demo_mcp import DEMO_TOKEN_VARIABLE, DemoMcp

        token = "demo-" + hashlib.sha256(secret.encode()).hexdigest()[:24]
        demo = DemoMcp(self.options.port + 1, token).start()
        self._stops.append(demo.stop)
        os.environ[DEMO_TOKEN_VARIABLE] = token
        if not os.environ.get(ENV_POLICY) and policy_file_path(None) is None:
            os.environ[ENV_POLICY] = str(demo.write_policy(self.data_dir / "demo-mcp.toml"))
        self.demo_mcp_url = demo.url

    def _start_storage(self) -> None:
        from localdev.disk_s3 import DiskS3

        dynalite = Dynalite(self.data_dir / "dynamodb")
        self._stops.append(dynalite.stop)
        self.dynalite = dynalite
        blobs = DiskS3(self.data_dir / "blobs").start()
        self._stops.append(blobs.stop)
        self.blobs_url = blobs.url
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynalite.endpoint_url
        self.dynamodb_url = dynalite.endpoint_url
        os.environ["AWS_ENDPOINT_URL_S3"] = blobs.url
        _ensure_table(os.environ["SIGNOFF_TABLE"])

    def _front_door(self) -> Any:
        from localdev.apigw import ApiGateway
        from localdev.front import FrontDoor
        from localdev.lambda_host import LambdaContext

        def context_for(path: str) -> LambdaContext:
            name = SLACK_FUNCTION if path.startswith("/slack/") else API_FUNCTION
            return LambdaContext.for_function(name, REGION)

        # Handlers are looked up per request: they are imported once the env is in place.
        self._handlers: dict[str, Callable[..., Any]] = {}
        door = FrontDoor(
            slack_events=ApiGateway(
                [("/", lambda e, c: self._handlers[SLACK_FUNCTION](e, c))], context_for
            ),
            api=ApiGateway([("/", lambda e, c: self._handlers[API_FUNCTION](e, c))], context_for),
            local_slack=self._local_slack() if self.local_slack_enabled else None,
            health=self._health(),
        )
        return door

    def _health(self) -> Health:
        """The parts ``/healthz`` checks (asked only once every part has started)."""
        import boto3
        from botocore.config import Config

        quick = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
        dynamodb = boto3.client("dynamodb", config=quick)
        return Health(
            {
                "dynamodb": table_answers(
                    dynamodb, os.environ["SIGNOFF_TABLE"], exited=self.dynalite.exit_code
                ),
                "s3": answers_at(self.blobs_url),
                "lambda": lambda: answers_at(self.local_lambda.url)(),
            }
        )

    def _local_slack(self) -> Any:
        from localdev.local_slack import LocalSlack

        self.local_slack = LocalSlack(
            self.data_dir / "slack.json",
            events_url=f"{self.public_url}/slack/events",
            public_url=self.public_url,
            signing_secret=os.environ["SLACK_SIGNING_SECRET"],
            bot_token=os.environ["SLACK_BOT_TOKEN"],
            slash_command=os.environ.get("SLASH_COMMAND") or "/agent",
            deciders=_policy_deciders(self.policy_file) if self.policy_file else None,
        )
        return self.local_slack

    def _start_runner(self) -> None:
        from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
        from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore

        from agent.handler import handler as agent_handler
        from localdev.lambda_host import EventQueue, LocalLambda

        self.store = SQLiteExecutionStore.create_and_initialize(str(self.data_dir / "runs.sqlite"))
        self.runner = DurableFunctionTestRunner(
            handler=agent_handler, store=self.store, skip_time=False, region=REGION
        )
        self._stops.append(self.runner.close)
        self.local_lambda = LocalLambda(
            self.runner._executor,  # the runner has no public accessor for its executor
            durable_function=AGENT_FUNCTION,
            functions={
                SLACK_FUNCTION: lambda e, c: self._handlers[SLACK_FUNCTION](e, c),
                API_FUNCTION: lambda e, c: self._handlers[API_FUNCTION](e, c),
            },
            events=EventQueue(self.data_dir / "invocations"),
            region=REGION,
        )
        threading.Thread(target=self.local_lambda.serve_forever, daemon=True).start()
        self._stops.append(self.local_lambda.server_close)
        self._stops.append(self.local_lambda.shutdown)
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = self.local_lambda.url

    def _wire(self) -> None:
        """The handlers, imported now that the environment points at the local parts, and
        started cold as Lambda would: each reads its settings and builds its clients now."""
        from agent import handler as agent
        from api import handler as api
        from slack_app import lambda_handler as slack

        for function in (agent, api, slack):
            function.cold_start()
        self._handlers[SLACK_FUNCTION] = slack.handler
        self._handlers[API_FUNCTION] = api.handler

    def _resume(self) -> None:
        """Pick up where a previous process stopped, however it stopped (even SIGKILL).

        As Lambda retries an invocation whose environment died: every unfinished run is
        invoked once (one that was only waiting replays and suspends again), and every async
        invocation left unfinished is delivered again. The local runner keeps its timers in
        memory: an invocation re-arms its run's retry and wait timers as it suspends, and each
        pending approval's and waiting job's timeout is armed from our own table.
        """
        unfinished = self._invoke_unfinished_runs()
        self._arm_callback_timeouts()
        redelivered = self.local_lambda.redeliver()
        if unfinished or redelivered:
            _logger.info(
                "resumed %d unfinished runs and %d unfinished async invocations",
                unfinished,
                redelivered,
            )

    def _invoke_unfinished_runs(self) -> int:
        executor = self.runner._executor
        unfinished = [e.durable_execution_arn for e in self.store.list_all() if not e.is_complete]
        for arn in unfinished:
            executor._invoke_execution(arn)  # private: the runner has no public re-invoke
        return len(unfinished)

    def _arm_callback_timeouts(self) -> None:
        """Each pending approval and waiting job times out at its ``expires_at``, as without
        the restart (the runner keeps callback timers in memory only)."""
        executor = self.runner._executor
        for waiting in waiting_callbacks():
            delay = max(0.0, (waiting.expires_at - datetime.now(UTC)).total_seconds())
            timer = threading.Timer(delay, self._expire, args=(executor, waiting))
            timer.daemon = True
            timer.start()
            self._timers.append(timer)

    @staticmethod
    def _expire(executor: Any, waiting: WaitingCallback) -> None:
        if waiting.still_waiting():
            executor._on_callback_timeout(waiting.execution_arn, waiting.callback_id)

    def _start_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from slack_app.app import build_app
        from slack_app.config import SlackSettings

        app_token = os.environ.get("SLACK_APP_TOKEN", "")
        handler = SocketModeHandler(build_app(SlackSettings.from_env()), app_token)
        handler.connect()  # type: ignore[no-untyped-call]
        self._stops.append(handler.close)


def _policy_deciders(path: Path) -> Callable[[], frozenset[str]]:
    """Who the policy file names as deciders of any gate (read again when it changes)."""
    from agent.config import Settings
    from agent.deps import build_policy
    from agent.tools import default_registry
    from localdev.local_slack import ANYONE

    source = build_policy(
        replace(Settings.from_env(os.environ), policy_path=str(path)), default_registry()
    )

    def deciders() -> frozenset[str]:
        try:
            policy = source.current()
        except ConfigError:
            return frozenset()
        rules = policy.rules()
        named = {p for rule in rules for p in rule.approvers or (ANYONE,)}
        named |= {p for rule in rules if rule.escalate for p in rule.escalate.to}
        return frozenset(named)

    return deciders


def check_settings(env: Mapping[str, str]) -> Path | None:
    """Every function's settings and the approval policy, as each reads them:
    ``ConfigError`` names a bad one (``PolicyError``: every problem of the file). Returns
    the policy file in force (None: the environment's policy)."""
    from agent.config import Settings
    from agent.deps import build_policy
    from agent.tools import default_registry
    from slack_app.config import SlackSettings

    settings = Settings.from_env(env)
    SlackSettings.from_env(env)
    return build_policy(settings, default_registry()).path


def _import_model_client() -> None:
    import anthropic  # noqa: F401


def _store() -> Any:
    import boto3

    from agent.storage.store import Store

    table = boto3.resource("dynamodb").Table(os.environ["SIGNOFF_TABLE"])
    return Store(table)


def _ensure_table(name: str) -> None:
    import boto3

    from agent.storage.store import AUDIT_INDEX, create_table

    client = boto3.client("dynamodb")
    if name not in client.list_tables()["TableNames"]:
        create_table(client, name)
        return
    indexes = client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    if AUDIT_INDEX not in {index["IndexName"] for index in indexes}:
        # dynalite cannot add an index to a table: only a fresh data dir gets it.
        print(
            f"warning: table {name!r} was made before the {AUDIT_INDEX} index: audit exports "
            "(GET /audit) need a fresh --data-dir",
            file=sys.stderr,
        )


@dataclass(frozen=True)
class WaitingCallback:
    """A callback a run waits on (an approval, a job), when it times out, and how to tell
    whether it is still open."""

    execution_arn: str
    callback_id: str
    expires_at: datetime
    still_waiting: Callable[[], bool]


def waiting_callbacks() -> Iterator[WaitingCallback]:
    """Every approval still pending and every job still waiting for its completion."""
    store = _store()
    for record in store.pending_approvals(limit=1000):
        run = store.get_run(record.run_id) or {}
        callback_id = store.get_callback_id(record.approval_id)
        if run.get("execution_arn") and callback_id:
            yield WaitingCallback(
                run["execution_arn"],
                callback_id,
                datetime.fromisoformat(record.expires_at),
                partial(_approval_pending, store, record.approval_id),
            )
    for job in store.waiting_jobs():
        run = store.get_run(job["run_id"]) or {}
        if run.get("execution_arn") and job.get("expires_at"):
            yield WaitingCallback(
                run["execution_arn"],
                job["callback_id"],
                datetime.fromisoformat(job["expires_at"]),
                partial(_job_waiting, store, job["job_id"]),
            )


def _approval_pending(store: Any, approval_id: str) -> bool:
    record = store.get_approval(approval_id)
    return record is not None and record.state == "pending"


def _job_waiting(store: Any, job_id: str) -> bool:
    job = store.job_for_completion(job_id)
    return job is not None and job["state"] == "waiting"
