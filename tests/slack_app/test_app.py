"""Building the Bolt app: the Slack it talks to, and nothing to warn about."""

from __future__ import annotations

import logging

import pytest

from agent.config import Secret
from slack_app.app import SLACK_TIMEOUT_SECONDS, build_app
from slack_app.config import SlackSettings


def test_bolt_gets_the_token_and_talks_to_the_configured_slack_without_warnings(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")  # as signoff dev sets it
    settings = SlackSettings(
        signing_secret=Secret(value="s3cret"),
        bot_token=Secret(value="xoxb-from-env"),
        api_url="http://127.0.0.1:9/api/",
    )
    with caplog.at_level(logging.WARNING):
        app = build_app(settings)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert app.client.token == "xoxb-from-env"
    assert app.client.base_url == "http://127.0.0.1:9/api/"  # Bolt copies it to each request
    assert app.client.timeout == SLACK_TIMEOUT_SECONDS
