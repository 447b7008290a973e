"""Reminders and escalation while a gate waits, at no compute: a race in one ``parallel``.

A gate whose rule has reminders or an escalation waits in one ``context.parallel`` of two
branches: branch 0 is the gate's ``wait_for_callback`` (its deadline is the callback's
timeout); branch 1 is the ladder, a durable ``wait`` before each rung and a step for the rung
(a reminder, or the escalation), in time order. Both branches suspend, so nothing runs and
nothing is billed between rungs. The completion rule watches branch 0 only: the parallel ends
the moment the callback resolves (a decision, a timeout, or a submitter that found nobody),
so no rung runs after a decision; a ladder that reaches its last rung first simply ends, and
the gate keeps waiting for its callback.

Operation names are stable and derived from the gate's name and the rung's place in the
rule (``<gate>-remind-<i>``, ``<gate>-escalate``, ``<gate>-wait-<k>``), and the rule is pinned
for the whole run, so a replay meets the same operations. A rule without reminders or an
escalation keeps the plain ``wait_for_callback`` (the same operations as before the ladder).

Since SDK 2.0 a branch suspended on a callback holds a concurrency slot: the race runs with
``max_concurrency=2`` so the ladder always gets its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aws_durable_execution_sdk_python import (
    BatchItemStatus,
    CompletionOutcome,
    DurableContext,
    complete_batch,
    continue_batch,
)
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    Duration,
    ParallelConfig,
)
from aws_durable_execution_sdk_python.exceptions import (
    CallbackSubmitterError,
    CallbackTimeoutError,
)

from agent.approvals.rules import MAX_REMINDERS, GateRule


@dataclass(frozen=True)
class Rung:
    """One step of the ladder, ``at_seconds`` after the card was posted."""

    kind: Literal["remind", "escalate"]
    at_seconds: int
    index: int  # the reminder's place in ``remind`` (0 for the escalation)

    def name(self, gate_name: str) -> str:
        return (
            f"{gate_name}-escalate"
            if self.kind == "escalate"
            else f"{gate_name}-remind-{self.index}"
        )


def rungs(rule: GateRule) -> list[Rung]:
    """The rule's rungs before its deadline, in time order (an escalation before a reminder
    due at the same time, so that reminder reaches the escalated people too)."""
    steps = [Rung("remind", at, i) for i, at in enumerate(rule.remind_seconds)]
    if rule.escalate is not None:
        steps.append(Rung("escalate", rule.escalate.after_seconds, 0))
    due = [r for r in steps if r.at_seconds < rule.deadline_seconds]
    return sorted(due, key=lambda r: (r.at_seconds, r.kind != "escalate", r.index))


def ladder_operations(rule: GateRule) -> int:
    """Operations the race adds to a gate: the parallel and its two branches, then a wait
    and a step per rung."""
    steps = rungs(rule)
    return 3 + 2 * len(steps) if steps else 0


# The most a policy may add to one gate: every reminder and the escalation.
MAX_LADDER_OPERATIONS = 3 + 2 * (MAX_REMINDERS + 1)


def _callback_decides(status: Any) -> Any:
    """End the race when branch 0 (the callback) is done, whichever way it went."""
    state = status.items[0].status if status.items else None
    if state == BatchItemStatus.SUCCEEDED:
        return complete_batch()
    if state == BatchItemStatus.FAILED:
        return complete_batch(CompletionOutcome.FAILED)
    return continue_batch()


_RACE = ParallelConfig(
    max_concurrency=2, completion_config=CompletionConfig(should_complete=_callback_decides)
)


def race(
    context: DurableContext,
    *,
    gate_name: str,
    rule: GateRule,
    wait: Callable[[DurableContext], Any],
    climb: Callable[[Rung], Callable[[Any], Any]],
) -> Any:
    """``wait(ctx)``'s result, with the ladder's rungs run (by ``climb(rung)``, a step body)
    while it waits. A timeout or a submitter's failure is raised as ``wait`` would raise it."""

    def ladder(ctx: DurableContext) -> int:
        elapsed = 0
        for k, rung in enumerate(rungs(rule)):
            if rung.at_seconds > elapsed:
                wait_for = Duration.from_seconds(rung.at_seconds - elapsed)
                ctx.wait(wait_for, name=f"{gate_name}-wait-{k}")
                elapsed = rung.at_seconds
            ctx.step(climb(rung), name=rung.name(gate_name))
        return elapsed

    result = context.parallel([wait, ladder], name=f"{gate_name}-race", config=_RACE)
    decided = result.all[0]
    if decided.status == BatchItemStatus.SUCCEEDED:
        return decided.result
    _raise_like_the_callback(decided.error)
    raise AssertionError("unreachable")  # pragma: no cover - _raise_like_the_callback raises


def _raise_like_the_callback(error: Any) -> None:
    """The callback branch's failure, as the exception a plain ``wait_for_callback`` raises
    (the branch's result only keeps its type's name and message)."""
    kind = str(getattr(error, "type", "") or "")
    message = str(getattr(error, "message", "") or "the approval's callback failed")
    if kind.endswith("CallbackTimeoutError"):
        raise CallbackTimeoutError(message)
    if kind.endswith("CallbackSubmitterError"):
        raise CallbackSubmitterError(message)
    raise RuntimeError(f"the approval's wait failed: {kind}: {message}")
