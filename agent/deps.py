"""The clients a run uses, built once per cold start and passed down (never module globals)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.approvals.policy_source import PolicySource, policy_file_path
from agent.approvals.rules import PolicyReader, environment_policy
from agent.config import Settings
from agent.model.client import build_model
from agent.model.request import ModelClient
from agent.storage.blobs import BlobStore
from agent.storage.store import Store
from agent.tools import ToolRegistry, default_registry
from agent.tools.mcp.client import McpConnector
from agent.tools.mcp.config import load_servers

SLACK_TIMEOUT_SECONDS = 10


class AwsClients:
    """boto3 clients by service name, made on first use and kept (tools ask for them)."""

    def __init__(self, session: Any = None) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3

                session = self._session or boto3.session.Session()
                self._clients[service] = session.client(service)
            return self._clients[service]


@dataclass(frozen=True)
class AgentDeps:
    """Settings plus the model, the tools, the table, the blob bucket, Slack, the approval
    policy (``policy.current()`` for a run that starts now) and AWS."""

    settings: Settings
    model: ModelClient
    tools: ToolRegistry
    store: Store
    blobs: BlobStore
    slack: Any | None
    policy: PolicyReader  # where a new run reads the policy it keeps (agent.approvals.rules)
    aws: Callable[[str], Any] = field(default_factory=AwsClients)
    # The policy file's [mcp.servers] (None: none configured); a run lists their tools once.
    mcp: McpConnector | None = None

    @property
    def offline_model(self) -> bool:
        return self.model.name == "offline"

    @classmethod
    def from_settings(cls, settings: Settings, *, tools: ToolRegistry | None = None) -> AgentDeps:
        """Build every client from the settings (boto3 honours AWS_ENDPOINT_URL_* locally)."""
        import boto3

        registry = tools or default_registry()
        read_only = frozenset(
            tool.name for tool in registry.all() if tool.read_only and not tool.long_running
        )
        session = boto3.session.Session(region_name=settings.aws_region)
        servers = load_servers(policy_file_path(settings.policy_path), settings.variables)
        return cls(
            settings=settings,
            model=build_model(settings, read_only_tools=read_only),
            tools=registry,
            store=Store(session.resource("dynamodb").Table(settings.table_name)),
            blobs=BlobStore(session.client("s3"), settings.bucket),
            slack=build_slack_client(settings),
            policy=build_policy(settings, registry, mcp_servers=[s.name for s in servers]),
            aws=AwsClients(session),
            mcp=McpConnector(servers) if servers else None,
        )


def build_policy(
    settings: Settings, tools: ToolRegistry, *, mcp_servers: list[str] | None = None
) -> PolicySource:
    """The approval policy, read and checked now: ``PolicyError`` (a ``ConfigError``) names
    every problem of a bad file, so the process does not start with it."""
    base = environment_policy(
        approvers=settings.approvers,
        deadline_seconds=settings.approval_timeout_seconds,
        allow_self_approval=settings.allow_self_approval,
    )
    return PolicySource.locate(
        settings.policy_path, base=base, tools=tools.approvals(), mcp_servers=mcp_servers or ()
    )


def build_slack_client(settings: Settings) -> Any | None:
    """A WebClient for the bot, or None when no token is configured (API-only runs)."""
    if not settings.slack_bot_token:
        return None
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    kwargs: dict[str, Any] = {}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    client = WebClient(
        token=settings.slack_bot_token.value, timeout=SLACK_TIMEOUT_SECONDS, **kwargs
    )
    # Slack's 429s carry Retry-After of a second or two: wait them out in place.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client
