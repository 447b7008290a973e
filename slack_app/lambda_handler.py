"""The Slack app's Lambda entry point, behind API Gateway (``POST /slack/events``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from slack_app.app import build_app
from slack_app.config import SlackSettings


@cache
def _request_handler() -> SlackRequestHandler:
    return SlackRequestHandler(build_app(SlackSettings.from_env()))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Verify, dispatch and answer one Slack request (or run one lazy listener)."""
    response: dict[str, Any] = _request_handler().handle(event, context)  # type: ignore[no-untyped-call]
    return response
