"""What a reviewer sees on each card, and whether Slack would accept it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from agent.approvals.cards import (
    ACTION_APPROVE,
    ACTION_EDIT,
    ACTION_REJECT,
    ACTION_REVISE,
    ACTIONS_BLOCK_ID,
    approval_card,
    cancelled_card,
    decided_card,
    expired_card,
    superseded_card,
)
from agent.approvals.decisions import (
    Approve,
    Decider,
    Decision,
    Edit,
    Reject,
    Revise,
    decision_to_json,
)
from agent.messages import (
    RunProgress,
    ToolProgress,
    ended_message,
    final_messages,
    progress_message,
    run_opened_message,
)
from agent.models import ApprovalRecord
from agent.mrkdwn import Message

APPROVAL_ID = "apr_01JD3K9QZ7"
REQUESTER = "U07REQSTR"
REVIEWER = Decider(id="U07REVIEW", name="Ada Lovelace")
DECIDED_AT = "2026-11-23T10:15:00+00:00"
EXPIRES_AT = "2026-11-25T10:00:00+00:00"
STATUS_HINT = "/agent status run-7f3a"
DRAFT = "Status: all three topics are green.\nRisks: none.\n-- the signoff bot"
MARKER = re.compile(r"… \(truncated, (\d+) more characters\)")


def draft_record(**fields: Any) -> ApprovalRecord:
    """A final-draft gate as the agent stores it, with overrides."""
    base: dict[str, Any] = {
        "approval_id": APPROVAL_ID,
        "run_id": "run-7f3a",
        "kind": "draft",
        "title": "Weekly status for #eng",
        "requester": REQUESTER,
        "approvers": ("U07APPRVR", "S05LEADS"),
        "round": 1,
        "max_rounds": 3,
        "draft": DRAFT,
        "channel": "C05ENG",
        "thread_ts": "1732356000.000100",
        "created_at": "2026-11-23T10:00:00+00:00",
        "expires_at": EXPIRES_AT,
    }
    return ApprovalRecord(**{**base, **fields})


def tool_record(**fields: Any) -> ApprovalRecord:
    """A side-effecting tool gate: post a message to another channel."""
    tool: dict[str, Any] = {
        "kind": "tool",
        "title": "Post to #announcements",
        "draft": None,
        "tool_name": "post_slack_message",
        "arguments": {"channel": "C05ANNOUNCE", "text": "Release 1.4 ships Friday."},
    }
    return draft_record(**{**tool, **fields})


def buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def mrkdwn_texts(message: Message) -> list[str]:
    """Every mrkdwn string Slack would parse, fallback text included."""
    found = [message.text]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks)
    return found


def shown(message: Message) -> str:
    return "\n".join(mrkdwn_texts(message))


def assert_slack_accepts(message: Message) -> None:
    """Slack's limits, checked by slack_sdk's own validators plus the ones it leaves out."""
    assert 0 < len(message.blocks) <= 50
    assert len(message.text) <= 3000
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None and parsed.to_dict() == block  # to_dict() runs the validators
        if block["type"] == "context":
            assert all(len(e["text"]) <= 2000 for e in block["elements"])
    for button in buttons(message):
        assert len(button["value"]) <= 2000


def decisions() -> list[Decision]:
    return [
        Approve(decider=REVIEWER, at=DECIDED_AT),
        Edit(decider=REVIEWER, at=DECIDED_AT, text=DRAFT.replace("none", "one, see below")),
        Revise(decider=REVIEWER, at=DECIDED_AT, feedback="Shorter, and mention the outage."),
        Reject(decider=REVIEWER, at=DECIDED_AT, reason="Wrong audience."),
    ]


def test_buttons_use_the_exported_action_ids_in_reading_order() -> None:
    card = approval_card(draft_record(), status_hint=STATUS_HINT)
    actions = [b for b in card.blocks if b["type"] == "actions"]
    assert [a["block_id"] for a in actions] == [ACTIONS_BLOCK_ID]
    assert [b["action_id"] for b in buttons(card)] == [
        ACTION_APPROVE,
        ACTION_EDIT,
        ACTION_REVISE,
        ACTION_REJECT,
    ]
    assert [b["text"]["text"] for b in buttons(card)] == [
        "Approve",
        "Edit",
        "Request changes",
        "Reject",
    ]


def test_every_button_value_is_only_the_approval_id() -> None:
    for record in (draft_record(), tool_record()):
        values = [b["value"] for b in buttons(approval_card(record, status_hint=STATUS_HINT))]
        assert values == [APPROVAL_ID] * len(values)


def test_approve_is_primary_and_reject_is_danger_with_a_confirm_dialog() -> None:
    by_id = {b["action_id"]: b for b in buttons(approval_card(draft_record(), status_hint="s"))}
    assert by_id[ACTION_APPROVE]["style"] == "primary"
    assert by_id[ACTION_REJECT]["style"] == "danger"
    assert by_id[ACTION_REJECT]["confirm"]["confirm"]["text"] == "Reject"
    assert "confirm" not in by_id[ACTION_APPROVE]


@pytest.mark.parametrize(
    ("round_", "max_rounds", "can_revise"), [(1, 3, True), (3, 3, False), (1, 1, False)]
)
def test_request_changes_is_hidden_at_the_revision_cap(
    round_: int, max_rounds: int, can_revise: bool
) -> None:
    card = approval_card(draft_record(round=round_, max_rounds=max_rounds), status_hint="s")
    assert (ACTION_REVISE in [b["action_id"] for b in buttons(card)]) is can_revise


def test_round_is_shown_only_when_revisions_are_possible() -> None:
    assert "round 2 of 3" in shown(approval_card(draft_record(round=2), status_hint="s"))
    single = approval_card(draft_record(max_rounds=1), status_hint="s")
    assert "round" not in shown(single)


def test_context_names_requester_expiry_and_status_hint() -> None:
    text = shown(approval_card(draft_record(), status_hint=STATUS_HINT))
    epoch = int(datetime(2026, 11, 25, 10, tzinfo=UTC).timestamp())
    assert f"Requested by <@{REQUESTER}>" in text
    assert f"expires <!date^{epoch}^{{date_short_pretty}} {{time}}|{EXPIRES_AT}>" in text
    assert f"`{STATUS_HINT}`" in text


def test_expiry_without_a_zone_is_read_as_utc() -> None:
    card = approval_card(draft_record(expires_at="2026-11-25T10:00:00"), status_hint="s")
    epoch = int(datetime(2026, 11, 25, 10, tzinfo=UTC).timestamp())
    assert f"<!date^{epoch}^" in shown(card)


def test_approvers_render_as_user_and_subteam_mentions() -> None:
    text = shown(approval_card(draft_record(), status_hint="s"))
    assert "Who may decide: <@U07APPRVR>, <!subteam^S05LEADS>" in text


def test_no_approvers_means_any_member_except_the_requester() -> None:
    text = shown(approval_card(draft_record(approvers=()), status_hint="s"))
    assert "any member except the requester" in text


def test_a_draft_cannot_ping_the_channel_or_inject_links() -> None:
    record = draft_record(
        title="Heads up <!here>", draft="<!channel> read <https://evil.example|the docs> & reply"
    )
    card = approval_card(record, status_hint="s")
    text = shown(card)
    assert "<!channel>" not in text and "<!here>" not in text and "<https:" not in text
    assert "&lt;!channel&gt; read &lt;https://evil.example|the docs&gt; &amp; reply" in text
    assert "&lt;!here&gt;" in card.text


def test_an_identity_that_is_not_a_slack_id_cannot_inject_a_mention() -> None:
    card = approval_card(draft_record(requester="api:bot> <!channel"), status_hint="s")
    assert "<!channel" not in shown(card)


def test_tool_card_shows_the_tool_and_each_argument_as_a_reviewer_reads_it() -> None:
    text = shown(approval_card(tool_record(), status_hint="s"))
    assert "*Tool:* `post_slack_message`" in text
    assert "*channel:* `C05ANNOUNCE`\n*text:* `Release 1.4 ships Friday.`" in text
    arguments = {"text": "Line one & more\n• line two", "limit": 5, "to": ["a", "b"]}
    card = approval_card(tool_record(arguments=arguments), status_hint="s")
    assert_slack_accepts(card)
    text = shown(card)
    assert "*text:*\n```Line one &amp; more\n• line two```" in text  # its own lines, no \\n
    assert "*limit:* `5`" in text
    assert '*to:*\n```[\n  "a",\n  "b"\n]```' in text


def test_huge_draft_is_cut_with_a_visible_marker_within_slack_limits() -> None:
    draft = "All green & on track. " * 3000
    card = approval_card(draft_record(draft=draft, title="T" * 400), status_hint="s")
    assert_slack_accepts(card)
    body = card.blocks[1]["text"]["text"]
    marker = MARKER.search(body)
    assert marker is not None and body.endswith(marker.group(0))
    kept = body[: marker.start()].replace("&amp;", "&")
    assert draft.startswith(kept) and len(kept) + int(marker.group(1)) == len(draft)


def test_huge_tool_arguments_stay_a_closed_code_block() -> None:
    arguments = {"channel": "C05ANNOUNCE", "text": "<&>" * 5000}
    card = approval_card(tool_record(arguments=arguments), status_hint="s")
    assert_slack_accepts(card)
    body = card.blocks[1]["text"]["text"]
    assert MARKER.search(body) and body.endswith("```")


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (decisions()[0], ":white_check_mark: Approved by <@U07REVIEW> at <!date^"),
        (decisions()[1], ":pencil2: Edited and approved by <@U07REVIEW> at <!date^"),
        (decisions()[2], "Changes requested by <@U07REVIEW> at"),
        (decisions()[3], ":x: Rejected by <@U07REVIEW> at"),
    ],
    ids=["approve", "edit", "revise", "reject"],
)
def test_decided_card_is_locked_and_says_who_did_what(decision: Decision, expected: str) -> None:
    card = decided_card(draft_record(), decision, decider_name=REVIEWER.name)
    assert buttons(card) == [] and all(b["type"] != "actions" for b in card.blocks)
    assert expected in shown(card)
    assert_slack_accepts(card)


def test_decided_card_shows_feedback_and_reason() -> None:
    revise, reject = decisions()[2], decisions()[3]
    assert "Shorter, and mention the outage." in shown(
        decided_card(draft_record(), revise, decider_name="Ada")
    )
    assert "Wrong audience." in shown(decided_card(draft_record(), reject, decider_name="Ada"))


def test_edit_diff_shows_removed_and_added_lines() -> None:
    edited = "Status: all three topics are green.\nRisks: one, see below"
    card = decided_card(
        draft_record(), Edit(decider=REVIEWER, at=DECIDED_AT, text=edited), decider_name="Ada"
    )
    text = shown(card)
    assert "-Risks: none." in text and "+Risks: one, see below" in text
    assert "--- the signoff bot" in text  # a removed line that starts with "--" is kept
    assert " Status: all three topics are green." in text


def test_edited_tool_arguments_show_the_new_json() -> None:
    new = {"channel": "C05ANNOUNCE", "text": "Release 1.4 ships Monday."}
    card = decided_card(
        tool_record(), Edit(decider=REVIEWER, at=DECIDED_AT, arguments=new), decider_name="Ada"
    )
    assert json.dumps(new, indent=2, sort_keys=True) in shown(card)


def test_a_decider_without_a_slack_id_is_shown_by_name() -> None:
    api_caller = Decider(id="api:ci-bot", name="CI <bot>")
    card = decided_card(
        draft_record(), Approve(decider=api_caller, at=DECIDED_AT), decider_name="CI <bot>"
    )
    assert "Approved by CI &lt;bot&gt; at" in shown(card)


def test_a_huge_edit_diff_stays_within_limits() -> None:
    draft = "\n".join(f"old line {i} & more" for i in range(1000))
    edit = Edit(decider=REVIEWER, at=DECIDED_AT, text="\n".join(f"new {i}" for i in range(1000)))
    card = decided_card(draft_record(draft=draft), edit, decider_name="Ada")
    assert_slack_accepts(card)
    assert MARKER.search(card.blocks[-1]["text"]["text"])


@pytest.mark.parametrize(
    ("kind", "on_timeout", "happened"),
    [
        ("draft", "reject", "the answer was not delivered, and the run ended"),
        ("tool", "reject", "the call was not run, and the agent was told nobody decided"),
        ("tool", "end_run", "the call was not run, and the run ended"),
    ],
)
def test_a_card_nobody_decided_says_so_and_never_reads_as_a_rejection(
    kind: str, on_timeout: str, happened: str
) -> None:
    record = draft_record(on_timeout=on_timeout).model_copy(update={"kind": kind})
    text = shown(expired_card(record, expired_at=EXPIRES_AT))
    assert buttons(expired_card(record, expired_at=EXPIRES_AT)) == []
    assert "No decision by <!date^" in text and f"{happened}." in text
    assert "reject" not in text.lower()


def test_superseded_and_cancelled_cards_have_no_buttons() -> None:
    superseded = superseded_card(draft_record(), superseded_by_round=2)
    cancelled = cancelled_card(draft_record(), by=REVIEWER.id, at=DECIDED_AT)
    assert buttons(superseded) == [] and buttons(cancelled) == []
    assert "Superseded by a revised version (round 2)" in shown(superseded)
    assert f"Run cancelled by <@{REVIEWER.id}> at <!date^" in shown(cancelled)


def test_a_superseded_card_still_says_who_asked_for_changes_and_what() -> None:
    asked = Revise(decider=REVIEWER, at=DECIDED_AT, feedback="shorter, and <!channel> no pings")
    record = draft_record(state="decided", decision=decision_to_json(asked))
    text = shown(superseded_card(record, superseded_by_round=2))
    assert f"Changes requested by <@{REVIEWER.id}> at <!date^" in text
    assert "shorter, and &lt;!channel&gt; no pings" in text


def test_a_decided_card_no_longer_says_approval_needed() -> None:
    headings = {
        d.decision: header(decided_card(draft_record(), d, decider_name="Ada")) for d in decisions()
    }
    assert all("Approval needed" not in heading for heading in headings.values())
    assert headings["approve"].startswith("Approved: ")
    assert headings["reject"].startswith("Rejected: ")
    assert header(approval_card(draft_record(), status_hint="s")).startswith("Approval needed: ")
    expired = expired_card(draft_record(), expired_at=EXPIRES_AT)
    assert header(expired).startswith("No decision: ")


def header(card: Message) -> str:
    return str(next(b for b in card.blocks if b["type"] == "header")["text"]["text"])


def test_offline_notice_only_for_the_offline_model() -> None:
    assert "offline model" in shown(
        approval_card(draft_record(offline_model=True), status_hint="s")
    )
    assert "offline model" not in shown(approval_card(draft_record(), status_hint="s"))
    assert "offline model" in shown(
        decided_card(draft_record(offline_model=True), decisions()[0], decider_name="Ada")
    )


def progress(**fields: Any) -> RunProgress:
    base: dict[str, Any] = {
        "run_id": "run-7f3a",
        "task": "Summarise #eng for the weekly status",
        "requester": REQUESTER,
        "turn": 3,
        "max_turns": 20,
        "phase": "running_tools",
        "tools": (
            ToolProgress("read_channel", "done"),
            ToolProgress("post_slack_message", "waiting_approval"),
            ToolProgress("fetch_url", "failed", detail="HTTP 404 <!channel>"),
        ),
    }
    return RunProgress(**{**base, **fields})


def test_progress_shows_turn_phase_and_one_line_per_tool() -> None:
    message = progress_message(progress(), status_hint=STATUS_HINT)
    text = shown(message)
    assert "Turn 3 of 20 · running tools" in text
    assert ":white_check_mark: `read_channel` done" in text
    assert ":raised_hand: `post_slack_message` waiting approval" in text
    assert ":warning: `fetch_url` failed: HTTP 404 &lt;!channel&gt;" in text
    assert STATUS_HINT in text and "offline model" not in text
    assert_slack_accepts(message)


def test_progress_says_what_the_turns_tool_calls_wait_for() -> None:
    def phase(*states: str) -> str:
        tools = tuple(ToolProgress(f"tool{i}", state) for i, state in enumerate(states))
        shown_text = shown(
            progress_message(progress(phase="thinking", tools=tools), status_hint="s")
        )
        return shown_text.split("Turn 3 of 20 · ", 1)[1].split("\n", 1)[0].split("*")[0]

    assert phase("done", "waiting_approval") == "waiting for approval"
    assert phase("done", "running") == "running tools"
    assert phase("done", "failed") == "thinking"
    assert phase() == "thinking"


def test_progress_note_offline_notice_and_long_task() -> None:
    message = progress_message(
        progress(task="x" * 5000, note="Retrying the model", offline_model=True),
        status_hint="s",
    )
    text = shown(message)
    assert "Retrying the model" in text and "offline model" in text
    assert MARKER.search(message.blocks[0]["text"]["text"])
    assert len(message.blocks[0]["text"]["text"]) < 400


def test_run_opened_message_names_the_requester_and_the_run() -> None:
    message = run_opened_message(
        task="Summarise <!channel>", requester=REQUESTER, run_id="run-7f3a"
    )
    assert f"<@{REQUESTER}> asked: Summarise &lt;!channel&gt;" in shown(message)
    assert "`run-7f3a`" in shown(message) and message.text.startswith(f"<@{REQUESTER}>")


def test_a_task_keeps_its_mentions_of_people_and_channels_and_nothing_else() -> None:
    task = "post <#C0OPS|ops> news to <@U0BOB|bob> & <!here> <https://x.test|x> <#C1|a<b>"
    message = run_opened_message(task=task, requester=REQUESTER, run_id="run-7f3a")
    assert (
        f"<@{REQUESTER}> asked: post <#C0OPS|ops> news to <@U0BOB|bob> &amp; &lt;!here&gt; "
        "&lt;https://x.test|x&gt; &lt;#C1|a&lt;b&gt;"
    ) in shown(message)
    assert_slack_accepts(message)


def test_final_message_splits_long_text_without_losing_any() -> None:
    text = "\n".join(f"Line {i}: green & steady" for i in range(400))
    parts = final_messages(text=text, run_id="run-7f3a", decided_by="U07REVIEW")
    sections = [b["text"]["text"] for m in parts for b in m.blocks if b["type"] == "section"]
    assert len(sections) > 1
    assert "".join(sections).replace("&amp;", "&") == text
    assert all("approved by <@U07REVIEW>" in shown(m) for m in parts)
    for message in parts:
        assert_slack_accepts(message)


def test_a_long_answer_is_every_character_in_messages_slack_accepts() -> None:
    text = "y" * 100_000
    parts = final_messages(text=text, run_id="run-7f3a", decided_by=None)
    assert len(parts) > 1 and "part 2 of" in shown(parts[1])
    for message in parts:
        assert_slack_accepts(message)
        block_text = sum(len(b["text"]["text"]) for b in message.blocks if "text" in b)
        assert block_text < 12_000  # Slack refuses more (msg_blocks_too_long)
    sections = [b["text"]["text"] for m in parts for b in m.blocks if b["type"] == "section"]
    assert "".join(sections) == text and not MARKER.search("".join(sections))


def test_ended_message_says_why_nothing_was_delivered() -> None:
    message = ended_message(run_id="run-7f3a", reason="the draft was rejected: <wrong>")
    assert "Run ended without delivering: the draft was rejected: &lt;wrong&gt;" in shown(message)
    assert_slack_accepts(message)


@pytest.mark.parametrize("decision", decisions(), ids=lambda d: d.decision)
def test_every_card_is_accepted_by_slack(decision: Decision) -> None:
    for record in (draft_record(), tool_record(offline_model=True)):
        for message in (
            approval_card(record, status_hint=STATUS_HINT),
            decided_card(record, decision, decider_name="Ada"),
            expired_card(record, expired_at=EXPIRES_AT),
            superseded_card(record, superseded_by_round=2),
            cancelled_card(record, by=REVIEWER.id, at=DECIDED_AT),
        ):
            assert_slack_accepts(message)


def budget_record() -> ApprovalRecord:
    spending = {
        "spent": {"usd": 5.0312, "tokens": 1_250_000},
        "cap": {"usd": 5.0, "tokens": 0},
        "more": {"usd": 5.0, "tokens": 0},
    }
    return draft_record(
        kind="budget", title="continue past $5.00", draft=None, max_rounds=1, spending=spending
    )


def test_budget_card_says_what_was_spent_and_offers_to_continue_or_stop() -> None:
    card = approval_card(budget_record(), status_hint=STATUS_HINT)
    assert_slack_accepts(card)
    text = shown(card)
    assert "$5.03 and 1,250,000 tokens" in text and "cap of $5.00" in text
    assert [(b["action_id"], b["text"]["text"]) for b in buttons(card)] == [
        (ACTION_APPROVE, "Continue with $5.00 more"),
        (ACTION_REJECT, "Stop the run"),
    ]
    assert "round" not in text
