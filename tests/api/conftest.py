"""The HTTP API's Lambda handler in front of the same local stack the Slack tests use."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from slack_sdk import WebClient

from agent.config import Secret
from agent.control.runs import ControlPlane
from agent.storage.store import Store
from api.handler import build_api, serve
from tests.slack_app.conftest import AGENT_FUNCTION, SlackStack, StackFactory, make_stack

__all__ = ["make_stack"]
TOKEN = "test-api-token"  # the operator's: the service that starts runs in these tests
REVIEWER_TOKEN = "reviewer-token-0123456789"  # a second service, which decides
DELEGATE_TOKEN = "delegate-token-0123456789"  # a bridge that decides for Slack users
STRANGER_TOKEN = "stranger-token-0123456789"  # a caller no API_APPROVERS list names
OTHER_TOKENS = {REVIEWER_TOKEN: "reviewer", DELEGATE_TOKEN: "slackbridge", STRANGER_TOKEN: "nosy"}


@dataclass
class ApiClient:
    """Calls the API handler with API Gateway v2 events."""

    resolver: Any
    stack: SlackStack
    build: Callable[[], Any]  # another resolver: what another Lambda container would hold

    def container(self) -> ApiClient:
        """A client for another container of the API function (a resolver serves one
        request at a time, as Lambda gives each container one invocation at a time)."""
        return replace(self, resolver=self.build())

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        raw: str | None = None,
        query: dict[str, str] | None = None,
        iam_arn: str | None = None,
    ) -> tuple[int, Any]:
        response = self.respond(
            method, path, body, token=token, raw=raw, query=query, iam_arn=iam_arn
        )
        return response["statusCode"], json.loads(response["body"]) if response.get(
            "body"
        ) else None

    def respond(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        raw: str | None = None,
        query: dict[str, str] | None = None,
        iam_arn: str | None = None,
    ) -> dict[str, Any]:
        """The handler's whole answer (status, headers, body as sent)."""
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
            "queryStringParameters": query,
            "headers": headers,
            "body": raw if raw is not None else (json.dumps(body) if body is not None else None),
            "isBase64Encoded": False,
            "requestContext": {
                **({"authorizer": {"iam": {"userArn": iam_arn}}} if iam_arn else {}),
                "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                "stage": "$default",
            },
        }
        return serve(self.resolver, event, None)


ApiFactory = Callable[..., ApiClient]


@pytest.fixture
def make_api(make_stack: StackFactory) -> ApiFactory:
    def make(script: Callable[[dict[str, Any]], Any], **overrides: Any) -> ApiClient:
        stack = make_stack(script, **overrides)
        settings = replace(
            stack.agent.deps.settings, api_token=Secret(value=TOKEN), api_tokens=OTHER_TOKENS
        )
        control = ControlPlane(
            store=Store(boto3.resource("dynamodb").Table(settings.table_name)),
            lambda_client=boto3.client("lambda"),
            agent_function=f"{AGENT_FUNCTION}:live",
            slack=WebClient(token="xoxb-test", base_url=stack.slack.api_url),
            approvers=settings.approvers,
            api_approvers=settings.api_approvers,
            api_delegates=settings.api_delegates,
            tools=stack.agent.deps.tools,
        )

        def build() -> Any:
            return build_api(settings, control)

        return ApiClient(resolver=build(), stack=stack, build=build)

    return make
