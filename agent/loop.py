"""The agent loop's decisions, as pure functions of checkpointed values.

The durable handler calls these between operations; they do no I/O and read no clock, so
replay takes the same branches and they are unit-tested without servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.budget import Spent
from agent.history import feedback_entry, outcomes_entry, reply_entry, task_entry
from agent.models import RunRequest, ToolCall

# AWS caps a durable execution at 3,000 operations; stop starting turns well before it.
OPERATION_LIMIT = 3000
OPERATION_HEADROOM = 100


@dataclass(frozen=True)
class CallTools:
    calls: tuple[ToolCall, ...]


@dataclass(frozen=True)
class ReviewDraft:
    """Claude answered with text: the draft a person reviews. Blocks may hold references."""

    blocks: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ContinueTurn:
    """The API paused a long turn (``pause_turn``): send the conversation back as it is."""


@dataclass(frozen=True)
class EndRun:
    reason: str


NextAction = CallTools | ReviewDraft | ContinueTurn | EndRun


def next_action(reply: dict[str, Any]) -> NextAction:
    """What the reply asks the run to do next."""
    calls = tuple(
        ToolCall(id=block["id"], name=block["name"], arguments=dict(block.get("input") or {}))
        for block in reply["content"]
        if block.get("type") == "tool_use"
    )
    if calls and reply.get("stop_reason") != "max_tokens":
        return CallTools(calls)
    stop_reason = reply.get("stop_reason")
    if stop_reason == "pause_turn":
        return ContinueTurn()
    if stop_reason == "refusal":
        return EndRun("Claude declined this task")
    texts = tuple(block for block in reply["content"] if block.get("type") == "text")
    if calls:
        return EndRun("the reply hit the token limit in the middle of a tool call")
    if not any(block.get("text") or block.get("blob") for block in texts):
        return EndRun("Claude answered with no text")
    return ReviewDraft(texts)


def usage_record(turn: int, reply: dict[str, Any]) -> dict[str, Any]:
    """One turn's entry in the run's ledger: the turn, the model and its token counts."""
    return {"turn": turn, "model": reply.get("model"), **reply["usage"]}


@dataclass
class RunState:
    """Everything the loop knows, rebuilt identically on every replay."""

    request: RunRequest
    run_id: str
    transcript: list[dict[str, Any]] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    revisions: int = 0
    turn: int = 0
    operations: int = 0
    last_review_id: str | None = None
    budget_grants: int = 0  # go-aheads to spend past the run's budget
    spent: Spent = field(default_factory=Spent)  # kept as turns come, not summed each turn

    @classmethod
    def start(cls, request: RunRequest, run_id: str) -> RunState:
        return cls(request=request, run_id=run_id, transcript=[task_entry(request)])

    def add_reply(self, reply: dict[str, Any]) -> None:
        """Record a model turn and its token usage."""
        self.transcript.append(reply_entry(reply))
        record = usage_record(self.turn, reply)
        self.usage.append(record)
        self.spent = self.spent.plus(record)

    def add_outcomes(self, outcomes: list[dict[str, Any]]) -> None:
        """Record the turn's tool outcomes (and any decisions taken on them)."""
        self.transcript.append(outcomes_entry(outcomes))
        self.decisions.extend(o["decision"] for o in outcomes if o.get("decision"))

    def add_feedback(self, feedback: str) -> None:
        self.transcript.append(feedback_entry(feedback))

    def next_turn(self) -> None:
        self.turn += 1

    def count(self, operations: int) -> None:
        """Keep a running total of durable operations (the SDK counts the same ones)."""
        self.operations += operations

    def out_of_turns(self, max_turns: int) -> bool:
        return self.turn >= max_turns

    def near_operation_limit(self, next_turn_operations: int) -> bool:
        """Whether another turn could push the run past AWS's operation cap."""
        return self.operations + next_turn_operations > OPERATION_LIMIT - OPERATION_HEADROOM
