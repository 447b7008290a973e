"""The fakes speak the real protocols: the real clients (anthropic, slack_sdk, boto3) work
against them unchanged, and they record and keep state the way other tests rely on."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import MessageParam
from botocore.exceptions import ClientError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from localdev import dynalite
from tests.conftest import FakeClaudeFactory
from tests.fakes.aws import Dynalite, MotoS3
from tests.fakes.claude import Disconnect, Fault, Reply, overloaded, scripted, text, tool_use
from tests.fakes.slack import FakeSlack

MODEL = "claude-opus-4-8"
HELLO: list[MessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]


def claude(base_url: str, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-test", base_url=base_url, max_retries=0, **options)


# Claude ------------------------------------------------------------------------------------


def test_claude_streams_text_and_tool_use_that_the_sdk_reassembles(
    fake_claude_factory: FakeClaudeFactory,
) -> None:
    reply = Reply(
        [text("Let me check the forecast."), tool_use("get_weather", {"city": "Paris"}, "tu_1")],
        stop_reason="tool_use",
        usage={"cache_read_input_tokens": 120, "cache_creation_input_tokens": 30},
    )
    fake = fake_claude_factory(scripted(reply))

    with claude(fake.base_url).messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()

    assert len(pieces) >= 2 and "".join(pieces) == "Let me check the forecast."
    assert final.stop_reason == "tool_use"
    assert final.model == MODEL
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("tu_1", "get_weather", {"city": "Paris"})
    assert final.usage.cache_read_input_tokens == 120
    assert final.usage.cache_creation_input_tokens == 30
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 1
    assert fake.requests[0]["stream"] is True and fake.requests[0]["messages"] == HELLO
    assert fake.headers[0]["authorization"] == "Bearer sk-test"


def test_claude_answers_plain_json_when_not_streaming(
    fake_claude_factory: FakeClaudeFactory,
) -> None:
    fake = fake_claude_factory(scripted(Reply([text("Sunny.")])))

    message = claude(fake.base_url).messages.create(model=MODEL, max_tokens=64, messages=HELLO)

    assert [block.model_dump(exclude_none=True) for block in message.content] == [
        {"type": "text", "text": "Sunny."}
    ]
    assert message.stop_reason == "end_turn"
    assert "stream" not in fake.requests[0]


def test_claude_529_is_an_overloaded_error_with_a_readable_retry_after(
    fake_claude_factory: FakeClaudeFactory,
) -> None:
    fake = fake_claude_factory(scripted(overloaded(retry_after="3")))

    with pytest.raises(anthropic.InternalServerError) as caught:
        claude(fake.base_url).messages.create(model=MODEL, max_tokens=64, messages=HELLO)

    assert isinstance(caught.value, anthropic.OverloadedError)
    assert caught.value.status_code == 529
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert len(fake.requests) == 1


def test_claude_sdk_retries_honour_the_faults_headers(
    fake_claude_factory: FakeClaudeFactory,
) -> None:
    fault = Fault(429, "rate_limit_error", "slow down", {"retry-after-ms": "10"})
    fake = fake_claude_factory(scripted(fault, Reply([text("ok")])))

    client = claude(fake.base_url).with_options(max_retries=1)
    message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)

    assert message.content[0].type == "text"
    assert [h["x-stainless-retry-count"] for h in fake.headers] == ["0", "1"]


def test_claude_disconnect_is_a_connection_error(fake_claude_factory: FakeClaudeFactory) -> None:
    fake = fake_claude_factory(scripted(Disconnect()))

    with pytest.raises(anthropic.APIConnectionError):
        claude(fake.base_url).messages.create(model=MODEL, max_tokens=64, messages=HELLO)


def test_claude_script_errors_are_not_retried_and_surface_when_the_fake_stops() -> None:
    from tests.fakes.claude import FakeClaude

    fake = FakeClaude(scripted()).start()
    with pytest.raises(anthropic.InternalServerError):
        claude(fake.base_url, timeout=5).with_options(max_retries=2).messages.create(
            model=MODEL, max_tokens=64, messages=HELLO
        )
    assert len(fake.requests) == 1  # x-should-retry: false
    with pytest.raises(AssertionError, match="more often than the test scripted"):
        fake.stop()


def test_claude_bedrock_event_stream(fake_claude_factory: FakeClaudeFactory) -> None:
    reply = Reply([text("From Bedrock."), tool_use("lookup", {"q": [1, 2]}, "tu_b")], "tool_use")
    fake = fake_claude_factory(scripted(reply))
    client = anthropic.AnthropicBedrock(
        aws_region="us-east-1",
        aws_access_key="testing",
        aws_secret_key="testing",
        base_url=fake.base_url,
        max_retries=0,
    )

    model = "anthropic.claude-opus-4-8-v1:0"
    with client.messages.stream(model=model, max_tokens=64, messages=HELLO) as stream:
        final = stream.get_final_message()

    assert final.content[0].type == "text" and final.content[0].text == "From Bedrock."
    assert final.content[1].type == "tool_use" and final.content[1].input == {"q": [1, 2]}
    assert fake.paths == [f"/model/{model}/invoke-with-response-stream"]
    assert fake.headers[0]["authorization"].startswith("AWS4-HMAC-SHA256 ")


# Slack -------------------------------------------------------------------------------------


@pytest.fixture
def slack(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake_slack.api_url)


def test_slack_post_update_and_read_a_thread_with_metadata(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    metadata = {"event_type": "signoff_run", "event_payload": {"run": "r1"}}
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "*Plan*"}}
    root = slack.chat_postMessage(channel="C1", text="Plan", blocks=[section], metadata=metadata)
    reply = slack.chat_postMessage(channel="C1", text="step 1", thread_ts=root["ts"])
    slack.chat_update(channel="C1", ts=root["ts"], text="Plan (approved)")

    assert float(reply["ts"]) > float(root["ts"])
    assert root["message"]["user"] == "UBOT"
    with_metadata = slack.conversations_replies(
        channel="C1", ts=root["ts"], include_all_metadata=True
    )
    assert [m["text"] for m in with_metadata["messages"]] == ["Plan (approved)", "step 1"]
    assert with_metadata["messages"][0]["metadata"] == metadata
    assert with_metadata["messages"][0]["blocks"] == []  # text-only update drops blocks
    without = slack.conversations_replies(channel="C1", ts=root["ts"])
    assert "metadata" not in without["messages"][0]
    history = slack.conversations_history(channel="C1")
    assert [m["ts"] for m in history["messages"]] == [root["ts"]]  # replies stay in the thread
    assert history["messages"][0]["reply_count"] == 1
    assert [m["text"] for m in fake_slack.thread("C1", root["ts"])] == ["Plan (approved)", "step 1"]
    assert fake_slack.calls_to("chat.postMessage")[0].args["blocks"] == [section]


def test_slack_history_is_newest_first_and_includes_seeded_messages(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    fake_slack.seed_message("C1", "older", "UALICE", ts="1600000000.000100")
    posted = slack.chat_postMessage(channel="C1", text="newer")

    history = slack.conversations_history(channel="C1", limit=10)

    assert [m["text"] for m in history["messages"]] == ["newer", "older"]
    assert history["messages"][1]["user"] == "UALICE"
    assert [m["ts"] for m in fake_slack.messages("C1")] == ["1600000000.000100", posted["ts"]]


def test_slack_form_encoded_blocks_arrive_decoded(fake_slack: FakeSlack, slack: WebClient) -> None:
    slack.api_call(
        "chat.postMessage", params={"channel": "C2", "text": "t", "blocks": '[{"type":"divider"}]'}
    )

    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == [{"type": "divider"}]
    assert call.token == "xoxb-test"
    assert fake_slack.messages("C2")[0]["blocks"] == [{"type": "divider"}]


def test_slack_rate_limit_is_a_429_with_retry_after_then_recovers(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=7)
    fake_slack.fail_next("chat.update", error="internal_error", status=500)

    with pytest.raises(SlackApiError) as caught:
        slack.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    assert fake_slack.messages("C1") == []  # a failed call changes nothing

    posted = slack.chat_postMessage(channel="C1", text="hi")
    with pytest.raises(SlackApiError) as server_error:
        slack.chat_update(channel="C1", ts=posted["ts"], text="edit")
    assert server_error.value.response.status_code == 500
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


@pytest.mark.parametrize(
    ("token", "method", "args", "error"),
    [
        (None, "auth.test", {}, "not_authed"),
        ("xoxb-test", "chat.postMessage", {"channel": "C_NOT_IN", "text": "x"}, "not_in_channel"),
        (
            "xoxb-test",
            "chat.update",
            {"channel": "C1", "ts": "1.000001", "text": "x"},
            "message_not_found",
        ),
        ("xoxb-test", "no.such.method", {}, "unknown_method"),
        ("xoxb-test", "usergroups.users.list", {"usergroup": "SNONE"}, "no_such_subteam"),
    ],
)
def test_slack_errors_are_ok_false_with_slacks_codes(
    fake_slack: FakeSlack, token: str | None, method: str, args: dict[str, Any], error: str
) -> None:
    client = WebClient(token=token, base_url=fake_slack.api_url)

    with pytest.raises(SlackApiError) as caught:
        client.api_call(method, json=args)

    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error


def test_slack_people_ephemerals_and_modals(fake_slack: FakeSlack, slack: WebClient) -> None:
    fake_slack.usergroups["SREVIEW"] = ["UALICE", "UBOB"]
    fake_slack.users["UALICE"] = "alice"

    assert slack.usergroups_users_list(usergroup="SREVIEW")["users"] == ["UALICE", "UBOB"]
    assert slack.users_info(user="UALICE")["user"]["name"] == "alice"
    assert slack.users_info(user="UZED")["user"]["name"] == "UZED"
    assert slack.auth_test()["user_id"] == "UBOT"
    slack.chat_postEphemeral(channel="C1", user="UBOB", text="not yours to approve")
    assert fake_slack.ephemerals[0]["user"] == "UBOB"
    assert fake_slack.messages("C1") == []

    modal = {"type": "modal", "callback_id": "reject", "title": {"type": "plain_text", "text": "R"}}
    opened = slack.views_open(trigger_id="trig", view={**modal, "blocks": []})["view"]
    updated = slack.views_update(
        view_id=opened["id"], view={**modal, "blocks": [{"type": "divider"}]}
    )
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    assert fake_slack.calls_to("views.open")[0].args["view"]["callback_id"] == "reject"


def test_slack_dms_permalinks_and_home_tabs(fake_slack: FakeSlack, slack: WebClient) -> None:
    fake_slack.users.update({"UBOB": "bob", "UCAROL": "carol"})
    dm = slack.conversations_open(users="UBOB")["channel"]
    assert dm["id"].startswith("D") and slack.conversations_open(users="UBOB")["channel"] == dm
    slack.chat_postMessage(channel=dm["id"], text="asked")
    by_user = slack.chat_postMessage(channel="UBOB", text="reminded")  # a user id: their DM
    assert by_user["channel"] == dm["id"]
    assert [m["text"] for m in fake_slack.messages(dm["id"])] == ["asked", "reminded"]
    assert slack.conversations_info(channel=dm["id"])["channel"]["is_im"] is True
    assert dm["id"] not in [c["id"] for c in slack.conversations_list()["channels"]]
    with pytest.raises(SlackApiError) as refused:
        slack.conversations_open(users="UNOBODY")
    assert refused.value.response["error"] == "user_not_found"

    root = slack.chat_postMessage(channel="C1", text="run")["ts"]
    card = slack.chat_postMessage(channel="C1", text="card", thread_ts=root)["ts"]
    link = slack.chat_getPermalink(channel="C1", message_ts=root)["permalink"]
    assert link.endswith(f"/archives/C1/p{root.replace('.', '')}")
    in_thread = slack.chat_getPermalink(channel="C1", message_ts=card)["permalink"]
    assert in_thread.endswith(f"/p{card.replace('.', '')}?thread_ts={root}&cid=C1")
    with pytest.raises(SlackApiError):
        slack.chat_getPermalink(channel="C1", message_ts="1.000001")

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    first = slack.views_publish(user_id="UBOB", view=home)["view"]
    second = slack.views_publish(user_id="UBOB", view=home, hash=first["hash"])["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert fake_slack.workspace.homes["UBOB"]["hash"] == second["hash"]
    assert "UCAROL" not in fake_slack.workspace.homes  # each person has their own
    for view, error in (
        ({"type": "modal", "blocks": []}, "invalid_arguments"),
        ({"type": "home", "blocks": [{"type": "divider"}] * 101}, "invalid_blocks"),
    ):
        with pytest.raises(SlackApiError) as caught:
            slack.views_publish(user_id="UBOB", view=view)
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError) as stale:
        slack.views_publish(user_id="UBOB", view=home, hash=first["hash"])
    assert stale.value.response["error"] == "hash_conflict"


# AWS ---------------------------------------------------------------------------------------


def test_dynalite_conditional_put_raises_the_modelled_exception(dynalite: Dynalite) -> None:
    client = dynalite.client()
    table = f"selftest-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"pk": {"S": "decision#1"}, "by": {"S": "UALICE"}}
    once = {"ConditionExpression": "attribute_not_exists(pk)"}
    client.put_item(TableName=table, Item=item, **once)

    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=table, Item={**item, "by": {"S": "UBOB"}}, **once)

    stored = client.get_item(TableName=table, Key={"pk": {"S": "decision#1"}})["Item"]
    assert stored["by"] == {"S": "UALICE"}


def test_dynalite_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynalite, "DYNALITE", Path("/nonexistent/dynalite"))

    with pytest.raises(FileNotFoundError, match="make deps"):
        Dynalite()


def test_moto_s3_put_and_get(moto_s3: MotoS3) -> None:
    s3 = moto_s3.client()
    bucket = f"selftest-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="runs/r1.json", Body=b'{"ok": true}')

    assert s3.get_object(Bucket=bucket, Key="runs/r1.json")["Body"].read() == b'{"ok": true}'
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="missing")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


# The test environment ----------------------------------------------------------------------


def test_tests_cannot_reach_the_network() -> None:
    with pytest.raises(RuntimeError, match="must not reach the network"):
        socket.create_connection(("slack.com", 443), timeout=1)
    with socket.socket() as sock, pytest.raises(RuntimeError, match="must not reach"):
        sock.connect(("10.255.255.1", 443))
    with pytest.raises(RuntimeError, match="must not reach"):
        socket.getaddrinfo("api.anthropic.com", 443)


def test_loopback_and_unix_sockets_stay_allowed(fake_slack: FakeSlack, tmp_path: Path) -> None:
    port = int(fake_slack.api_url.split(":")[2].split("/")[0])
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    socket.create_connection(("localhost", port), timeout=1).close()
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(str(tmp_path / "s.sock"))
        server.listen()
        client.connect(str(tmp_path / "s.sock"))


def test_environment_has_dummy_aws_credentials_and_nothing_real() -> None:
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert not [name for name in os.environ if name.startswith(("ANTHROPIC_", "SLACK_"))]
