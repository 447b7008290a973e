"""What a DM about a gate says, and how it reaches each person once, over the real WebClient."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient

from agent.approvals.notices import dm_message, members_of, permalink, send_dms
from agent.models import ApprovalRecord
from agent.mrkdwn import Message
from tests.fakes.slack import FakeSlack

REQUESTER = "UALICE"
CREATED = "2026-11-23T10:00:00+00:00"
EXPIRES = "2026-11-25T10:00:00+00:00"
LINK = "https://example.slack.com/archives/CGENERAL/p1700000000000200?thread_ts=1&cid=C"


def record(**fields: Any) -> ApprovalRecord:
    base: dict[str, Any] = {
        "approval_id": "ap_1",
        "run_id": "run-7f3a",
        "kind": "tool",
        "title": "run post_slack_message",
        "requester": REQUESTER,
        "approvers": ("UBOB", "UCAROL"),
        "tool_name": "post_slack_message",
        "arguments": {"channel": "CANNOUNCE", "text": "Ship it <!channel> & party"},
        "channel": "CGENERAL",
        "thread_ts": "1700000000.000100",
        "message_ts": "1700000000.000200",
        "created_at": CREATED,
        "expires_at": EXPIRES,
    }
    return ApprovalRecord.model_validate({**base, **fields})


def everything(message: Message) -> str:
    return message.text + json.dumps(message.blocks)


def test_an_asked_dm_summarises_the_call_the_deadline_and_links_the_card() -> None:
    dm = dm_message(record(), why="asked", permalink=LINK)
    shown = everything(dm)
    assert dm.text == "Approval needed: run post_slack_message"
    assert "You are asked to decide" in shown and "post_slack_message" in shown
    assert "`CANNOUNCE`" in shown
    assert "<@UALICE>" in shown  # who asked
    assert "<!date^1795600800^" in shown  # the deadline, in the reader's time zone
    assert f"<{LINK.replace('&', '&amp;')}|Open the card>" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; party" in shown  # escaped
    assert "approvals so far" not in shown  # one approval needed: no votes line


def test_reminders_and_escalations_say_so_and_votes_show_when_more_than_one_is_needed() -> None:
    votes = {"UBOB": {"name": "bob", "at": CREATED, "decision": "approve", "version": 0}}
    gate = record(required=2, votes=votes)
    reminder = everything(dm_message(gate, why="reminder", permalink=LINK))
    assert "Reminder: still waiting for your decision" in reminder
    assert "1 of 2 approvals so far: <@UBOB>" in reminder
    escalated = everything(dm_message(gate, why="escalated", permalink=LINK))
    assert "Escalated to you" in escalated and "you may decide now too" in escalated


def test_a_draft_dm_quotes_its_first_lines_and_time_left() -> None:
    draft = "\n".join(f"line {n} <b>" for n in range(1, 10))
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    shown = everything(
        dm_message(record(kind="draft", draft=draft), why="asked", permalink=None, now=now)
    )
    assert "line 4 &lt;b&gt;" in shown and "line 5" not in shown
    assert "(4h left)" in shown
    assert "The card is in <#CGENERAL>." in shown  # no link from Slack: where it is


def test_a_link_that_could_break_out_of_its_markup_is_not_used() -> None:
    shown = everything(dm_message(record(), why="asked", permalink="https://x|<!here>"))
    assert "<!here>" not in shown and "The card is in <#CGENERAL>." in shown


@pytest.fixture
def slack(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake_slack.api_url)


def dms_to(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    channel = f"D{user}"
    return fake.messages(channel) if channel in fake.channels else []


def test_send_dms_reaches_each_user_and_group_member_once_even_when_retried(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    fake_slack.usergroups["SLEADS"] = ["UDAN", "UBOB", REQUESTER]
    fake_slack.channels["CGENERAL"] = []
    card = slack.chat_postMessage(channel="CGENERAL", text="the card")
    gate = record(message_ts=card["ts"])

    sent = send_dms(
        slack, gate, ["UBOB", "SLEADS"], why="asked", key="ap_1-asked", maybe_posted=False
    )
    again = send_dms(
        slack, gate, ["UBOB", "SLEADS"], why="asked", key="ap_1-asked", maybe_posted=True
    )

    assert sent == again == 2  # bob and dan; never the requester
    for user in ("UBOB", "UDAN"):
        (dm,) = dms_to(fake_slack, user)
        assert "You are asked to decide" in json.dumps(dm["blocks"])
        assert f"/archives/CGENERAL/p{card['ts'].replace('.', '')}" in json.dumps(dm["blocks"])
    assert dms_to(fake_slack, REQUESTER) == []


def test_a_user_slack_refuses_is_skipped_and_the_others_still_get_their_dm(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    fake_slack.fail_next("conversations.open", "user_not_found", status=200)
    sent = send_dms(
        slack, record(), ["UGONE", "UBOB"], why="reminder", key="r1", maybe_posted=False
    )
    assert sent == 1
    assert len(dms_to(fake_slack, "UBOB")) == 1 and dms_to(fake_slack, "UGONE") == []


def test_members_of_tells_nobody_from_unknown_and_permalink_needs_a_message(
    fake_slack: FakeSlack, slack: WebClient
) -> None:
    fake_slack.usergroups.update({"SA": ["UBOB", "UDAN"], "SB": ["UDAN", "UEVE"], "SEMPTY": []})
    assert members_of(slack, ["SA", "SB"]) == ["UBOB", "UDAN", "UEVE"]
    assert members_of(slack, ["SEMPTY"]) == []
    assert members_of(slack, ["SA", "SNOPE"]) is None  # unreadable: unknown, not nobody
    assert permalink(slack, "CGENERAL", "1700000000.999999") is None  # no such message
