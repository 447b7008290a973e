"""The batch card: every call's row and buttons, the lot's buttons, and parts past Slack's
limits."""

from __future__ import annotations

import json
from typing import Any

from agent.approvals import batch_cards
from agent.approvals.batch import MAX_CALLS_PER_PART, parts
from agent.approvals.batch_cards import ACTION_APPROVE_ALL, batch_card
from agent.approvals.cards import ACTION_APPROVE
from agent.models import ApprovalRecord
from tests.agent.approvals.test_cards import assert_slack_accepts, buttons, tool_record


def calls(count: int, **fields: Any) -> list[ApprovalRecord]:
    return [
        tool_record(
            approval_id=f"ap_{i:032x}",
            batch_id="bt_" + "0" * 32,
            batch_size=count,
            batch_position=i,
            arguments={"channel": f"C{i:05d}", "text": f"note {i} <!channel> & *bold*"},
            **fields,
        )
        for i in range(count)
    ]


def card_for(records: list[ApprovalRecord], part: int = 1, count: int = 1) -> Any:
    return batch_card(records, part=part, parts=count, status_hint="/agent status run-7f3a")


def test_each_call_has_its_row_and_buttons_and_the_lot_its_own() -> None:
    records = calls(3)
    card = card_for(records)
    assert_slack_accepts(card)
    assert card.blocks[0]["text"]["text"] == "Approval needed: 3 tool calls"
    approve = [b["value"] for b in buttons(card) if b["action_id"] == ACTION_APPROVE]
    assert approve == [r.approval_id for r in records]
    assert [b["text"]["text"] for b in buttons(card) if b["action_id"] == ACTION_APPROVE_ALL] == [
        "Approve all (3)"
    ]
    shown = json.dumps(card.blocks)
    assert "&lt;!channel&gt; &amp;" in shown and "<!channel>" not in shown  # escaped


def test_approve_all_is_offered_only_when_each_open_call_needs_one_approval() -> None:
    card = card_for(calls(2, required=2, approvers=("U1", "U2")))
    actions = {b["action_id"] for b in buttons(card)}
    assert ACTION_APPROVE_ALL not in actions and batch_cards.ACTION_REJECT_ALL in actions


def test_past_slacks_limits_the_calls_are_spread_over_parts_that_each_say_so() -> None:
    records = calls(MAX_CALLS_PER_PART + 4)
    packed = parts(records, [len(batch_cards.call_text(r)) for r in records])
    assert [len(p) for p in packed] == [MAX_CALLS_PER_PART, 4]
    for number, part in enumerate(packed, start=1):
        card = card_for(part, number, len(packed))
        assert_slack_accepts(card)
        assert card.blocks[0]["text"]["text"].endswith(f"(part {number} of 2)")
    # Long calls fill a card's text before its blocks: two of 5,000 characters per card.
    assert len(parts(records, [5_000] * len(records))) == len(records) // 2 + len(records) % 2
