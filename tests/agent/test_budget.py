"""A run's spending cap: what counts as spent, and when the cap is reached."""

import pytest

from agent.budget import Budget, Spent, describe_budget

TURN = {
    "model": "claude-sonnet-5-5",
    "input_tokens": 1_000_000,
    "output_tokens": 100_000,
    "cache_read_input_tokens": 500_000,
    "cache_creation_input_tokens": 0,
}


def test_spent_counts_every_token_kind_and_prices_them() -> None:
    spent = Spent().plus(TURN).plus(TURN)
    assert spent.tokens == 3_200_000
    assert spent.usd == pytest.approx(2 * (2.0 + 1.0 + 0.1))  # input, output, cache reads


def test_each_go_ahead_adds_one_more_budget() -> None:
    budget = Budget(usd=5.0)
    assert not budget.reached(Spent(usd=4.99, tokens=10**9), grants=0)
    assert budget.reached(Spent(usd=5.0, tokens=0), grants=0)
    assert not budget.reached(Spent(usd=9.99, tokens=0), grants=1)
    assert budget.reached(Spent(usd=10.0, tokens=0), grants=1)


def test_either_cap_stops_and_zero_means_no_cap() -> None:
    both = Budget(usd=5.0, tokens=1_000)
    assert both.reached(Spent(usd=0.0, tokens=1_000), grants=0)
    assert not Budget().reached(Spent(usd=1e6, tokens=10**12), grants=0)
    assert describe_budget(both) == "$5.00 or 1,000 tokens"
    assert describe_budget(Budget()) == "no cap"


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Budget(usd=-1.0)
