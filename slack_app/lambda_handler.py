"""The Slack app's Lambda entry point, behind API Gateway (``POST /slack/events``)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from functools import cache
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from agent.secrets import with_secrets
from slack_app.app import build_app
from slack_app.config import SlackSettings

_logger = logging.getLogger(__name__)
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_lambda_handler(app: App, *, lambda_client: Any | None = None) -> LambdaHandler:
    """Bolt's adapter, plus a 400 for bodies Bolt cannot parse (it would raise: a 5xx).

    ``lambda_client`` invokes this function again for each lazy listener (default: boto3's).
    """
    adapter = SlackRequestHandler(app)
    if lambda_client is not None:
        app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
            adapter.logger, lambda_client
        )

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = adapter.handle(event, context)  # type: ignore[no-untyped-call]
        except (ValueError, LookupError, TypeError, AttributeError) as err:
            # Bolt parses the body before any listener runs, and builds the arguments of its
            # error handlers from it too (``actions: []`` fails there): a malformed one raises.
            _logger.warning("malformed Slack request: %s", type(err).__name__)
            body = json.dumps({"error": "malformed request"})
            return {
                "statusCode": 400,
                "headers": {"content-type": "application/json"},
                "body": body,
            }
        return response

    return handle


@cache
def _handler() -> LambdaHandler:
    return make_lambda_handler(build_app(SlackSettings.from_env(with_secrets(os.environ))))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Verify, dispatch and answer one Slack request (or run one lazy listener)."""
    return _handler()(event, context)
