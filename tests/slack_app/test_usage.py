"""`/agent usage`: what runs cost, per requester and per channel, while they run and after."""

from __future__ import annotations

import re

from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import APPROVER, REQUESTER
from tests.slack_app.conftest import SlackStack, StackFactory, wait_for
from tests.slack_app.slack_requests import slash_command

CHANNEL = "CGENERAL"
OUTSIDER = "UOUTSIDER"


def answer(stack: SlackStack, text: str, user: str) -> str:
    before = len(stack.ephemerals_to(user))
    stack.command(text, user=user, channel=CHANNEL)
    wait_for(lambda: len(stack.ephemerals_to(user)) > before, f"an answer to {text!r}")
    return str(stack.ephemerals_to(user)[-1])


def dollars(line: str) -> float:
    return float(re.findall(r"\$(\d+\.\d+)", line)[0])


def test_usage_sums_the_callers_and_the_channels_runs_including_a_running_one(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    for trigger in ("trig-u1", "trig-u2"):
        stack.send(slash_command("draft it", user=REQUESTER, channel=CHANNEL, trigger_id=trigger))
    first, second = stack.run_of("trig-u1"), stack.run_of("trig-u2")
    stack.agent.decide(stack.card(first, "review-0"), "approve")
    finished = stack.output(first)
    stack.card(second, "review-0")  # still waiting for its review: its turn is counted already

    text = answer(stack, "usage", REQUESTER)
    mine, channel = text.splitlines()[1:3]
    assert mine.startswith("• You: 2 runs")
    assert channel.startswith(f"• <#{CHANNEL}>: 2 runs")
    assert dollars(mine) > finished["usage"]["cost_usd"] > 0  # the running run's turn too
    assert dollars(mine) == dollars(channel)
    assert "last 30 days" in text


def test_another_persons_usage_is_for_approvers_only(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    stack.send(slash_command("draft it", user=REQUESTER, channel=CHANNEL, trigger_id="trig-u3"))
    stack.card(stack.run_of("trig-u3"), "review-0")

    refused = answer(stack, f"usage <@{REQUESTER}|req> 7", OUTSIDER)
    assert "Only approvers" in refused
    shown = answer(stack, f"usage <@{REQUESTER}|req> 7", APPROVER)
    assert "last 7 days" in shown and "1 run ·" in shown


def test_usage_of_a_person_or_channel_typed_by_name(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    stack.slack.users[REQUESTER] = {"name": "req", "real_name": "Rae Quester"}
    stack.slack.workspace.channel_names[CHANNEL] = "general"
    stack.send(slash_command("draft it", user=REQUESTER, channel=CHANNEL, trigger_id="trig-u4"))
    stack.card(stack.run_of("trig-u4"), "review-0")

    person = answer(stack, "usage @req 7", APPROVER)
    assert f"• <@{REQUESTER}>: 1 run ·" in person and "last 7 days" in person
    channel = answer(stack, "usage #general", APPROVER)
    assert f"• <#{CHANNEL}>: 1 run ·" in channel
    assert "can't find a person called @nobody" in answer(stack, "usage @nobody", APPROVER)
    assert "Only approvers" in answer(stack, "usage @req", OUTSIDER)


def test_usage_words_that_are_not_options_start_a_run(make_stack: StackFactory) -> None:
    stack = make_stack(by_turn(draft("Draft.")))
    stack.command("usage of the staging db this week", user=REQUESTER, channel=CHANNEL)
    wait_for(lambda: stack.slack.messages(CHANNEL), "a run thread")
    assert "usage of the staging db" in stack.slack.messages(CHANNEL)[0]["text"]
