"""Crash mid-step: ``signoff dev`` killed with SIGKILL at chosen and random points of 20 runs.

Each chosen kill lands while the stack is inside something, held there by a fake: a slash
command's lazy listener opening the run's thread, a Claude stream, the tool map, an approval
card's post, the side-effecting tool's post, a decision being applied; one lands with a
decision claimed and its callback never sent. Three more land at random moments with several
runs in flight. After each kill the stack starts again on the same data dir, and the runs are
finished by a reviewer approving their cards in Slack.

What must hold, as a user checks it: every run ends as an uninterrupted run of the same
script does, no Slack message is posted twice, the side-effecting tool posts once per
approved call, each click that did not count is answered, and a killed stack leaves nothing
behind.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from agent.storage.store import Store
from tests.fakes.claude import FakeClaude
from tests.fakes.slack import FakeSlack, Hold
from tests.faults.crash_stack import (
    APPROVER,
    LEASE_SECONDS,
    TOOL_POST,
    WAIT,
    Approver,
    CrashStack,
    Run,
    cards,
    delivered,
    dump,
    is_turn,
    messages_per_key,
    metadata_key,
    metadata_type,
    no_process_holds,
    open_cards,
    outcome,
    posts_per_key,
    script,
    thread,
    tool_posts,
    wait_until,
)

# The whole schedule plays in the first test's setup: a bound for a loaded 2-core machine.
pytestmark = pytest.mark.timeout(420)

SEED = int(os.environ.get("CRASH_SEED", "20251202"))  # CRASH_SEED replays another schedule
REFERENCE = Run(0)
RUNS = [Run(number) for number in range(1, 21)]
CLAIMED = RUNS[9]  # its card is claimed by a decider that dies before sending the callback
RANDOM_KILLS = 3
# How long a reached hold waits for the others of its group: well under the 10 s after which
# the stack's Slack client gives up on a held call (and the stack would carry on uncrashed).
GATHER_SECONDS = 4.0


@dataclass
class Crashes:
    """What the schedule did and left: the stack, the fakes, each kill and each run's end."""

    stack: CrashStack
    slack: FakeSlack
    claude: FakeClaude
    kills: list[list[str]] = field(default_factory=list)  # what each kill landed inside
    missed: list[str] = field(default_factory=list)  # kill points never reached
    left_behind: list[str] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    exit_code: int | None = None


@pytest.fixture(scope="module")
def crashes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crashes]:
    """Play the whole schedule once; the tests below read what it left."""
    with FakeSlack() as slack, FakeClaude(script) as claude:
        stack = CrashStack(tmp_path_factory.mktemp("crash") / "data", slack, claude).start()
        played = Crashes(stack, slack, claude)
        try:
            with Approver(stack) as approver:
                play(played, approver)
            played.exit_code = stack.stop()
            yield played
        finally:
            if stack.process is not None:
                stack.kill()


def play(crashes: Crashes, approver: Approver) -> None:
    stack, slack, claude = crashes.stack, crashes.slack, crashes.claude
    start(stack, approver, REFERENCE)
    wait_until(lambda: finished(stack, REFERENCE), "the uninterrupted run", stack)
    crashes.reference = outcome(stack, REFERENCE)

    for chosen in (starting_and_thinking, posting_cards, acting):
        runs, holds = chosen(slack, claude)
        start(stack, approver, *runs)
        crash_at_each(crashes, holds)
    crash_between_claim_and_callback(crashes, approver)

    schedule = random.Random(SEED)
    for batch in (RUNS[11:14], RUNS[14:17], RUNS[17:20]):
        start(stack, approver, *batch)
        wait_until(lambda batch=batch: all(thread(slack, r) for r in batch), "threads", stack)
        time.sleep(schedule.uniform(0.0, 2.5))  # these runs, and earlier ones, are in flight
        crash(crashes, ["a random moment"])

    for run in [REFERENCE, *RUNS]:
        wait_until(lambda run=run: finished(stack, run), f"{run.task} to finish", stack)
        crashes.outcomes[run.number] = outcome(stack, run)


# Where the kills land -------------------------------------------------------------------------
Chosen = tuple[list[Run], dict[str, Hold]]


def starting_and_thinking(slack: FakeSlack, claude: FakeClaude) -> Chosen:
    one, two, three = RUNS[0:3]
    return [one, two, three], {
        "a slash command's lazy listener, opening the run's thread": slack.hold(
            "chat.postMessage", posts_in(one, key=f"{one.run_id}-root")
        ),
        "a Claude stream (turn 0)": claude.hold_stream(is_turn(two, 0)),
        "the tool map, reading the channel": slack.hold(
            "conversations.history", reads_history(three)
        ),
    }


def posting_cards(slack: FakeSlack, claude: FakeClaude) -> Chosen:
    four, five, six = RUNS[3:6]
    return [four, five, six], {
        "a tool call's card post, before Slack took it": slack.hold(
            "chat.postMessage", posts_in(four, card="run post_slack_message")
        ),
        "a tool call's card post, after Slack took it": slack.hold(
            "chat.postMessage", posts_in(five, card="run post_slack_message"), apply_first=True
        ),
        "the draft's card post, before Slack took it": slack.hold(
            "chat.postMessage", posts_in(six, card="the answer")
        ),
    }


def acting(slack: FakeSlack, claude: FakeClaude) -> Chosen:
    seven, eight, nine = RUNS[6:9]
    return [seven, eight, nine], {
        "the side-effecting tool's post, before Slack took it": slack.hold(
            "chat.postMessage", posts_in(seven, event_type=TOOL_POST)
        ),
        "the side-effecting tool's post, after Slack took it": slack.hold(
            "chat.postMessage", posts_in(eight, event_type=TOOL_POST), apply_first=True
        ),
        "a Claude stream (turn 1, the draft)": claude.hold_stream(is_turn(nine, 1)),
    }


def crash_between_claim_and_callback(crashes: Crashes, approver: Approver) -> None:
    """One kill with a claim left behind on one card and another card's decision mid-way."""
    stack, slack = crashes.stack, crashes.slack
    stack.command(CLAIMED)  # nobody approves it: its claim is left by a decider that dies
    card = wait_until(lambda: open_cards(slack, CLAIMED), "the claimed run's card", stack)[0]
    eleven = RUNS[10]
    locking = slack.hold("chat.update", locks_a_card(eleven))
    start(stack, approver, eleven)
    assert locking.wait_reached(WAIT), "the approval of run 11 never locked its card"
    claim_as_a_crashed_decider(stack, card)
    claimed = Hold(lambda _: False)  # the claim in the table is this kill point: no request
    claimed.reached.set()
    holds = {"a decision being applied (the card lock)": locking}
    crash_at_each(crashes, {**holds, "between a claim and its callback": claimed})
    approver.watch(CLAIMED)


def crash_at_each(crashes: Crashes, holds: dict[str, Hold]) -> None:
    """Kill the stack with requests it sent waiting at ``holds``, and restart it.

    One kill takes every hold reached within ``GATHER_SECONDS`` of the first; the rest get a
    kill of their own after the restart.
    """
    waiting = dict(holds)
    deadline = time.monotonic() + WAIT
    first_reached: float | None = None
    while waiting and time.monotonic() < deadline:
        reached = [name for name, hold in waiting.items() if hold.reached.is_set()]
        if reached and first_reached is None:
            first_reached = time.monotonic()
        gathering = first_reached is not None and time.monotonic() - first_reached < GATHER_SECONDS
        if not reached or (gathering and len(reached) < len(waiting)):
            time.sleep(0.02)
            continue
        crashes.stack.kill()
        time.sleep(0.05)  # a request the killed process sent last may still be landing
        inside = [name for name, hold in waiting.items() if hold.reached.is_set()]
        for name in inside:
            waiting.pop(name).release()
        restart(crashes, inside)
        first_reached = None
    crashes.missed += list(waiting)


def crash(crashes: Crashes, inside: list[str]) -> None:
    crashes.stack.kill()
    restart(crashes, inside)


def restart(crashes: Crashes, inside: list[str]) -> None:
    crashes.kills.append(inside)
    if not wait_for_quiet(crashes.stack.data_dir):
        crashes.left_behind.append(f"after the kill inside {inside}")
    crashes.stack.start()


def wait_for_quiet(data_dir: Path, timeout: float = 10) -> bool:
    """Whether every process the killed stack started is gone (they die with it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if no_process_holds(data_dir):
            return True
        time.sleep(0.05)
    return False


def start(stack: CrashStack, approver: Approver, *runs: Run) -> None:
    for run in runs:
        stack.command(run)
    approver.watch(*runs)


def finished(stack: CrashStack, run: Run) -> bool:
    view = stack.run_view(run)
    return bool(view and view["status"] == "delivered" and delivered(stack.slack, run))


def posts_in(
    run: Run, *, key: str | None = None, card: str | None = None, event_type: str | None = None
) -> Callable[[dict[str, Any]], bool]:
    """Matches a chat.postMessage in the run's channel: by metadata key, card title or type."""

    def matches(args: dict[str, Any]) -> bool:
        if args.get("channel") != run.channel:
            return False
        if key is not None:
            return metadata_key(args) == key
        if card is not None:
            return metadata_key(args).startswith("ap_") and card in str(args.get("text"))
        return metadata_type(args) == event_type

    return matches


def reads_history(run: Run) -> Callable[[dict[str, Any]], bool]:
    """The read_slack_history tool's call (the idempotent-post lookups ask for metadata)."""
    return lambda args: args.get("channel") == run.channel and not args.get("include_all_metadata")


def locks_a_card(run: Run) -> Callable[[dict[str, Any]], bool]:
    return lambda args: args.get("channel") == run.channel and "decided by" in str(args.get("text"))


def claim_as_a_crashed_decider(stack: CrashStack, card: dict[str, Any]) -> None:
    """Leave what a decider killed between its claim and its callback leaves: the claim."""
    table = boto3.resource(
        "dynamodb",
        endpoint_url=stack.dynamodb_url(),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table("signoff")
    claimed = Store(table).claim_approval(
        metadata_key(card),
        owner="a decider that crashed",
        decider_name="ubob",
        now=int(time.time()),
        lease_seconds=LEASE_SECONDS,
    )
    assert claimed


# What a user checks ---------------------------------------------------------------------------
def test_every_kill_landed_inside_the_step_it_was_meant_for(crashes: Crashes) -> None:
    assert crashes.missed == []
    landed = [name for inside in crashes.kills for name in inside]
    assert len(landed) == 11 + RANDOM_KILLS, dump(crashes.kills)
    assert landed.count("a random moment") == RANDOM_KILLS
    for run, turn in ((RUNS[1], 0), (RUNS[8], 1)):  # their streams were cut: asked again
        asked = [body for body in crashes.claude.requests if is_turn(run, turn)(body)]
        assert len(asked) >= 2, run.task


def test_the_uninterrupted_run_delivers_the_approved_draft(crashes: Crashes) -> None:
    reference = crashes.reference
    assert reference["status"] == "delivered"
    assert reference["result"] == "<task>: the team knows."
    assert reference["delivered"] == ["<task>: the team knows."]
    assert reference["tool_posts"] == ["Heads-up from <task>"]
    assert reference["decisions"] == [("approve", APPROVER), ("approve", APPROVER)]
    assert reference["pending"] == []
    assert reference["cards"] == [
        ("run post_slack_message: decided by ubob", False),
        ("the answer: decided by ubob", False),
    ]


def test_every_killed_run_ends_as_the_uninterrupted_one(crashes: Crashes) -> None:
    different = {
        run.task: got for run in RUNS if (got := crashes.outcomes[run.number]) != crashes.reference
    }
    assert not different, f"expected {dump(crashes.reference)}\ngot {dump(different)}"


def test_no_slack_message_is_posted_twice(crashes: Crashes) -> None:
    posted = posts_per_key(crashes.slack)
    shown = messages_per_key(crashes.slack)
    assert {key: n for key, n in posted.items() if n != 1} == {}
    assert {key: n for key, n in shown.items() if n != 1} == {}
    # each run's root, progress, two cards, answer, the tool's post, and the DM each card
    # sends its approver
    assert len(shown) == 8 * (len(RUNS) + 1)


def test_the_side_effecting_tool_posts_once_per_approved_call(crashes: Crashes) -> None:
    for run in [REFERENCE, *RUNS]:
        assert tool_posts(crashes.slack, run) == [run.heads_up], run.task
        calls = [
            call
            for call in crashes.slack.calls_to("chat.postMessage")
            if call.args.get("channel") == run.channel and metadata_type(call.args) == TOOL_POST
        ]
        assert len(calls) == 1, run.task


def test_a_card_claimed_by_a_decider_that_died_is_decided_once_after_the_lease(
    crashes: Crashes,
) -> None:
    tool_card, _ = cards(crashes.slack, CLAIMED)
    assert tool_card["text"] == "run post_slack_message: decided by ubob"
    assert crashes.outcomes[CLAIMED.number] == crashes.reference


def test_each_click_that_did_not_count_is_told_why(crashes: Crashes) -> None:
    told = [e["text"] for e in crashes.slack.ephemerals if e["user"] == APPROVER]
    assert all(text.startswith("Nothing to do: ") for text in told), told


def test_a_killed_stack_leaves_no_process_behind_and_stops_cleanly_after(
    crashes: Crashes,
) -> None:
    assert crashes.left_behind == []
    assert crashes.exit_code == 0
    assert no_process_holds(crashes.stack.data_dir)
