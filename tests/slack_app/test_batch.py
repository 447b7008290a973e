"""One card for a turn's gated calls, through signed Slack requests and the durable runner."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from agent.approvals.batch_cards import ACTION_APPROVE_ALL, ACTION_REJECT_ALL
from agent.approvals.cards import ACTION_APPROVE
from agent.approvals.rules import GateRule, ToolRule, environment_policy
from slack_app.modals import EDIT_VIEW, REJECT_ALL_VIEW, REJECT_VIEW
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_use
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import button_click, slash_command, view_submission

CHANNEL = "CGENERAL"
TARGETS = ("CONE", "CTWO", "CTHREE", "CFOUR", "CFIVE")
POSTS = tuple(
    tool_use(f"t{i}", "post_slack_message", channel=c, text=f"hello {i}")
    for i, c in enumerate(TARGETS)
)
READ = tool_use("t_read", "read_slack_history", channel=CHANNEL)


def started(stack: SlackStack) -> dict[str, Any]:
    stack.send(slash_command("post five", user=REQUESTER, channel=CHANNEL, trigger_id="trig-1"))
    return stack.run_of("trig-1")


def cards_in(stack: SlackStack, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's batch cards, as they stand in the thread now."""
    return [
        m
        for m in stack.slack.thread(CHANNEL, run["thread_ts"])
        if "tool calls" in m.get("text", "") and m.get("blocks")
    ]


def click(stack: SlackStack, action: str, value: str, ts: str, trigger: str) -> None:
    stack.send(
        button_click(
            action, value, user=APPROVER, channel=CHANNEL, message_ts=ts, trigger_id=trigger
        )
    )


def buttons(card: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_five_gated_calls_share_one_card_at_once_and_each_is_decided_once(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(calls(READ, *POSTS), draft("Done.")), tool_concurrency=2)
    run = started(stack)
    gates = [stack.card(run, f"approve-0-{i}") for i in range(1, 6)]  # the read is call 0
    (card,) = cards_in(stack, run)
    assert card["blocks"][0]["text"]["text"] == "Approval needed: 5 tool calls"
    assert {g.message_ts for g in gates} == {card["ts"]}  # all five, at once, on one card
    assert all(f"hello {i}" in json.dumps(card["blocks"]) for i in range(5))
    # The read ran while the posts waited for a person.
    assert stack.agent.deps.store.get_run(run["run_id"])["tools"]["t_read"]["state"] == "done"  # type: ignore[index]
    assert (ACTION_APPROVE_ALL, gates[0].approval_id) in buttons(card)

    ts = card["ts"]
    click(stack, ACTION_APPROVE, gates[0].approval_id, ts, "t-a0")
    click(stack, ACTION_APPROVE, gates[1].approval_id, ts, "t-a1")
    stack.send(view_submission(REJECT_VIEW, gates[2].approval_id, "not that one", user=APPROVER))
    edited = json.dumps({"channel": "CFOUR", "text": "hello edited"})
    stack.send(view_submission(EDIT_VIEW, gates[3].approval_id, edited, user=APPROVER))
    wait_for(
        lambda: [m["text"] for m in stack.slack.messages("CFOUR")] == ["hello edited"],
        "the edited post",
    )
    (card,) = cards_in(stack, run)
    shown = json.dumps(card["blocks"])
    assert "Rejected by" in shown and "not that one" in shown and "Edited and approved" in shown
    # Only the fifth is open now: its row keeps its buttons, and the lot's buttons are gone.
    open_rows = [v for a, v in buttons(card) if a == ACTION_APPROVE]
    assert open_rows == [gates[4].approval_id]
    assert ACTION_APPROVE_ALL not in [a for a, _ in buttons(card)]

    click(stack, ACTION_APPROVE, gates[4].approval_id, ts, "t-a4")
    answer = stack.card(run, "review-1")
    click(stack, ACTION_APPROVE, answer.approval_id, answer.message_ts or "", "t-answer")
    output = stack.output(run)
    assert output["status"] == "delivered"
    for channel, expected in zip(
        TARGETS, ("hello 0", "hello 1", None, "hello edited", "hello 4"), strict=True
    ):
        posted = [m["text"] for m in stack.slack.messages(channel)]
        assert posted == ([expected] if expected else []), channel
    told = json.dumps(stack.agent.claude_requests()[1]["messages"][-1])
    assert "not that one" in told


def test_approve_all_decides_every_open_call_and_reject_all_asks_once_why(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(calls(*POSTS), calls(*POSTS[:2]), draft("Done.")))
    run = started(stack)
    first = [stack.card(run, f"approve-0-{i}") for i in range(5)]
    (card,) = cards_in(stack, run)
    click(stack, ACTION_APPROVE, first[0].approval_id, card["ts"], "t-one")
    wait_for(lambda: stack.record(run, "approve-0-0").state == "decided", "the first call")  # type: ignore[union-attr]
    told = stack.answered(
        APPROVER,
        lambda: click(stack, ACTION_APPROVE_ALL, first[1].approval_id, card["ts"], "t-all"),
    )
    assert told.startswith("You approved 4 of 4 open calls on this card.")
    second = [stack.card(run, f"approve-1-{i}") for i in range(2)]
    (_, card2) = cards_in(stack, run)
    click(stack, ACTION_REJECT_ALL, second[0].approval_id, card2["ts"], "t-rall")
    (opened,) = [c for c in stack.slack.calls_to("views.open")]
    assert opened.args["view"]["callback_id"] == REJECT_ALL_VIEW
    stack.send(
        view_submission(REJECT_ALL_VIEW, second[0].approval_id, "enough posts", user=APPROVER)
    )
    answer = stack.card(run, "review-2")
    click(stack, ACTION_APPROVE, answer.approval_id, answer.message_ts or "", "t-answer")
    output = stack.output(run)
    assert output["status"] == "delivered"
    assert [m["text"] for m in stack.slack.messages("CONE")] == ["hello 0"]  # once, not twice
    rejected = [d for d in output["decisions"] if d["decision"] == "reject"]
    assert len(rejected) == 2 and all(d["reason"] == "enough posts" for d in rejected)


def test_when_the_gate_that_posts_the_card_ends_at_once_the_others_still_get_their_card(
    make_stack: StackFactory,
) -> None:
    # The turn's last gated call has nobody but the requester to approve it.
    base = environment_policy(
        approvers=(APPROVER,), deadline_seconds=600, allow_self_approval=False
    )
    nobody = GateRule(table="gates.tools.http_job", approvers=(REQUESTER,))
    policy = replace(base, tools={"http_job": ToolRule(rule=nobody)})
    job = tool_use("t_job", "http_job", start_url="https://jobs.example.com/run")
    stack = make_stack(by_turn(calls(POSTS[0], job), draft("Done.")), policy=policy)
    run = started(stack)
    post = stack.card(run, "approve-0-0")
    (card,) = cards_in(stack, run)
    assert card["ts"] == post.message_ts and "hello 0" in json.dumps(card["blocks"])
    thread = json.dumps(stack.slack.thread(CHANNEL, run["thread_ts"]))
    assert "include no one but the requester" in thread
    click(stack, ACTION_APPROVE, post.approval_id, card["ts"], "t-post")
    wait_for(lambda: stack.slack.messages("CONE"), "the approved post")
