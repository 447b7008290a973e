"""The local Slack's own rules, and what ``signoff dev`` sets in the environment."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from localdev.local_slack import AppError, LocalSlack
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
    assert again.state_for("UALICE")["ephemerals"] == []
    assert [e["text"] for e in again.state_for("UBOB")["ephemerals"]] == ["psst"]
    later = again.web_api("chat.postMessage", {"channel": "CGENERAL", "text": "later"}, TOKEN)
    assert float(later["ts"]) > float(posted["ts"])  # ts keep increasing after a reload


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


def test_another_slack_gets_no_local_slack_settings() -> None:
    secrets = LocalSecrets("signing", "xoxb-local-x", "api-token", "reviewer-token-0123456789")
    env = local_environment(
        {}, public_url="http://127.0.0.1:3000", local_secrets=secrets, local_slack=False
    )
    assert not {"SLACK_API_URL", "SLACK_BOT_TOKEN", "APPROVERS"} & env.keys()
