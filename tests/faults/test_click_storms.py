"""Fifty runs wait on a card; ten people act on each card at once, all five hundred together.

Each card gets clicks and modal submissions from approvers (Approve, Reject, Request
changes), the requester (who may not approve their own run) and strangers, fired
concurrently across all runs. What a user would check: each run resumed exactly once (one
durable callback per card, one decision on the gate, the run's result showing it), everyone
who acted told the truth (the winner sees the locked card naming them; other approvers hear
who decided or is deciding; the requester and strangers hear why they may not), and nobody
got a 5xx.
"""

from __future__ import annotations

import json
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from agent.approvals.cards import ACTION_APPROVE
from slack_app.modals import FIELD_ACTION, FIELD_BLOCK, REJECT_VIEW, REVISE_VIEW
from tests.faults.conftest import FaultStack, FaultStackFactory, SilentFailures
from tests.scenarios.claude_scripts import by_turn, draft
from tests.scenarios.harness import REQUESTER
from tests.slack_app.conftest import body_json
from tests.slack_app.slack_requests import TEAM, button_click, interaction, slash_command

RUNS = 50
APPROVERS = tuple(f"UAPP{i}" for i in range(6))
STRANGERS = ("USTRANGER0", "USTRANGER1", "USTRANGER2")
FINISHER = APPROVERS[0]  # approves the revised draft of runs whose winner asked for changes
Act = Literal["approve", "reject", "revise"]
DECIDED_BY = re.compile(r"(?:Approved|Rejected|Changes requested) by <@(U[A-Z0-9]+)>")
ANSWER_FOR = {
    REQUESTER: "you started this run",
    **{stranger: "you are not one of the approvers" for stranger in STRANGERS},
}


@dataclass(frozen=True)
class Click:
    """One person acting on one run's card: a button click or a modal submission."""

    run: int
    user: str
    act: Act

    @property
    def channel(self) -> str:
        return channel_of(self.run)

    @property
    def trigger_id(self) -> str:
        """Slack names every interaction anew (a delivery again after a crash keeps it)."""
        return f"trig-{self.run}-{self.user}"


@dataclass
class Storm:
    """The clicks fired, and what each was answered over HTTP (a modal's field errors)."""

    clicks: list[Click]
    statuses: list[int] = field(default_factory=list)
    modal_errors: dict[Click, str] = field(default_factory=dict)


def channel_of(run: int) -> str:
    """One channel per run, so each answer can be told apart by where it was posted."""
    return f"CSTORM{run:02d}"


def clicks_on(run: int) -> list[Click]:
    """Ten people, acting as a seeded die decides: every act is somebody's somewhere."""
    die = random.Random(run)
    acts: tuple[Act, ...] = ("approve", "reject", "revise")
    return [
        *(Click(run, user, die.choice(acts)) for user in APPROVERS),
        Click(run, REQUESTER, die.choice(acts)),
        *(Click(run, user, die.choice(acts)) for user in STRANGERS),
    ]


def start_runs(stack: FaultStack) -> list[dict[str, Any]]:
    def start(run: int) -> dict[str, Any]:
        trigger = f"trig-storm-{run}"
        command = slash_command(
            "draft the update", user=REQUESTER, channel=channel_of(run), trigger_id=trigger
        )
        assert stack.send(command)["statusCode"] == 200
        return stack.run_of(trigger)

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(start, range(RUNS)))


def fire(stack: FaultStack, runs: list[dict[str, Any]], storm: Storm) -> None:
    cards = [stack.card(run, "review-0") for run in runs]

    def act(click: Click) -> None:
        card = cards[click.run]
        if click.act == "approve":
            event = button_click(
                ACTION_APPROVE,
                card.approval_id,
                user=click.user,
                channel=click.channel,
                message_ts=card.message_ts or "",
                trigger_id=click.trigger_id,
            )
        else:
            event = modal_submission(click, card.approval_id)
        response = stack.send(event)
        storm.statuses.append(response["statusCode"])
        errors = (body_json(response) or {}).get("errors") if response.get("body") else None
        if errors:
            storm.modal_errors[click] = json.dumps(errors)

    with ThreadPoolExecutor(max_workers=len(storm.clicks)) as pool:
        list(pool.map(act, storm.clicks))
    stack.settle()


def modal_submission(click: Click, approval_id: str) -> dict[str, Any]:
    """The Reject or Request changes modal submitted, as Slack posts it."""
    callback_id = REJECT_VIEW if click.act == "reject" else REVISE_VIEW
    value = {"type": "plain_text_input", "value": f"{click.act}: more detail"}
    return interaction(
        {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": click.user, "name": click.user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": click.trigger_id,
            "view": {
                "id": f"V{click.run}{click.user}",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": approval_id,
                "state": {"values": {FIELD_BLOCK: {FIELD_ACTION: value}}},
            },
        }
    )


def answers_to(stack: FaultStack, storm: Storm, click: Click) -> list[str]:
    """What this person heard about this card: ephemerals in its channel, modal errors."""
    heard = [
        e["text"]
        for e in stack.slack.ephemerals
        if e["user"] == click.user and e["channel"] == click.channel
    ]
    return heard + ([storm.modal_errors[click]] if click in storm.modal_errors else [])


def card_updates(stack: FaultStack, channel: str, ts: str) -> list[str]:
    """Every version of a card the app wrote over it, as text."""
    return [
        json.dumps(call.args.get("blocks"))
        for call in stack.slack.calls_to("chat.update")
        if call.args.get("channel") == channel and call.args.get("ts") == ts
    ]


def what_they_may_hear(click: Click, decision: dict[str, Any]) -> tuple[str, ...]:
    """The truths this person may be told about the card (none for the winner: it names them).

    Everyone else is answered when their click is handled, so what is true then: who decided or
    is deciding, or, once the winner's requested changes are drafted, that the card was replaced.
    """
    winner = decision["decider"]["id"]
    if click.user == winner:
        return ()
    if click.user in ANSWER_FOR:
        return (ANSWER_FOR[click.user],)
    name = winner.lower()
    truths = (
        f"already decided by {name}",
        f"already being decided by {name}",
        "someone else is deciding this approval right now",
    )
    if decision["decision"] == "revise":
        truths += ("this card was superseded by a revised version",)
    return truths


@pytest.mark.timeout(300)  # fifty durable runs and five hundred clicks on two cores
def test_a_storm_of_clicks_resumes_each_run_once_and_tells_everyone_the_truth(
    make_fault_stack: FaultStackFactory, silent_failures: SilentFailures
) -> None:
    stack = make_fault_stack(by_turn(draft("Draft one."), draft("Draft two.")), approvers=APPROVERS)
    runs = start_runs(stack)
    cards = [stack.card(run, "review-0") for run in runs]
    callback_ids = [stack.agent.deps.store.get_callback_id(card.approval_id) for card in cards]
    storm = Storm([click for run in range(RUNS) for click in clicks_on(run)])
    random.Random(0).shuffle(storm.clicks)

    fire(stack, runs, storm)

    assert all(status < 500 for status in storm.statuses), storm.statuses
    assert sorted(stack.callbacks.sent) == sorted(callback_ids)  # one resume per card
    decisions = [decision_on(stack, run, "review-0") for run in runs]
    for index, decision in enumerate(decisions):
        winner = decision["decider"]["id"]
        assert winner in APPROVERS
        for click in clicks_on(index):
            assert_told_the_truth(answers_to(stack, storm, click), click, decision)
        versions = card_updates(stack, channel_of(index), cards[index].message_ts or "")
        assert set(DECIDED_BY.findall(" ".join(versions))) == {winner}, (index, versions)

    revised = finish_revised_runs(stack, runs, decisions)
    assert len(stack.callbacks.sent) == RUNS + revised
    for run, decision in zip(runs, decisions, strict=True):
        output = stack.output(run)
        assert output["decisions"][0] == decision
        match decision["decision"]:
            case "approve":
                assert (output["status"], len(output["decisions"])) == ("delivered", 1)
            case "reject":
                assert (output["status"], len(output["decisions"])) == ("rejected", 1)
            case "revise":
                assert (output["status"], len(output["decisions"])) == ("delivered", 2)
                assert output["decisions"][1]["decider"]["id"] == FINISHER
    assert silent_failures.describe() == []


def decision_on(stack: FaultStack, run: dict[str, Any], gate: str) -> dict[str, Any]:
    """The one decision recorded on the gate (once revised, its card gives way to the next)."""
    record = stack.record(run, gate)
    assert record is not None and record.decision is not None
    revised = record.decision["decision"] == "revise"
    assert record.state in (("decided", "superseded") if revised else ("decided",)), record
    return record.decision


def assert_told_the_truth(answers: list[str], click: Click, decision: dict[str, Any]) -> None:
    truths = what_they_may_hear(click, decision)
    if not truths:
        assert answers == [], (click, answers)
        return
    assert answers, (click, "no answer")
    assert all(any(truth in answer for truth in truths) for answer in answers), (click, answers)


def finish_revised_runs(
    stack: FaultStack, runs: list[dict[str, Any]], decisions: list[dict[str, Any]]
) -> int:
    """Runs whose winner asked for changes wait on a revised card: approve it, once."""
    revised = 0
    for index, (run, decision) in enumerate(zip(runs, decisions, strict=True)):
        if decision["decision"] != "revise":
            continue
        card = stack.card(run, "review-1")
        click = button_click(
            ACTION_APPROVE,
            card.approval_id,
            user=FINISHER,
            channel=channel_of(index),
            message_ts=card.message_ts or "",
            trigger_id=f"trig-finish-{index}",
        )
        assert stack.send(click)["statusCode"] == 200
        revised += 1
    stack.settle()
    return revised
