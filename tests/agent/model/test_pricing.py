"""The token and cost ledger: prices by model, cache writes by TTL, totals per model."""

from __future__ import annotations

import pytest

from agent.model.offline import MODEL_ID as OFFLINE_MODEL
from agent.model.pricing import UNKNOWN_MODEL, describe_usage, ledger, rates_for, turn_cost


def test_models_are_priced_by_their_own_row_not_a_shorter_one() -> None:
    assert rates_for("claude-sonnet-5-5").input == 2.0
    assert rates_for("claude-opus-5-5").output == 20.0
    assert rates_for("claude-opus-5").input == 5.0
    assert rates_for("claude-opus-4-1").input == 15.0
    assert rates_for("claude-opus-4-8").input == 5.0
    assert rates_for("us.anthropic.claude-haiku-4-5-20251001-v1:0").output == 5.0


def test_an_unknown_model_is_never_cheaper_than_any_known_one() -> None:
    assert rates_for("claude-something-new") == UNKNOWN_MODEL
    assert UNKNOWN_MODEL.output >= rates_for("claude-fable-5-1").output


def test_a_turn_costs_each_kind_of_token_at_its_rate() -> None:
    usage = {
        "input_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "cache_read_input_tokens": 1_000_000,
        "cache_creation_input_tokens": 3_000_000,
        "cache_creation_1h_input_tokens": 1_000_000,
    }
    # sonnet 5.5: 2 in + 10 out + 0.2 read + 2 x 2.5 (5 m writes) + 4 (1 h write)
    assert turn_cost("claude-sonnet-5-5", usage) == pytest.approx(2 + 10 + 0.2 + 5 + 4)


def test_the_offline_model_costs_nothing() -> None:
    assert turn_cost(OFFLINE_MODEL, {"input_tokens": 5000, "output_tokens": 900}) == 0


def test_ledger_sums_per_model_and_in_dollars() -> None:
    turns = [
        {"model": "claude-sonnet-5-5", "input_tokens": 1000, "output_tokens": 100},
        {"model": "claude-sonnet-5-5", "input_tokens": 10, "cache_read_input_tokens": 990},
        {"model": "claude-haiku-4-5", "input_tokens": 500, "output_tokens": 50},
    ]
    result = ledger(turns)
    sonnet = result["models"]["claude-sonnet-5-5"]
    assert sonnet["turns"] == 2
    assert sonnet["input_tokens"] == 1010
    assert sonnet["cache_read_input_tokens"] == 990
    expected = sum(turn_cost(str(t["model"]), t) for t in turns)
    assert result["cost_usd"] == pytest.approx(expected, abs=1e-6)


def test_usage_line_counts_every_input_token_once() -> None:
    total = {
        "input_tokens": 300,
        "cache_read_input_tokens": 9_800,
        "cache_creation_input_tokens": 2_200,
        "output_tokens": 1_200,
    }
    line = describe_usage(total, 0.05412)
    assert line == "12,300 tokens in (9,800 from cache) · 1,200 out · $0.0541"
