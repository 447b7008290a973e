"""What a reviewer sees, and what Slack accepts, on each card."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.cards import (
    ACTION_APPROVE,
    ACTION_EDIT,
    ACTION_REJECT,
    ACTION_REVISE,
    MAX_BLOCKS,
    RunProgress,
    ToolProgress,
    approval_card,
    decided_card,
    expired_card,
    final_message,
    progress_message,
    superseded_card,
)
from agent.decisions import Approve, Decider, Edit, Reject, Revise
from agent.models import ApprovalRecord

WHO = Decider(id="U2", name="Ada")
AT = "2026-11-23T10:00:00+00:00"


def record(**fields: Any) -> ApprovalRecord:
    base: dict[str, Any] = {
        "approval_id": "ap_123",
        "run_id": "run-1",
        "kind": "draft",
        "title": "the answer",
        "requester": "U1",
        "approvers": ("U2", "S9"),
        "round": 1,
        "max_rounds": 3,
        "draft": "Line one\nLine two",
        "created_at": AT,
        "expires_at": "2026-11-25T10:00:00+00:00",
    }
    return ApprovalRecord(**{**base, **fields})


def actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_buttons_carry_only_the_approval_id() -> None:
    card = approval_card(record(), status_hint="/agent status run-1")
    buttons = actions(card.blocks)
    assert [b["action_id"] for b in buttons] == [
        ACTION_APPROVE,
        ACTION_EDIT,
        ACTION_REVISE,
        ACTION_REJECT,
    ]
    assert {b["value"] for b in buttons} == {"ap_123"}
    assert "/agent status run-1" in json.dumps(card.blocks)


def test_request_changes_is_hidden_at_the_revision_cap() -> None:
    card = approval_card(record(round=3, max_rounds=3), status_hint="s")
    assert ACTION_REVISE not in [b["action_id"] for b in actions(card.blocks)]


def test_approvers_show_as_user_and_group_mentions() -> None:
    shown = json.dumps(approval_card(record(), status_hint="s").blocks)
    assert "<@U2>" in shown and "<!subteam^S9>" in shown


def test_a_draft_cannot_ping_the_channel() -> None:
    shown = json.dumps(approval_card(record(draft="hi <!channel> & <@U1>"), status_hint="s").blocks)
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown


def test_tool_card_shows_the_tool_and_its_arguments() -> None:
    card = approval_card(
        record(kind="tool", tool_name="post_slack_message", arguments={"text": "hi"}),
        status_hint="s",
    )
    shown = json.dumps(card.blocks)
    assert "post_slack_message" in shown and '\\"text\\": \\"hi\\"' in shown


def test_huge_drafts_stay_within_slack_limits() -> None:
    card = approval_card(record(draft="x" * 50_000), status_hint="s")
    sections = [b["text"]["text"] for b in card.blocks if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert "truncated" in sections[0]
    long_final = final_message(text="y" * 400_000, run_id="r", decided_by="U2")
    assert len(long_final.blocks) <= MAX_BLOCKS


def test_offline_notice_only_for_the_offline_model() -> None:
    assert "offline model" in json.dumps(
        approval_card(record(offline_model=True), status_hint="s").blocks
    )
    assert "offline model" not in json.dumps(approval_card(record(), status_hint="s").blocks)


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (Approve(decider=WHO, at=AT), "Approved by <@U2>"),
        (Edit(decider=WHO, at=AT, text="Line one\nLine 2"), "+Line 2"),
        (Revise(decider=WHO, at=AT, feedback="shorter"), "Changes requested by <@U2>"),
        (Reject(decider=WHO, at=AT, reason="no"), "Rejected by <@U2>"),
    ],
)
def test_decided_card_is_locked_and_says_who_did_what(decision: Any, expected: str) -> None:
    card = decided_card(record(), decision, decider_name="Ada")
    assert actions(card.blocks) == []
    assert expected in json.dumps(card.blocks)


def test_edit_diff_shows_removed_and_added_lines() -> None:
    card = decided_card(
        record(), Edit(decider=WHO, at=AT, text="Line one\nLine 2"), decider_name="Ada"
    )
    shown = json.dumps(card.blocks)
    assert "-Line two" in shown and "+Line 2" in shown


def test_expired_and_superseded_cards_have_no_buttons() -> None:
    expired = expired_card(record(on_timeout="end_run"), expired_at=AT)
    assert actions(expired.blocks) == [] and "the run ended" in json.dumps(expired.blocks)
    superseded = superseded_card(record(), superseded_by_round=2)
    assert actions(superseded.blocks) == [] and "round 2" in json.dumps(superseded.blocks)


def test_progress_lists_each_tool_with_its_state() -> None:
    progress = RunProgress(
        run_id="run-1",
        task="summarise",
        requester="U1",
        turn=2,
        max_turns=20,
        phase="running_tools",
        tools=(ToolProgress("read", "done"), ToolProgress("post", "waiting_approval")),
    )
    shown = json.dumps(progress_message(progress, status_hint="s").blocks)
    assert "Turn 2 of 20" in shown and "read` done" in shown and "post` waiting approval" in shown
