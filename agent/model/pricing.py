"""What a run's tokens cost, from a price table kept in code (pure).

Dollars per million tokens, from Anthropic's pricing page
(https://platform.claude.com/docs/en/about-claude/pricing) and the model overview pages
(https://platform.claude.com/docs/about-claude/models/whats-new-opus-5) as of 2026-11. Where
the pages list a model's input and output prices but not its cache prices (the 5.5 models),
the documented multipliers apply: a 5-minute cache write costs 1.25x input, a 1-hour write
2x, a cache read 0.1x. A model missing from the table is priced at the dearest rate in it, so
a ledger never understates what a run cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rates:
    """Dollars per million tokens of each kind."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    @classmethod
    def standard(cls, input: float, output: float) -> Rates:
        """Rates with the documented cache multipliers."""
        return cls(input, output, input * 1.25, input * 2, input * 0.1)


# Model id fragment -> rates; the first fragment a model id contains wins (longest first).
PRICES: tuple[tuple[str, Rates], ...] = (
    ("offline", Rates(0.0, 0.0, 0.0, 0.0, 0.0)),  # agent.model.offline: runs on this machine
    ("fable-5-1", Rates(10.0, 50.0, 12.5, 20.0, 0.25)),
    ("mythos-5-1", Rates(10.0, 50.0, 12.5, 20.0, 0.25)),
    ("fable-5", Rates(10.0, 50.0, 12.5, 20.0, 1.0)),
    ("mythos-5", Rates(10.0, 50.0, 12.5, 20.0, 1.0)),
    ("opus-5-5", Rates.standard(4.0, 20.0)),
    ("sonnet-5-5", Rates.standard(2.0, 10.0)),
    ("haiku-5-5", Rates.standard(0.10, 0.50)),
    ("opus-5", Rates(5.0, 25.0, 6.25, 10.0, 0.50)),
    ("sonnet-5", Rates.standard(2.0, 10.0)),
    ("opus-4-1", Rates(15.0, 75.0, 18.75, 30.0, 1.50)),
    ("opus-4-0", Rates(15.0, 75.0, 18.75, 30.0, 1.50)),
    ("opus-4", Rates(5.0, 25.0, 6.25, 10.0, 0.50)),  # 4.5 to 4.8
    ("sonnet-4", Rates(3.0, 15.0, 3.75, 6.0, 0.30)),
    ("haiku-4-5", Rates(1.0, 5.0, 1.25, 2.0, 0.10)),
)
TOKEN_KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_1h_input_tokens",
)
UNKNOWN_MODEL = max((rates for _, rates in PRICES), key=lambda rates: rates.output)


def rates_for(model: str) -> Rates:
    """The rates for a model id (``claude-sonnet-5-5``, ``us.anthropic.claude-opus-4-8-v1``)."""
    name = model.lower()
    return next((rates for fragment, rates in PRICES if fragment in name), UNKNOWN_MODEL)


def turn_cost(model: str, usage: Mapping[str, Any]) -> float:
    """Dollars for one model turn's usage; cache writes split by TTL when the API said so."""
    rates = rates_for(model)
    written_1h = int(usage.get("cache_creation_1h_input_tokens", 0))
    written_5m = int(usage.get("cache_creation_input_tokens", 0)) - written_1h
    dollars = (
        int(usage.get("input_tokens", 0)) * rates.input
        + written_5m * rates.cache_write_5m
        + written_1h * rates.cache_write_1h
        + int(usage.get("cache_read_input_tokens", 0)) * rates.cache_read
        + int(usage.get("output_tokens", 0)) * rates.output
    )
    return dollars / 1_000_000


def ledger(turns: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Tokens and cost per model, and the run's cost, from its per-turn usage records."""
    by_model: dict[str, dict[str, Any]] = {}
    for turn in turns:
        model = str(turn.get("model") or "unknown")
        entry = by_model.setdefault(
            model, dict.fromkeys(TOKEN_KINDS, 0) | {"turns": 0, "cost_usd": 0.0}
        )
        for key in TOKEN_KINDS:
            entry[key] += int(turn.get(key, 0))
        entry["turns"] += 1
        entry["cost_usd"] += turn_cost(model, turn)
    cost = round(sum(e["cost_usd"] for e in by_model.values()), 6)
    for entry in by_model.values():
        entry["cost_usd"] = round(entry["cost_usd"], 6)
    return {"models": by_model, "cost_usd": cost}


def total_tokens(turns: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Tokens of each kind summed over per-turn usage records."""
    turns = list(turns)
    return {kind: sum(int(turn.get(kind, 0)) for turn in turns) for kind in TOKEN_KINDS}


def spending(turns: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A run's record of what it spent: ``usage`` (tokens), ``usage_by_model``, ``cost_usd``."""
    turns = list(turns)
    costs = ledger(turns)
    return {
        "usage": total_tokens(turns),
        "usage_by_model": costs["models"],
        "cost_usd": costs["cost_usd"],
    }


def describe_usage(total: Mapping[str, Any], cost_usd: float) -> str:
    """One line for people: ``12,300 tokens in (9,800 from cache) · 1,200 out · $0.0541``."""
    cached = int(total.get("cache_read_input_tokens", 0))
    tokens_in = int(total.get("input_tokens", 0)) + cached
    tokens_in += int(total.get("cache_creation_input_tokens", 0))
    out = int(total.get("output_tokens", 0))
    return f"{tokens_in:,} tokens in ({cached:,} from cache) · {out:,} out · ${cost_usd:.4f}"
