"""MCP tools in a durable run, against a real MCP server on loopback and the SDK's client:
listed once per run, read-only tools without a card, side effects only after Approve and
once, reject and edit, an allowlist, a server that is down, a slow tool, an isError result
and a 400 KB result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.approvals.gate import approval_id_for
from tests.fakes.slack import FakeSlack
from tests.mcp_server import TOKEN, TestMcpServer
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_results, tool_use
from tests.scenarios.conftest import HarnessFactory
from tests.scenarios.harness import CHANNEL, AgentHarness, checkpoint_sizes

CREATE = "mcp__tickets__create_ticket"
LIST = "mcp__tickets__list_tickets"


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[TestMcpServer]:
    server = TestMcpServer(slow_seconds=4).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_records(mcp_server: TestMcpServer) -> None:
    mcp_server.methods.clear()
    mcp_server.created.clear()


def policy_file(tmp_path: Path, url: str, extra: str = "") -> str:
    path = tmp_path / "signoff.toml"
    path.write_text(
        f"""
[mcp.servers.tickets]
url = "{url}"
headers = {{ Authorization = "Bearer ${{TICKETS_TOKEN}}" }}
timeout = "2s"
{extra}
"""
    )
    return str(path)


def harness_for(
    make_harness: HarnessFactory, tmp_path: Path, url: str, *turns: Any, extra: str = ""
) -> AgentHarness:
    return make_harness(
        by_turn(*turns),
        policy_path=policy_file(tmp_path, url, extra),
        variables={"TICKETS_TOKEN": TOKEN},
    )


def results_seen(harness: AgentHarness, turn: int) -> dict[str, dict[str, Any]]:
    """The tool results Claude was sent with model turn ``turn``."""
    return tool_results(harness.claude_requests()[turn])


def posted_to_thread(fake_slack: FakeSlack, harness: AgentHarness, run_id: str) -> list[Any]:
    run = harness.deps.store.get_run(run_id)
    assert run is not None and run["thread_ts"]
    return fake_slack.thread(CHANNEL, run["thread_ts"])


def run_listings(server: TestMcpServer) -> int:
    """The run's own listings: the SDK also lists once with each call (to check the result
    against the tool's output schema), on the call's connection."""
    return server.list_requests() - server.methods.count("tools/call")


def text_of(result: dict[str, Any]) -> str:
    content = result["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def test_claude_sees_the_servers_tools_and_a_read_only_one_runs_without_a_card(
    make_harness: HarnessFactory, fake_slack: FakeSlack, mcp_server: TestMcpServer, tmp_path: Path
) -> None:
    harness = harness_for(
        make_harness,
        tmp_path,
        mcp_server.url,
        calls(tool_use("t1", LIST, status="closed")),
        draft("Two tickets."),
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    offered = {t["name"]: t for t in harness.claude_requests()[0]["tools"]}
    assert offered[CREATE]["description"] == "Open a ticket."
    assert offered[CREATE]["input_schema"]["required"] == ["title", "priority"]
    assert "mcp__tickets__broken" in offered
    result = results_seen(harness, 1)["t1"]
    assert not result.get("is_error")
    assert "2 closed tickets" in text_of(result)
    assert harness.deps.store.get_approval(approval_id_for(arn, "approve-0-0")) is None
    assert run_listings(mcp_server) == 1


def test_a_side_effect_reaches_the_server_only_after_approve_and_once_with_its_key(
    make_harness: HarnessFactory, fake_slack: FakeSlack, mcp_server: TestMcpServer, tmp_path: Path
) -> None:
    harness = harness_for(
        make_harness,
        tmp_path,
        mcp_server.url,
        calls(tool_use("t1", CREATE, title="Printer on fire", priority=1)),
        draft("Opened."),
    )
    arn = harness.start()
    card = harness.approval(arn, "approve-0-0")
    assert mcp_server.created == []  # waiting for a person: the server has seen nothing
    assert card.mcp_tool is not None and card.mcp_tool["server"] == "tickets"
    shown = str(posted_to_thread(fake_slack, harness, card.run_id))
    assert "MCP server `tickets`" in shown and "destructiveHint false" in shown
    harness.decide(card, "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    assert [c["title"] for c in mcp_server.created] == ["Printer on fire"]
    key = mcp_server.created[0]["meta"]["idempotencyKey"]
    assert len(key) == 40
    assert "created T-3" in text_of(results_seen(harness, 1)["t1"])
    # every replay of the run (one per decision) read the listing from its checkpoint
    assert run_listings(mcp_server) == 1


def test_a_rejected_call_never_reaches_the_server_and_an_edit_is_checked_against_its_schema(
    make_harness: HarnessFactory, fake_slack: FakeSlack, mcp_server: TestMcpServer, tmp_path: Path
) -> None:
    harness = harness_for(
        make_harness,
        tmp_path,
        mcp_server.url,
        calls(
            tool_use("t1", CREATE, title="Spam", priority=3),
            tool_use("t2", CREATE, title="Typo", priority=2),
        ),
        draft("Done."),
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "reject", reason="not a real issue")
    edited_card = harness.approval(arn, "approve-0-1")
    from agent.errors import ToolInputError
    from agent.tools.edits import checked_edit

    with pytest.raises(ToolInputError, match="priority"):
        checked_edit(
            harness.deps.tools,
            CREATE,
            {"title": "x", "priority": "high"},
            mcp_tool=edited_card.mcp_tool,
        )
    fixed = checked_edit(
        harness.deps.tools,
        CREATE,
        {"title": "Typo fixed", "priority": 2},
        mcp_tool=edited_card.mcp_tool,
    )
    harness.decide(edited_card, "edit", arguments=fixed)
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    assert [c["title"] for c in mcp_server.created] == ["Typo fixed"]
    results = results_seen(harness, 1)
    assert results["t1"]["is_error"] and "not a real issue" in text_of(results["t1"])


def test_an_allowlist_offers_only_its_tools_and_the_policy_file_gates_a_read_only_tool(
    make_harness: HarnessFactory, fake_slack: FakeSlack, mcp_server: TestMcpServer, tmp_path: Path
) -> None:
    extra = """tools = ["list_tickets", "create_ticket"]

[gates.tools.mcp__tickets__list_tickets]
required = 1
"""
    harness = harness_for(
        make_harness,
        tmp_path,
        mcp_server.url,
        calls(tool_use("t1", LIST), tool_use("t2", "mcp__tickets__not_allowed")),
        draft("Done."),
        extra=extra,
    )
    arn = harness.start()
    card = harness.approval(arn, "approve-0-0")  # the file gates a tool the server calls read-only
    assert card.policy_table == "gates.tools.mcp__tickets__list_tickets"
    harness.decide(card, "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    offered = [t["name"] for t in harness.claude_requests()[0]["tools"]]
    assert LIST in offered and CREATE in offered and "mcp__tickets__not_allowed" not in offered
    results = results_seen(harness, 1)
    assert results["t2"]["is_error"] and "no tool named" in text_of(results["t2"])
    assert "tools/call" in mcp_server.methods and mcp_server.methods.count("tools/call") == 1


def test_a_server_that_is_down_leaves_its_tools_out_and_the_thread_says_so(
    make_harness: HarnessFactory, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    down = TestMcpServer()  # never started: nothing listens on its port
    harness = harness_for(make_harness, tmp_path, down.url, draft("Nothing to do."))
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-0"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    assert not any(t["name"].startswith("mcp__") for t in harness.claude_requests()[0]["tools"])
    run_id = harness.output(arn)["run_id"]
    said = [m["text"] for m in posted_to_thread(fake_slack, harness, run_id)]
    assert any("MCP server tickets is down or unreachable" in text for text in said)


def test_a_slow_tool_an_error_result_and_a_400_kb_result_go_back_to_claude(
    make_harness: HarnessFactory, fake_slack: FakeSlack, mcp_server: TestMcpServer, tmp_path: Path
) -> None:
    harness = harness_for(
        make_harness,
        tmp_path,
        mcp_server.url,
        calls(
            tool_use("t1", "mcp__tickets__slow_report"),
            tool_use("t2", "mcp__tickets__broken"),
            tool_use("t3", "mcp__tickets__big_export"),
        ),
        draft("Done."),
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"
    results = results_seen(harness, 1)
    assert results["t1"]["is_error"] and "did not answer within 2s" in text_of(results["t1"])
    assert results["t2"]["is_error"] and "Error executing tool broken" in text_of(results["t2"])
    assert not results["t3"].get("is_error")
    assert max(checkpoint_sizes(harness, arn).values()) < 64 * 1024  # spilled, not checkpointed
