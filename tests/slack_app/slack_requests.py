"""Signed Slack requests exactly as Slack sends them, wrapped as API Gateway v2 events."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"
TEAM = "T1"


def api_gateway_event(
    body: str,
    content_type: str,
    headers: dict[str, str] | None = None,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> dict[str, Any]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
            **(headers or {}),
        },
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "queryStringParameters": None,
    }


def slash_command(
    text: str,
    *,
    user: str,
    channel: str,
    trigger_id: str = "trig-1",
    command: str = "/agent",
    response_url: str = "http://127.0.0.1:9/unused",
) -> dict[str, Any]:
    form = {
        "token": "legacy",
        "team_id": TEAM,
        "channel_id": channel,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "trigger_id": trigger_id,
        "response_url": response_url,
    }
    return api_gateway_event(urlencode(form), "application/x-www-form-urlencoded")


def interaction(payload: dict[str, Any]) -> dict[str, Any]:
    body = urlencode({"payload": json.dumps(payload)})
    return api_gateway_event(body, "application/x-www-form-urlencoded")


def button_click(
    action_id: str,
    approval_id: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    trigger_id: str = "trig-b",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A button on a message; one in a thread names its thread as Slack does."""
    container = {"type": "message", "channel_id": channel, "message_ts": message_ts}
    message = {"ts": message_ts, "type": "message"}
    if thread_ts:
        container["thread_ts"] = message["thread_ts"] = thread_ts
    return interaction(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": trigger_id,
            "channel": {"id": channel},
            "container": container,
            "message": message,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "signoff_actions",
                    "value": approval_id,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
    )


def view_submission(callback_id: str, approval_id: str, value: str, *, user: str) -> dict[str, Any]:
    return interaction(
        {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": approval_id,
                "state": {
                    "values": {
                        "signoff_field": {"value": {"type": "plain_text_input", "value": value}}
                    }
                },
            },
        }
    )


def app_mention(
    text: str, *, user: str, channel: str, ts: str, event_id: str, retry: int | None = None
) -> dict[str, Any]:
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": user,
                "text": text,
                "ts": ts,
                "channel": channel,
                "event_ts": ts,
            },
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        }
    )
    headers = (
        {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"} if retry else {}
    )
    return api_gateway_event(body, "application/json", headers)


def app_home_opened(user: str, *, event_id: str, tab: str = "home") -> dict[str, Any]:
    """A person opens the app's Home (or Messages) tab."""
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D" + user,
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        }
    )
    return api_gateway_event(body, "application/json")


def home_click(
    action_id: str, approval_id: str, *, user: str, view_id: str, trigger_id: str = "trig-h"
) -> dict[str, Any]:
    """A button on the Home tab: no channel and no message, the view is the container."""
    return interaction(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": trigger_id,
            "container": {"type": "view", "view_id": view_id},
            "view": {"id": view_id, "type": "home", "callback_id": "signoff_home"},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": f"signoff_home:{approval_id}",
                    "value": approval_id,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
    )
