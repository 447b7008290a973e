"""The built-in Slack tools against the fake Slack Web API, through slack_sdk's WebClient."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from agent.config import Settings
from agent.errors import ToolInputError
from agent.slack_names import channel_id, display_names, user_id
from agent.tools import ToolContext, default_registry
from tests.fakes.slack import FakeSlack


def context(slack: WebClient) -> ToolContext:
    return ToolContext(
        run_id="run-1",
        requester="UALICE",
        channel="CGENERAL",
        idempotency_key="k" * 40,
        attempt=1,
        slack=slack,
        settings=Settings(llm_provider="offline"),
        aws=lambda service: None,
    )


def run(slack: WebClient, tool_name: str, **arguments: object) -> Any:
    tool = default_registry().get(tool_name)
    assert tool is not None
    return tool.run(context(slack), tool.parse_args(arguments))


@pytest.fixture
def slack(fake_slack: FakeSlack) -> WebClient:
    fake_slack.workspace.channel_names.update({"CGENERAL": "general", "COPS": "ops"})
    fake_slack.users.update(
        {"UCAROL": {"name": "carol"}, "UBOB": "bob", "UBOT": {"name": "signoff", "is_bot": True}}
    )
    return WebClient(token="xoxb-test", base_url=fake_slack.api_url)


def test_history_names_who_wrote_each_message_and_marks_apps(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    fake_slack.seed_message("COPS", "deploy is out", "UCAROL")
    run(slack, "post_slack_message", channel="COPS", text="noted")

    history = run(slack, "read_slack_history", channel="#ops")

    assert history == [
        {"ts": history[0]["ts"], "user": "UBOT", "name": "signoff", "bot": True, "text": "noted"},
        {"ts": history[1]["ts"], "user": "UCAROL", "name": "carol", "text": "deploy is out"},
    ]


def test_a_channel_may_be_named_and_the_post_goes_to_its_id(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    for ref in ("#ops", "ops", "COPS"):
        posted = run(slack, "post_slack_message", channel=ref, text=f"via {ref}")
        assert posted["channel"] == "COPS"
    assert [m["text"] for m in fake_slack.messages("COPS")] == ["via #ops", "via ops", "via COPS"]


def test_an_unknown_channel_name_is_an_error_claude_can_read(slack: WebClient) -> None:
    with pytest.raises(ToolInputError, match="no channel named #nowhere"):
        run(slack, "post_slack_message", channel="#nowhere", text="hi")
    tool = default_registry().get("post_slack_message")
    assert tool is not None
    with pytest.raises(ToolInputError, match="channel"):
        tool.parse_args({"channel": "#Not A Channel", "text": "hi"})


def test_names_and_ids_are_looked_up_through_the_web_api(slack: WebClient) -> None:
    assert channel_id(slack, "#general") == "CGENERAL"
    assert channel_id(slack, "CANYTHING") == "CANYTHING"  # an id is taken as it is
    assert channel_id(slack, "#nope") is None
    assert user_id(slack, "@bob") == "UBOB"
    assert user_id(slack, "Carol") == "UCAROL"  # handles and names, in any case
    assert user_id(slack, "@signoff") is None  # an app is nobody's usage
    assert display_names(slack, ["UCAROL", "UBOB"]) == {"UCAROL": "carol", "UBOB": "bob"}
