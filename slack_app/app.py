"""Build the Bolt app with its clients passed in (tests and the local stack pass their own)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import boto3
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from agent.control.runs import ControlPlane
from agent.storage.store import Store
from agent.tools import ToolRegistry, default_registry
from slack_app.config import SlackSettings
from slack_app.groups import GroupMembers
from slack_app.listeners import register
from slack_app.payloads import malformed, refuse_what_slack_never_sends


def web_client(settings: SlackSettings) -> WebClient:
    kwargs: dict[str, Any] = {"base_url": settings.api_url} if settings.api_url else {}
    client = WebClient(token=settings.bot_token.value, timeout=10, **kwargs)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_app(
    settings: SlackSettings,
    *,
    client: WebClient | None = None,
    lambda_client: Any | None = None,
    tools: ToolRegistry | None = None,
) -> App:
    """The Bolt app: signature verification, listeners, and the control plane built lazily."""
    client = client or web_client(settings)
    app = App(
        signing_secret=settings.signing_secret.value,
        client=client,
        process_before_response=True,
        # auth.test at start would add a Slack round trip to every cold start.
        token_verification_enabled=False,
    )
    groups = GroupMembers(client)

    @cache
    def control() -> ControlPlane:
        session = boto3.session.Session(region_name=settings.aws_region)
        return ControlPlane(
            store=Store(session.resource("dynamodb").Table(settings.table_name)),
            lambda_client=lambda_client or session.client("lambda"),
            agent_function=settings.agent_function,
            slack=client,
            slash_command=settings.slash_command,
            approvers=settings.approvers,
            group_members=groups,
            lease_seconds=settings.claim_lease_seconds,
            tools=tools or default_registry(),
        )

    app.middleware(refuse_what_slack_never_sends)
    register(app, settings, control, tools or default_registry())
    app.error(_malformed_is_a_client_error)
    return app


def _malformed_is_a_client_error(error: Exception, logger: logging.Logger) -> BoltResponse | None:
    """A payload Bolt or a listener cannot read (a field missing or mistyped) is the caller's
    error: 400, not 500."""
    if isinstance(error, LookupError | ValueError | TypeError | AttributeError):
        logger.warning("malformed Slack payload: %s %s", type(error).__name__, error)
        return malformed()
    logger.error("Slack request failed: %s", type(error).__name__, exc_info=error)
    return None
