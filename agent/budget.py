"""A run's spending cap, and whether it is reached (pure).

A run has a cap in dollars, in tokens, or both (0 means no cap of that kind). When what the
run has spent reaches its cap, the run pauses before its next model turn and asks a person
whether to go on; each "continue" grants one more cap's worth. The check reads only the
checkpointed usage of earlier turns, so every replay takes the same branch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.model.pricing import turn_cost

TOKEN_KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


@dataclass(frozen=True)
class Spent:
    """What a run has used so far."""

    usd: float = 0.0
    tokens: int = 0

    def plus(self, turn: Mapping[str, Any]) -> Spent:
        """With one more turn's usage record (dollars priced by its model)."""
        tokens = sum(int(turn.get(kind, 0)) for kind in TOKEN_KINDS)
        usd = turn_cost(str(turn.get("model") or "unknown"), turn)
        return Spent(usd=self.usd + usd, tokens=self.tokens + tokens)


@dataclass(frozen=True)
class Budget:
    """A run's cap: ``usd`` dollars and ``tokens`` tokens per grant (0: no cap)."""

    usd: float = 0.0
    tokens: int = 0

    def __post_init__(self) -> None:
        if self.usd < 0 or self.tokens < 0:
            raise ValueError(f"a budget cannot be negative: ${self.usd}, {self.tokens} tokens")

    @property
    def capped(self) -> bool:
        return self.usd > 0 or self.tokens > 0

    def limit(self, grants: int) -> Budget:
        """The cap after ``grants`` approvals to continue (each adds one more budget)."""
        return Budget(usd=self.usd * (grants + 1), tokens=self.tokens * (grants + 1))

    def reached(self, spent: Spent, grants: int) -> bool:
        """Whether ``spent`` has reached the cap in force after ``grants`` approvals."""
        limit = self.limit(grants)
        return (limit.usd > 0 and spent.usd >= limit.usd) or (
            limit.tokens > 0 and spent.tokens >= limit.tokens
        )

    def to_json(self) -> dict[str, Any]:
        return {"usd": self.usd, "tokens": self.tokens}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Budget:
        value = value or {}
        return cls(usd=float(value.get("usd", 0.0)), tokens=int(value.get("tokens", 0)))


def describe_budget(budget: Budget) -> str:
    """``$5.00 or 2,000,000 tokens`` (whichever caps the run)."""
    parts = []
    if budget.usd > 0:
        parts.append(f"${budget.usd:,.2f}")
    if budget.tokens > 0:
        parts.append(f"{budget.tokens:,} tokens")
    return " or ".join(parts) or "no cap"
