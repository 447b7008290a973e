"""Crash mid-call: ``signoff dev`` killed with SIGKILL while an approved side-effecting MCP tool
call is inside the server, after the server accepted it and before the step's result was
checkpointed; then started again on the same data dir.

What must hold, as a user checks it: the server saw the call exactly once (an interrupted
side effect is never sent again), Claude is told the call was cut off and may have run, and
the run goes on to its reviewed answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.claude import FakeClaude, Reply
from tests.fakes.slack import FakeSlack
from tests.faults.crash_stack import (
    Approver,
    CrashStack,
    Run,
    delivered,
    thread,
    wait_until,
)
from tests.mcp_server import TOKEN, TestMcpServer
from tests.scenarios.claude_scripts import assistant_turns, calls, draft, tool_results, tool_use

pytestmark = pytest.mark.timeout(300)

CREATE = "mcp__tickets__create_ticket"
RUN = Run(1)
ANSWER = "Ticket filed (or cut off: check the tracker)."


def script(body: dict[str, Any]) -> Reply:
    """Claude: file the ticket, then a draft whatever came back."""
    if assistant_turns(body) == 0:
        return calls(tool_use("toolu_mcp", CREATE, title="Printer on fire", priority=1))
    return draft(ANSWER)


class McpCrashStack(CrashStack):
    """The crash suite's stack with a policy file naming the test's MCP server."""

    def __init__(self, data_dir: Path, slack: FakeSlack, claude: FakeClaude, policy: Path):
        super().__init__(data_dir, slack, claude)
        self.policy = policy

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "SIGNOFF_POLICY": str(self.policy),
            "TICKETS_TOKEN": TOKEN,
        }


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[TestMcpServer]:
    server = TestMcpServer().start()
    yield server
    server.hold_creates.clear()
    server.stop()


@pytest.fixture(scope="module")
def crashed(
    tmp_path_factory: pytest.TempPathFactory, mcp_server: TestMcpServer
) -> Iterator[tuple[McpCrashStack, FakeClaude]]:
    """A run killed inside its approved create_ticket call, then finished after a restart."""
    root = tmp_path_factory.mktemp("mcp-crash")
    policy = root / "signoff.toml"
    policy.write_text(
        f"""
[mcp.servers.tickets]
url = "{mcp_server.url}"
headers = {{ Authorization = "Bearer ${{TICKETS_TOKEN}}" }}
tools = ["create_ticket"]
"""
    )
    with FakeSlack() as slack, FakeClaude(script) as claude:
        stack = McpCrashStack(root / "data", slack, claude, policy).start()
        try:
            with Approver(stack) as approver:
                approver.watch(RUN)
                mcp_server.hold_creates.set()
                stack.command(RUN)
                wait_until(lambda: mcp_server.created, "the server to accept the call", stack)
                stack.kill()  # the server holds the accepted call: no result was checkpointed
                mcp_server.hold_creates.clear()
                stack.start()
                wait_until(lambda: delivered(slack, RUN), "the run's answer", stack)
            assert stack.stop() == 0, stack.output()[-3000:]
            yield stack, claude
        finally:
            if stack.process is not None:
                stack.kill()


def test_the_server_sees_an_interrupted_side_effect_once_and_claude_hears_it_was_cut_off(
    crashed: tuple[McpCrashStack, FakeClaude], mcp_server: TestMcpServer
) -> None:
    stack, claude = crashed
    assert [c["title"] for c in mcp_server.created] == ["Printer on fire"]
    assert mcp_server.methods.count("tools/call") == 1
    seen = [tool_results(body) for body in claude.requests if assistant_turns(body) == 1]
    assert seen, "Claude was never asked for the next turn"
    result = seen[-1]["toolu_mcp"]
    assert result.get("is_error") is True
    text = result["content"] if isinstance(result["content"], str) else str(result["content"])
    assert f"{CREATE} was interrupted" in text and "may or may not have taken effect" in text
    assert "operation_id" not in text  # the step's internals are not Claude's business
    assert delivered(stack.slack, RUN) == [ANSWER]
    said = " ".join(m.get("text", "") for m in thread(stack.slack, RUN))
    assert "create_ticket" in said
