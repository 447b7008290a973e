"""Build the Bolt app from its settings; the Lambda client for lazy listeners may be passed in."""

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
from slack_app.batch import register_batch
from slack_app.config import SlackSettings
from slack_app.groups import GroupMembers
from slack_app.home import register_home
from slack_app.listeners import register
from slack_app.payloads import malformed, refuse_what_slack_never_sends

SLACK_TIMEOUT_SECONDS = 10


def configure_client(client: WebClient, settings: SlackSettings) -> None:
    """Point Bolt's client at the Slack the settings name, with our timeout and retries.

    Bolt is given the token and builds this client itself (handing it a client of our own
    while SLACK_BOT_TOKEN is set makes it warn that the token is unused); it copies the
    client's base URL, timeout and retry handlers into each request's client.
    """
    if settings.api_url:
        client.base_url = settings.api_url
    client.timeout = SLACK_TIMEOUT_SECONDS
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))


def build_app(
    settings: SlackSettings,
    *,
    lambda_client: Any | None = None,
    tools: ToolRegistry | None = None,
) -> App:
    """The Bolt app: signature verification, listeners, and the control plane built lazily."""
    app = App(
        signing_secret=settings.signing_secret.value,
        token=settings.bot_token.value,
        process_before_response=True,
        # auth.test at start would add a Slack round trip to every cold start.
        token_verification_enabled=False,
    )
    client = app.client
    configure_client(client, settings)
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
    register_home(app, control)
    register_batch(app, control)
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
