"""Spending summed per requester or per channel, from the runs' own records (pure).

Each run record carries its tokens and cost (kept current turn by turn), so a report is a sum
over records rather than a counter that a retried step could bump twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent.model.pricing import TOKEN_KINDS, describe_usage

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class UsageTotals:
    """What a set of runs spent: how many, dollars, tokens by kind, dollars by model."""

    runs: int = 0
    cost_usd: float = 0.0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    cost_by_model: dict[str, float] = field(default_factory=dict)
    partial: bool = False  # more runs matched than one report reads

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
            "cost_by_model": self.cost_by_model,
            "partial": self.partial,
        }


def summarise(runs: Iterable[Mapping[str, Any]], *, partial: bool = False) -> UsageTotals:
    """Sum the spending of run records (``usage``, ``usage_by_model``, ``cost_usd``)."""
    count, tokens, by_model = 0, dict.fromkeys(TOKEN_KINDS, 0), dict[str, float]()
    for run in runs:
        count += 1
        for kind in TOKEN_KINDS:
            tokens[kind] += int((run.get("usage") or {}).get(kind, 0))
        for model, entry in (run.get("usage_by_model") or {}).items():
            by_model[model] = by_model.get(model, 0.0) + float(entry.get("cost_usd", 0.0))
    return UsageTotals(
        runs=count,
        cost_usd=round(sum(by_model.values()), 6),
        tokens=tokens,
        cost_by_model={model: round(cost, 6) for model, cost in sorted(by_model.items())},
        partial=partial,
    )


def since(now: datetime, days: int) -> str:
    """The ISO 8601 start of a report covering the last ``days`` days."""
    return (now - timedelta(days=days)).isoformat(timespec="seconds")


def usage_line(label: str, totals: UsageTotals) -> str:
    """``<label>: 12 runs · 1,234 tokens in (900 from cache) · 80 out · $4.2100`` (mrkdwn)."""
    if totals.runs == 0:
        return f"{label}: no runs"
    runs = f"{'at least ' if totals.partial else ''}{totals.runs:,} run" + (
        "s" if totals.runs != 1 else ""
    )
    line = f"{label}: {runs} · {describe_usage(totals.tokens, totals.cost_usd)}"
    models = [f"{model} ${cost:.4f}" for model, cost in totals.cost_by_model.items() if cost]
    return line + (f"\n      by model: {', '.join(models)}" if len(models) > 1 else "")
