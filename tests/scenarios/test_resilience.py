"""Faults that must not lose or repeat anything: API errors, bad tools, huge outputs, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from pydantic import BaseModel

from agent.storage.store import Store
from agent.tools import default_registry
from tests.fakes.claude import Disconnect, Fault, overloaded, rate_limited, scripted
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_results, tool_use
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import APPROVER, checkpoint_sizes

CHECKPOINT_LIMIT = 256 * 1024


class NoArgs(BaseModel):
    pass


def test_overload_and_rate_limit_are_retried_durably_without_stacking(
    make_harness: HarnessFactory,
) -> None:
    harness = make_harness(
        scripted(overloaded("1"), rate_limited("2"), Disconnect(), draft("Done."))
    )
    arn = harness.start(task="say done")
    harness.decide(harness.approval(arn, "review-0"), "approve")
    result = harness.result(arn)
    assert json.loads(result.result or "{}")["status"] == "delivered"
    # Four HTTP requests for four step attempts: the client itself never retried.
    assert len(harness.claude_requests()) == 4
    assert {h.get("x-stainless-retry-count") for h in harness.claude_headers()} == {"0"}
    assert result.get_step("llm-0").attempt == 4


@pytest.mark.parametrize("status", [400, 401, 403])
def test_a_refused_request_fails_the_turn_at_once(
    make_harness: HarnessFactory, status: int
) -> None:
    harness = make_harness(scripted(Fault(status, "invalid_request_error", "bad request")))
    result = harness.result(harness.start(task="anything"))
    assert result.status == InvocationStatus.FAILED
    assert len(harness.claude_requests()) == 1


def test_a_failing_tool_is_an_error_result_and_the_run_goes_on(
    make_harness: HarnessFactory,
) -> None:
    registry = default_registry()

    @registry.tool(args=NoArgs)
    def flaky(ctx: Any, args: NoArgs) -> str:
        """Always fails."""
        raise ConnectionError("upstream is down")

    harness = make_harness(
        by_turn(calls(tool_use("t1", "flaky"), tool_use("t2", "nosuchtool")), draft("Partial.")),
        tools=registry,
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    results = tool_results(harness.claude_requests()[1])
    assert results["t1"]["is_error"] is True and "upstream is down" in results["t1"]["content"]
    assert results["t2"]["is_error"] is True and "no tool named" in results["t2"]["content"]


def test_a_400_kb_tool_output_stays_out_of_the_checkpoints_but_reaches_claude(
    make_harness: HarnessFactory,
) -> None:
    registry = default_registry()
    big = "x" * 400_000

    @registry.tool(args=NoArgs)
    def dump(ctx: Any, args: NoArgs) -> str:
        """Return a very large document."""
        return big

    harness = make_harness(
        by_turn(calls(tool_use("t1", "dump")), draft("Read it.")), tools=registry
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    assert tool_results(harness.claude_requests()[1])["t1"]["content"] == big
    sizes = checkpoint_sizes(harness, arn)
    assert max(sizes.values()) < CHECKPOINT_LIMIT, sizes
    assert sizes["tool-0-0"] < 2_000


def test_a_bad_event_fails_the_run_at_once_naming_the_field(make_harness: HarnessFactory) -> None:
    harness = make_harness(scripted())
    arn = harness.runner.run_async(input=json.dumps({"task": "", "requester": "U1", "source": "x"}))
    result = harness.result(arn)
    assert result.status == InvocationStatus.FAILED
    assert result.error is not None
    assert "task" in (result.error.message or "") and "source" in (result.error.message or "")
    assert harness.claude_requests() == []


class FlakyStore(Store):
    """Loses the first write of a card's ts, as if the Lambda died right after posting."""

    failed = False

    def set_approval_message(self, approval_id: str, *, channel: str, ts: str) -> None:
        if not FlakyStore.failed:
            FlakyStore.failed = True
            raise ConnectionError("table unreachable")
        super().set_approval_message(approval_id, channel=channel, ts=ts)


def test_a_retried_submitter_updates_its_card_instead_of_posting_another(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    harness = make_harness(by_turn(draft("Draft.")))
    object.__setattr__(harness.deps, "store", FlakyStore(harness.deps.store.table))
    arn = harness.start()
    card = harness.approval(arn, "review-0")
    cards = [
        m
        for m in fake_slack.thread(CHANNEL, card.thread_ts or "")
        if (m.get("metadata") or {}).get("event_payload", {}).get("key") == card.approval_id
    ]
    assert len(cards) == 1 and FlakyStore.failed
    harness.decide(card, "approve")
    assert harness.output(arn)["status"] == "delivered"


def test_replays_after_every_suspension_repeat_no_side_effect(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    """Retry waits, tool gates and the draft gate each suspend; nothing runs twice on replay."""
    post = tool_use("t_post", "post_slack_message", channel="CANNOUNCE", text="hello")
    harness = make_harness(scripted(overloaded("1"), calls(post), draft("Posted hello.")))
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    output = harness.output(arn)

    assert output["status"] == "delivered"
    assert len(harness.claude_requests()) == 3  # one failed attempt, two turns
    assert [m["text"] for m in fake_slack.messages("CANNOUNCE")] == ["hello"]
    roots = [m for m in fake_slack.messages(CHANNEL)]
    assert len(roots) == 1
    thread = fake_slack.thread(CHANNEL, roots[0]["ts"])
    dms = fake_slack.messages(f"D{APPROVER}")  # each card DMs its approver once
    assert [m["text"] for m in dms] == [
        "Approval needed: run post_slack_message",
        "Approval needed: the answer",
    ]
    assert len(fake_slack.calls_to("chat.postMessage")) == len(thread) + 1 + len(dms)
    keys = [(m.get("metadata") or {}).get("event_payload", {}).get("key") for m in thread]
    assert len(keys) == len(set(keys))


def test_a_run_at_the_turn_cap_ends_cleanly_and_says_so(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    forever = calls(tool_use("t", "read_slack_history", channel=CHANNEL))
    harness = make_harness(lambda _: forever, max_turns=2)
    arn = harness.start()
    output = harness.output(arn)
    assert output["status"] == "turn_limit"
    assert "2 turns" in output["note"]
    assert len(harness.claude_requests()) == 2
    root = fake_slack.messages(CHANNEL)[0]
    assert "2 turns" in fake_slack.thread(CHANNEL, root["ts"])[-1]["text"]
