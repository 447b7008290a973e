"""The local Slack's own rules, and what ``signoff dev`` sets in the environment."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from localdev.local_slack import AppError, LocalSlack, seeded_workspace, slack_escaped
from localdev.stack import LocalSecrets, local_environment

TOKEN = "xoxb-local-test"
DEEP = b"[" * 5_000 + b"]" * 5_000


def local_slack(tmp_path: Path) -> LocalSlack:
    return LocalSlack(
        tmp_path / "slack.json",
        events_url="http://127.0.0.1:9/slack/events",
        public_url="http://127.0.0.1:9",
        signing_secret="s3cret",
        bot_token=TOKEN,
        slash_command="/agent",
    )


def test_the_web_api_wants_the_bot_token(tmp_path: Path) -> None:
    slack = local_slack(tmp_path)
    assert slack.web_api("auth.test", {}, None) == {"ok": False, "error": "not_authed"}
    assert slack.web_api("auth.test", {}, "xoxb-other") == {"ok": False, "error": "invalid_auth"}
    assert slack.web_api("auth.test", {}, TOKEN)["ok"] is True


def test_a_modal_needs_a_trigger_the_workspace_issued(tmp_path: Path) -> None:
    slack = local_slack(tmp_path)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": []}
    answer = slack.web_api("views.open", {"trigger_id": "made-up", "view": view}, TOKEN)
    assert answer == {"ok": False, "error": "invalid_trigger_id"}


def test_typed_mentions_are_sent_as_slack_escapes_them() -> None:
    workspace = seeded_workspace(clock=lambda: 1_800_000_000.0)
    typed = "usage @bob in #ops, a<b & @nobody #nowhere mail@bob.example"
    assert slack_escaped(typed, workspace, names=True) == (
        "usage <@UBOB|bob> in <#COPS|ops>, a&lt;b &amp; @nobody #nowhere mail@bob.example"
    )  # a slash command with should_escape
    assert slack_escaped("hi @signoff, ask @carol", workspace, names=False) == (
        "hi <@UBOT>, ask <@UCAROL>"
    )  # a message


def test_a_fresh_workspace_has_people_talking_in_ops_minutes_ago() -> None:
    now = 1_800_000_000.0
    workspace = seeded_workspace(clock=lambda: now)
    ops = workspace.top_level("COPS")
    assert [m["user"] for m in ops] == ["UCAROL", "UBOB", "UALICE"]
    assert all(now - 3600 < float(m["ts"]) < now for m in ops)
    assert float(workspace.next_ts()) >= now  # new messages carry the time they are sent
    assert workspace.top_level("CGENERAL") == []
    listed = workspace.call("conversations.list", {})["channels"]
    assert {c["id"]: c["name"] for c in listed} == {"CGENERAL": "general", "COPS": "ops"}


def test_a_response_url_of_a_button_in_a_thread_answers_in_that_thread(tmp_path: Path) -> None:
    slack = local_slack(tmp_path)
    slack.respond("CGENERAL", "UCAROL", {"text": "not you"}, "1800000000.000100")
    (ephemeral,) = slack.state_for("UCAROL")["ephemerals"]
    assert ephemeral["thread_ts"] == "1800000000.000100" and ephemeral["text"] == "not you"


def test_the_composer_refuses_empty_text_and_unknown_channels(tmp_path: Path) -> None:
    slack = local_slack(tmp_path)
    with pytest.raises(AppError, match="Type a message"):
        slack.send("UALICE", "CGENERAL", "   ", None)
    with pytest.raises(AppError, match="no channel 'CNOPE'"):
        slack.send("UALICE", "CNOPE", "hello", None)


def call_wsgi(app: LocalSlack, method: str, path: str, body: bytes, content_type: str) -> int:
    """One request through the page's WSGI app; the status it answers."""
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
        "wsgi.input": io.BytesIO(body),
    }
    b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return int(statuses[0].split()[0])


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/workspace/send", DEEP, "application/json"),
        ("/workspace/send", b"[1, 2]", "application/json"),
        ("/api/chat.postMessage", DEEP, "application/json; charset=utf-8"),
        ("/api/chat.postMessage", b"blocks=" + DEEP, "application/x-www-form-urlencoded"),
        ("/respond/CGENERAL/UALICE", DEEP, "application/json"),
    ],
)
def test_the_page_and_its_web_api_answer_deep_or_odd_json_with_a_400(
    tmp_path: Path, path: str, body: bytes, content_type: str
) -> None:
    assert call_wsgi(local_slack(tmp_path), "POST", path, body, content_type) == 400


def test_what_the_app_posts_is_kept_across_a_restart(tmp_path: Path) -> None:
    slack = local_slack(tmp_path)
    posted = slack.web_api("chat.postMessage", {"channel": "CGENERAL", "text": "hi"}, TOKEN)
    slack.web_api(
        "chat.postEphemeral", {"channel": "CGENERAL", "user": "UBOB", "text": "psst"}, TOKEN
    )

    again = local_slack(tmp_path)

    general = next(c for c in again.state_for("UALICE")["channels"] if c["id"] == "CGENERAL")
    assert [m["ts"] for m in general["messages"]] == [posted["ts"]]
    assert general["name"] == "general"
    assert again.state_for("UALICE")["ephemerals"] == []
    assert [e["text"] for e in again.state_for("UBOB")["ephemerals"]] == ["psst"]
    later = again.web_api("chat.postMessage", {"channel": "CGENERAL", "text": "later"}, TOKEN)
    assert float(later["ts"]) > float(posted["ts"])  # ts keep increasing after a reload


def test_each_person_sees_only_their_dms_and_home_and_both_survive_a_restart(
    tmp_path: Path,
) -> None:
    slack = local_slack(tmp_path)
    dm = slack.web_api("conversations.open", {"users": "UBOB"}, TOKEN)["channel"]["id"]
    slack.web_api("chat.postMessage", {"channel": "UBOB", "text": "you are asked"}, TOKEN)
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    slack.web_api("views.publish", {"user_id": "UBOB", "view": home}, TOKEN)
    with pytest.raises(AppError, match="read only"):
        slack.send("UBOB", dm, "hello app", None)

    again = local_slack(tmp_path)
    bob, carol = again.state_for("UBOB"), again.state_for("UCAROL")
    assert [(d["id"], [m["text"] for m in d["messages"]]) for d in bob["dms"]] == [
        (dm, ["you are asked"])
    ]
    assert dm not in [c["id"] for c in bob["channels"]]  # a DM is not a channel
    assert bob["home"]["blocks"] == home["blocks"] and bob["home"]["id"].startswith("V")
    assert carol["dms"] == [] and carol["home"] is None
    link = again.web_api(
        "chat.getPermalink",
        {"channel": dm, "message_ts": bob["dms"][0]["messages"][0]["ts"]},
        TOKEN,
    )["permalink"]
    assert link.startswith("http://127.0.0.1:9/archives/" + dm)  # opens this page
    assert call_wsgi(again, "GET", urlsplit(link).path, b"", "") == 200


def test_dev_points_handlers_at_local_parts_but_keeps_what_is_set() -> None:
    secrets = LocalSecrets("signing", "xoxb-local-x", "api-token", "reviewer-token-0123456789")
    env = local_environment(
        {"SLACK_BOT_TOKEN": "xoxb-mine"},
        public_url="http://127.0.0.1:3000",
        local_secrets=secrets,
        local_slack=True,
    )
    assert env["SLACK_API_URL"] == "http://127.0.0.1:3000/api/"
    assert env["SIGNOFF_API_TOKEN"] == "api-token"
    assert env["SIGNOFF_API_TOKENS"] == "reviewer-token-0123456789=reviewer"
    assert env["APPROVERS"] == "UBOB"
    assert "SLACK_BOT_TOKEN" not in env  # already set: kept
    assert env["POWERTOOLS_METRICS_DISABLED"] == "true"  # EMF records only with --metrics
    with_metrics = local_environment(
        {}, public_url="http://h", local_secrets=secrets, local_slack=True, metrics=True
    )
    assert with_metrics["POWERTOOLS_METRICS_DISABLED"] == "false"


def test_another_slack_gets_no_local_slack_settings() -> None:
    secrets = LocalSecrets("signing", "xoxb-local-x", "api-token", "reviewer-token-0123456789")
    env = local_environment(
        {}, public_url="http://127.0.0.1:3000", local_secrets=secrets, local_slack=False
    )
    assert not {"SLACK_API_URL", "SLACK_BOT_TOKEN", "APPROVERS"} & env.keys()
