"""The runs whose durable histories are recorded: one for every shape a run in flight can have.

Each scenario is recorded twice (``tests/replay/recorder.py``): suspended where it waits for
a person, a job or the clock, and finished. The tools that are not built in (a polled report,
a render farm that calls back) live here, so recording and replaying see the same registry.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.approvals.rules import Escalation, GateRule, Policy, ToolRule, environment_policy
from agent.tools import ToolRegistry, default_registry
from agent.tools.context import ToolContext
from agent.tools.jobs import Done, JobHandle, JobStatus, Pending, Polling, Webhook
from tests.fakes.claude import Reply
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_use
from tests.scenarios.harness import AgentHarness

PUBLIC_URL = "https://signoff.example.test"
# claude-sonnet-5-5 bills $2 per million input tokens: 5,000 tokens cost one cent.
CENT_OF_INPUT = {"input_tokens": 5_000, "output_tokens": 0}
READ = tool_use("t_read", "read_slack_history", channel=CHANNEL)
ANNOUNCE = tool_use("t_post", "post_slack_message", channel="CANNOUNCE", text="We ship today")
SECOND_POST = tool_use("t_post2", "post_slack_message", channel="COPS", text="Ship day")
# The MCP server the mcp scenario's policy file names: the test server while recording
# (tests/mcp_server.py), a dead address on replay, where the listing comes from the history.
MCP_TOKEN_VARIABLE = "TICKETS_TOKEN"
LIST_TICKETS = tool_use("t_list", "mcp__tickets__list_tickets", status="open")
CREATE_TICKET = tool_use("t_create", "mcp__tickets__create_ticket", title="Ship day", priority=2)


def mcp_policy(directory: Path, url: str) -> str:
    """A policy file naming one MCP server, ``tickets``, at ``url``; its path."""
    path = directory / "signoff.toml"
    path.write_text(
        f'[mcp.servers.tickets]\nurl = "{url}"\n'
        f'headers = {{ Authorization = "Bearer ${{{MCP_TOKEN_VARIABLE}}}" }}\n'
    )
    return str(path)


class ReportArgs(BaseModel):
    report: str


class RenderArgs(BaseModel):
    video: str


_checks = itertools.count(1)


def _report_ready_on_third_check(ctx: ToolContext, handle: JobHandle) -> JobStatus:
    checks = next(_checks)
    return Done({"report": handle["report"]}) if checks % 3 == 0 else Pending("not yet")


def replay_registry() -> ToolRegistry:
    """The built-in tools plus the two long-running ones the recorded runs call."""
    registry = default_registry()

    @registry.tool(
        args=ReportArgs,
        completion=Polling(check=_report_ready_on_third_check, initial_delay_seconds=60),
    )
    def slow_report(ctx: ToolContext, args: ReportArgs) -> JobHandle:
        """Build a report; it takes a while."""
        return {"report": args.report}

    @registry.tool(args=RenderArgs, completion=Webhook(timeout_seconds=3_600))
    def render(ctx: ToolContext, args: RenderArgs) -> dict[str, Any]:
        """Render a video; the farm calls back when done."""
        return {"queued": args.video}

    return registry


def costly(reply: Reply) -> Reply:
    return Reply(content=reply.content, stop_reason=reply.stop_reason, usage=CENT_OF_INPUT)


Play = Callable[[AgentHarness, str], None]


def approve(*gates: str) -> Play:
    """Approve each gate in turn, as soon as its card is up."""

    def play(harness: AgentHarness, arn: str) -> None:
        for gate in gates:
            harness.decide(harness.approval(arn, gate), "approve")

    return play


def then(*steps: Play) -> Play:
    def play(harness: AgentHarness, arn: str) -> None:
        for step in steps:
            step(harness, arn)

    return play


def decide(gate: str, decision: str, **fields: Any) -> Play:
    def play(harness: AgentHarness, arn: str) -> None:
        harness.decide(harness.approval(arn, gate), decision, **fields)

    return play


def wait_out(harness: AgentHarness, arn: str) -> None:
    """Nobody answers: the run ends by itself (a callback timeout, on the real clock)."""
    harness.result(arn, timeout=30)


def complete_job(callback: str, result: dict[str, Any]) -> Play:
    """The outside system calls back: the job's callback succeeds with ``result``."""

    def play(harness: AgentHarness, arn: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for op in harness.runner._store.load(arn).operations:  # no public accessor
                details = op.callback_details
                if op.name == callback and details is not None:
                    payload = json.dumps(result).encode()
                    harness.runner.send_callback_success(details.callback_id, payload)
                    return
            time.sleep(0.05)
        raise AssertionError(f"the job never waited on its callback {callback!r}")

    return play


def _routed() -> Policy:
    """A policy file's routing: the post has a condition, reminders and an escalation."""
    base = environment_policy(
        approvers=("UAPPROVER",), deadline_seconds=600, allow_self_approval=False
    )
    post = ToolRule(
        rule=GateRule(
            table="gates.tools.post_slack_message",
            approvers=("UAPPROVER",),
            remind_seconds=(3600, 2 * 3600),
            deadline_seconds=86_400,
            escalate=Escalation(after_seconds=3600, to=("UESCALATED",), channel="COPS"),
        ),
        when='args.channel != "CSANDBOX"',
    )
    return replace(base, tools={"post_slack_message": post})


@dataclass(frozen=True)
class Scenario:
    """A run to record: its Claude script, settings, where it waits, and how it ends."""

    name: str
    script: Callable[[dict[str, Any]], Any]
    waits_at: str  # the operation the suspended history waits on
    play: Play  # from the suspended point to the end
    settings: dict[str, Any] = field(default_factory=dict)
    clock_wait: bool = False  # waits on the clock: recorded suspended with real time
    mcp: bool = False  # uses the MCP server of ``mcp_policy`` (``tickets``)
    task: str = "Summarise #general and draft the status update"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="three_parallel_tools_then_draft",
        script=by_turn(
            calls(*(tool_use(f"t{i}", "read_slack_history", channel=CHANNEL) for i in range(3))),
            draft("Status: all three threads are green."),
        ),
        waits_at="review-1",
        play=approve("review-1"),
    ),
    Scenario(
        name="gated_tool_approved",
        script=by_turn(calls(ANNOUNCE), draft("Announced.")),
        waits_at="approve-0-0",
        play=approve("approve-0-0", "review-1"),
    ),
    Scenario(
        name="request_changes_then_approve",
        script=by_turn(draft("Draft one."), draft("Draft two, shorter.")),
        waits_at="review-0",
        play=then(decide("review-0", "revise", feedback="make it shorter"), approve("review-1")),
    ),
    Scenario(
        name="gated_tool_rejected_then_draft_rejected",
        script=by_turn(calls(ANNOUNCE), draft("I did not post.")),
        waits_at="approve-0-0",
        play=then(
            decide("approve-0-0", "reject", reason="not before the review"),
            decide("review-1", "reject", reason="wrong audience"),
        ),
    ),
    Scenario(
        name="budget_gate",
        script=by_turn(costly(calls(READ)), costly(calls(READ)), draft("Done.")),
        waits_at="budget-1",
        play=approve("budget-1", "budget-2", "review-2"),
        settings={"budget_usd": 0.01},
    ),
    Scenario(
        name="expired_gate",
        script=by_turn(draft("Draft.")),
        waits_at="review-0",
        play=wait_out,
        settings={"approval_timeout_seconds": 3},
    ),
    Scenario(
        name="polled_job",
        script=by_turn(calls(tool_use("t1", "slow_report", report="q4")), draft("Done.")),
        waits_at="tool-0-0-poll",
        play=approve("review-1"),
        clock_wait=True,
    ),
    Scenario(
        name="webhook_job",
        script=by_turn(calls(tool_use("t1", "render", video="intro")), draft("Rendered.")),
        waits_at="tool-0-0-callback",
        play=then(
            complete_job("tool-0-0-callback", {"url": "https://cdn.example.test/intro"}),
            approve("review-1"),
        ),
        settings={"public_url": PUBLIC_URL},
    ),
    Scenario(
        name="pause",
        script=by_turn(
            calls(tool_use("t1", "pause", seconds=3_600, reason="check the export later")),
            draft("Checked."),
        ),
        waits_at="tool-0-0-pause",
        play=approve("review-1"),
        clock_wait=True,
    ),
    Scenario(
        name="routed_gates",
        script=by_turn(calls(ANNOUNCE), draft("Announced.")),
        waits_at="approve-0-0",
        play=approve("approve-0-0", "review-1"),
        settings={"policy": _routed()},
    ),
    Scenario(
        name="batched_gates",
        script=by_turn(
            calls(ANNOUNCE, tool_use("t_read", "read_slack_history", channel=CHANNEL), SECOND_POST),
            draft("Announced twice."),
        ),
        waits_at="approve-0-2",
        play=approve("approve-0-0", "approve-0-2", "review-1"),
    ),
    Scenario(
        name="mcp_tools",
        script=by_turn(calls(LIST_TICKETS, CREATE_TICKET), draft("Filed the ship-day ticket.")),
        waits_at="approve-0-1",
        play=approve("approve-0-1", "review-1"),
        mcp=True,
    ),
)
