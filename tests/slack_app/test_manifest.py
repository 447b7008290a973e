"""The Slack manifest creates the app the code expects, in one paste."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from slack_app.commands import usage_hint

REPO = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((REPO / "slack_app" / "manifest.json").read_text())

# The bot scope each Web API method the code calls needs.
SCOPE_OF = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_getPermalink": "",  # no scope needed
    "conversations_open": "im:write",
    "conversations_history": "channels:history",
    "conversations_replies": "channels:history",
    "conversations_list": "channels:read",
    "conversations_info": "channels:read",
    "conversations_members": "channels:read",
    "usergroups_users_list": "usergroups:read",
    "users_info": "users:read",
    "users_list": "users:read",
}


def web_api_calls() -> set[str]:
    """Every ``client.<method>`` the app's and the agent's code calls or hands on."""
    calls: set[str] = set()
    prefixes = ("chat_", "conversations_", "usergroups_", "users_")
    for path in [*REPO.glob("agent/**/*.py"), *REPO.glob("slack_app/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith(prefixes):
                calls.add(node.attr)
    return calls


def test_every_web_api_method_the_code_calls_has_its_scope() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    calls = web_api_calls()
    assert calls <= SCOPE_OF.keys(), f"add scopes for {calls - SCOPE_OF.keys()}"
    assert {SCOPE_OF[call] for call in calls} - {""} <= scopes
    assert "metadata.message:read" in scopes  # idempotent posts find earlier ones by metadata
    assert {"commands", "app_mentions:read"} <= scopes
    assert "groups:read" in scopes  # conversations.list finds private channels the app is in
    assert "im:history" in scopes  # a retried DM finds the one posted before by its metadata


def test_slack_escapes_mentions_and_the_hint_lists_every_subcommand() -> None:
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["should_escape"] is True  # @bob arrives as <@U…|bob>, #ops as <#C…|ops>
    assert command["usage_hint"] == usage_hint()
    for verb in ("status", "pending", "cancel", "usage", "help"):
        assert verb in command["usage_hint"] and verb in command["description"]


def test_command_events_and_interactivity_all_point_at_the_events_route() -> None:
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/agent"
    urls = {
        command["url"],
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
        MANIFEST["settings"]["interactivity"]["request_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert events == ["app_home_opened", "app_mention"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_the_home_tab_is_the_inbox_and_the_messages_tab_holds_the_dms() -> None:
    home = MANIFEST["features"]["app_home"]
    assert home["home_tab_enabled"] is True  # published on app_home_opened
    assert home["messages_tab_enabled"] is True  # where the app's DMs show
    assert home["messages_tab_read_only_enabled"] is True  # nobody talks to the app there
