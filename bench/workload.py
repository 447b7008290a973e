"""The runs the benchmarks measure: a scripted model, the tools it calls, the agent's deps.

Each turn the model asks for three tool calls with realistic outputs: 2 KB, 20 KB and, on
alternate turns, 120 KB or 8 KB (so half the turns carry an output over 100 KB, which the
agent keeps in S3), with a short note before them; after the last turn it writes a draft,
which a reviewer approves. The model answers at once (zero latency), so timings are the
orchestration's own.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from agent.config import Settings
from agent.deps import AgentDeps
from agent.handler import build_handler
from agent.model.request import ModelRequest
from agent.tools import ApprovalPolicy, ToolRegistry, default_registry

TOOLS_PER_TURN = 3
NOTE = "Looking this up. " * 20
DRAFT = "Final answer. " * 40
USAGE = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
}


class Fetch(BaseModel):
    size: int


class Publish(BaseModel):
    text: str


class Pause(BaseModel):
    seconds: float


def output_sizes(turn: int) -> list[int]:
    """The sizes of one turn's three tool outputs."""
    return [2_000, 20_000, 120_000 if turn % 2 else 8_000]


def fetched_text(size: int) -> str:
    """A document of ``size`` bytes (log lines, as a monitoring tool would return)."""
    return ("log line: service healthy, latency 42ms\n" * (size // 40 + 1))[:size]


FETCH, PUBLISH, SLOW = "bench_fetch", "bench_publish", "bench_slow_lookup"


def bench_registry() -> ToolRegistry:
    """The built-in tools (their schemas are part of every request, as deployed) plus
    ``bench_fetch`` (read-only), ``bench_publish`` (always needs a reviewer) and
    ``bench_slow_lookup`` (read-only, takes a while: a slow API)."""
    registry = default_registry()

    @registry.tool(args=Fetch, name=FETCH)
    def fetch(ctx: Any, args: Fetch) -> str:
        """Fetch a document of the given size."""
        return fetched_text(args.size)

    @registry.tool(
        args=Publish, name=PUBLISH, side_effect=True, approval=ApprovalPolicy(mode="require")
    )
    def publish(ctx: Any, args: Publish) -> str:
        """Publish a note (a reviewer approves each one)."""
        return f"published {len(args.text)} characters"

    @registry.tool(args=Pause, name=SLOW)
    def slow_lookup(ctx: Any, args: Pause) -> str:
        """Look something up in a slow system (answers after the given seconds)."""
        time.sleep(args.seconds)
        return f"answered after {args.seconds} s"

    return registry


Call = tuple[str, dict[str, Any]]


def fetch_calls(turn: int) -> list[Call]:
    """The default turn: three fetches."""
    return [(FETCH, {"size": size}) for size in output_sizes(turn)]


def gated_calls(turn: int) -> list[Call]:
    """Two fetches and one call a reviewer must approve."""
    return [*fetch_calls(turn)[:2], (PUBLISH, {"text": f"status note {turn}"})]


def pause_calls(turn: int) -> list[Call]:
    """Three calls that each take a second."""
    return [(SLOW, {"seconds": 1.0})] * TOOLS_PER_TURN


@dataclass
class ScriptedModel:
    """``turns`` turns of tool calls (``calls(turn)``), then a draft. No latency."""

    turns: int
    calls: Any = fetch_calls
    name: str = "bench"
    requests: list[ModelRequest] = field(default_factory=list)

    def complete(self, request: ModelRequest) -> dict[str, Any]:
        self.requests.append(request)
        turn = sum(1 for m in request.messages if m["role"] == "assistant")
        if turn >= self.turns:
            return draft_reply(self.name)
        return turn_reply(turn, self.calls(turn), self.name)


def turn_reply(turn: int, calls: list[Call], model: str = "bench") -> dict[str, Any]:
    """A reply asking for ``calls``, after a short note."""
    uses = [
        {"type": "tool_use", "id": f"t{turn}_{i}", "name": tool, "input": arguments}
        for i, (tool, arguments) in enumerate(calls)
    ]
    content = [{"type": "text", "text": NOTE}, *uses]
    return {"model": model, "stop_reason": "tool_use", "content": content, "usage": USAGE}


def draft_reply(model: str = "bench") -> dict[str, Any]:
    """The final reply: the draft a reviewer signs off."""
    content = [{"type": "text", "text": DRAFT}]
    return {"model": model, "stop_reason": "end_turn", "content": content, "usage": USAGE}


def turn_outputs(turn: int) -> list[str]:
    """What the default turn's three fetches return."""
    return [fetched_text(size) for size in output_sizes(turn)]


def bench_settings(table: str, bucket: str, *, turns: int, **overrides: Any) -> Settings:
    """Settings for a run of ``turns`` turns against the stand-ins: no Slack, and no spending
    cap (a budget gate would add an approval the benchmark did not ask for)."""
    return replace(
        Settings(
            llm_provider="offline",
            table_name=table,
            bucket=bucket,
            max_turns=turns + 2,
            approval_timeout_seconds=3600,
            budget_usd=0.0,
        ),
        **overrides,
    )


def bench_deps(settings: Settings, model: Any = None) -> AgentDeps:
    """The agent's clients as in Lambda, with ``model`` (if given) answering instead of the
    one the settings name."""
    deps = AgentDeps.from_settings(settings, tools=bench_registry())
    return deps if model is None else replace(deps, model=model)


def bench_handler(deps: AgentDeps) -> Any:
    """The agent's durable handler around these deps."""
    return build_handler(lambda: deps)


def run_event(task: str = "bench") -> dict[str, Any]:
    """A run's input, as the HTTP API starts it."""
    return {"task": task, "requester": "UBENCH", "source": "api"}


def raw_content_bytes(reply_content: list[dict[str, Any]], outputs: list[str]) -> int:
    """A turn's own content: the reply as Claude sent it plus the tool outputs, in bytes."""
    return len(json.dumps(reply_content).encode()) + sum(len(o.encode()) for o in outputs)
