"""A run from task to delivered answer: parallel tools, a draft, an approval."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from agent.model.caching import strip_breakpoints
from agent.model.pricing import turn_cost
from agent.tools import ToolRegistry, default_registry
from tests.fakes.slack import FakeSlack
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_results, tool_use
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import APPROVER


class Topic(BaseModel):
    topic: str


def registry_with_rendezvous(parties: int) -> ToolRegistry:
    """A read-only tool that only succeeds if ``parties`` calls are running at the same time."""
    registry = default_registry()
    barrier = threading.Barrier(parties, timeout=10)

    @registry.tool(args=Topic)
    def lookup(ctx: Any, args: Topic) -> str:
        """Look a topic up."""
        barrier.wait()
        return f"notes on {args.topic}"

    return registry


def test_three_tool_calls_run_in_parallel_then_the_approved_draft_is_delivered(
    make_harness: HarnessFactory, fake_slack: FakeSlack
) -> None:
    script = by_turn(
        calls(*(tool_use(f"t{i}", "lookup", topic=f"topic {i}") for i in range(3))),
        draft("Status: all three topics are green."),
    )
    harness = make_harness(script, tools=registry_with_rendezvous(3))
    arn = harness.start()
    card = harness.approval(arn, "review-1")
    assert card.kind == "draft" and card.draft == "Status: all three topics are green."
    harness.decide(card, "approve")

    output = harness.output(arn)
    assert output["status"] == "delivered"
    assert output["text"] == {"text": "Status: all three topics are green."}
    assert [d["decision"] for d in output["decisions"]] == ["approve"]
    assert len(output["usage"]["turns"]) == 2

    requests = harness.claude_requests()
    results = tool_results(requests[1])
    assert {r["content"] for r in results.values()} == {f"notes on topic {i}" for i in range(3)}
    assert not any(r.get("is_error") for r in results.values())

    run = harness.deps.store.get_run(output["run_id"])
    assert run is not None and run["status"] == "delivered"
    progress_updates = [
        json.dumps(call.args.get("blocks"))
        for call in fake_slack.calls_to("chat.update")
        if call.args["ts"] == run["progress_ts"]
    ]
    assert any(update.count("lookup` done") == 3 for update in progress_updates)
    assert any("waiting for approval" in update for update in progress_updates)
    assert "delivered" in progress_updates[-1]  # the status word every surface uses
    spent = output["usage"]["cost_usd"]
    assert spent == pytest.approx(sum(turn_cost(t["model"], t) for t in output["usage"]["turns"]))
    assert spent > 0
    assert f"${spent:.4f}" in progress_updates[-1]  # the thread shows what the run cost
    assert float(run["cost_usd"]) == pytest.approx(spent)

    thread = fake_slack.thread(CHANNEL, card.thread_ts or "")
    final = thread[-1]
    assert "Status: all three topics are green." in final["text"]
    assert f"<@{APPROVER}>" in str(final["blocks"])


def test_every_request_streams_with_client_retries_off(make_harness: HarnessFactory) -> None:
    harness = make_harness(by_turn(draft("Done.")))
    arn = harness.start(task="say done")
    harness.decide(harness.approval(arn, "review-0"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    (request,) = harness.claude_requests()
    assert request["stream"] is True
    assert request["system"][0]["text"].startswith("You are signoff")
    assert [t["name"] for t in request["tools"]] == [t.name for t in default_registry().all()]
    assert harness.claude_headers()[0].get("x-stainless-retry-count") == "0"


def test_each_request_marks_cache_breakpoints_on_a_byte_identical_history(
    make_harness: HarnessFactory,
) -> None:
    script = by_turn(
        calls(tool_use("t0", "lookup", topic="a")),
        calls(tool_use("t1", "lookup", topic="b")),
        draft("Both looked up."),
    )
    harness = make_harness(script, tools=registry_with_rendezvous(1))
    arn = harness.start(task="look both up")
    harness.decide(harness.approval(arn, "review-2"), "approve")
    requests = harness.claude_requests()
    assert len(requests) == 3
    for before, after in itertools.pairwise(requests):
        assert after["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
        assert after["tools"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
        end = len(before["messages"]) - 1
        assert after["messages"][end]["content"][-1]["cache_control"]["ttl"] == "5m"
        assert strip_breakpoints(after["messages"][: end + 1]) == strip_breakpoints(
            before["messages"]
        )


def test_the_bedrock_provider_streams_through_anthropics_bedrock_client(
    make_harness: HarnessFactory,
) -> None:
    harness = make_harness(by_turn(draft("Via Bedrock.")), llm_provider="bedrock")
    assert harness.deps.model.name == "bedrock"
    arn = harness.start(task="say hi")
    harness.decide(harness.approval(arn, "review-0"), "approve")
    assert harness.output(arn)["text"] == {"text": "Via Bedrock."}
    assert harness.claude.paths[0].endswith("/invoke-with-response-stream")
    assert harness.claude_headers()[0]["authorization"].startswith("AWS4-HMAC-SHA256")
