"""The Slack app's Lambda entry point, behind API Gateway (``POST /slack/events``)."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from agent.config import running_in_lambda
from agent.json_limits import TooDeep, check_depth
from agent.secrets import with_secrets
from agent.tools import default_registry
from slack_app.app import build_app
from slack_app.config import SlackSettings

_logger = logging.getLogger(__name__)
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_lambda_handler(app: App, *, lambda_client: Any | None = None) -> LambdaHandler:
    """Bolt's adapter, plus a 400 for bodies Bolt cannot parse (it would raise: a 5xx) and
    for JSON nested too deep to parse at all (``agent.json_limits``).

    ``lambda_client`` invokes this function again for each lazy listener (default: boto3's).
    """
    adapter = SlackRequestHandler(app)
    if lambda_client is not None:
        app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
            adapter.logger, lambda_client
        )

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            check_body_depth(event)
            response: dict[str, Any] = adapter.handle(event, context)  # type: ignore[no-untyped-call]
        except TooDeep as err:  # Python's JSON parser would recurse past its limit
            _logger.warning("Slack request refused: %s", err)
            return _bad_request(str(err))
        except (ValueError, LookupError, TypeError, AttributeError) as err:
            # Bolt parses the body before any listener runs, and builds the arguments of its
            # error handlers from it too (``actions: []`` fails there): a malformed one raises.
            _logger.warning("malformed Slack request: %s", type(err).__name__)
            return _bad_request("malformed request")
        return response

    return handle


def check_body_depth(event: dict[str, Any]) -> None:
    """Raise ``TooDeep`` where the JSON Bolt is about to parse (the body, or a form's
    ``payload``: ``slack_bolt.request.internals.parse_body``) nests deeper than any Slack
    payload does."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", "replace")
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    if headers.get("content-type") == "application/json" or raw.startswith("{"):
        check_depth(raw, "the request body")
    elif "payload" in raw:
        payload = dict(parse_qsl(raw, keep_blank_values=True)).get("payload")
        if payload is not None:
            check_depth(payload, "the payload")


def _bad_request(message: str) -> dict[str, Any]:
    return {
        "statusCode": 400,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"error": message}),
    }


@cache
def _handler() -> LambdaHandler:
    settings = SlackSettings.from_env(with_secrets(os.environ))
    tools = default_registry()
    settings.policy(tools)  # a bad policy file stops the cold start, named
    return make_lambda_handler(build_app(settings, tools=tools))


def cold_start() -> None:
    """Read and check every setting and build the app now (Lambda's init phase, below;
    ``signoff dev`` at start): a bad setting stops the start, named, instead of failing
    every request."""
    _handler()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Verify, dispatch and answer one Slack request (or run one lazy listener)."""
    return _handler()(event, context)


if running_in_lambda(os.environ):
    cold_start()
