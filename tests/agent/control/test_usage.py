"""Usage reports: parsing the command, summing run records, who may look."""

import pytest

from agent.approvals.authz import may_see_usage_of
from agent.control.usage import UsageTotals, summarise, usage_line
from slack_app.commands import Start, Usage, parse_command

RUN = {
    "usage": {"input_tokens": 1000, "output_tokens": 200, "cache_read_input_tokens": 3000},
    "usage_by_model": {
        "claude-sonnet-5-5": {"cost_usd": 0.25},
        "claude-haiku-4-5": {"cost_usd": 0.01},
    },
    "cost_usd": 0.26,
}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("usage", Usage(None, 30)),
        ("usage 7", Usage(None, 7)),
        ("usage <@U123|bob>", Usage("U123", 30)),
        ("usage <#C999|general> 90", Usage("C999", 90)),
        ("usage 0", Start("usage 0")),
        ("usage report for the db", Start("usage report for the db")),
        ("usage <@U1> <@U2>", Start("usage <@U1> <@U2>")),
        ("usage @bob", Usage("@bob", 30)),  # as typed, when Slack did not escape it
        ("usage #general 7", Usage("#general", 7)),
        ("usage @bob #general", Start("usage @bob #general")),
        ("draft a &lt;b&gt; &amp; c", Start("draft a <b> & c")),  # Slack's entities, undone
    ],
)
def test_usage_options_or_else_a_task(text: str, parsed: object) -> None:
    assert parse_command(text) == parsed


def test_a_name_needs_looking_up_an_id_does_not() -> None:
    assert Usage("@bob", 30).needs_lookup and Usage("#general", 30).needs_lookup
    assert not Usage("U123", 30).needs_lookup and not Usage(None, 30).needs_lookup


def test_runs_are_summed_by_kind_and_model() -> None:
    totals = summarise([RUN, RUN, {"run_id": "no usage yet"}])
    assert totals.runs == 3
    assert totals.tokens["cache_read_input_tokens"] == 6000
    assert totals.cost_usd == pytest.approx(0.52)
    assert totals.cost_by_model == {"claude-haiku-4-5": 0.02, "claude-sonnet-5-5": 0.5}
    line = usage_line("You", totals)
    assert line.startswith("You: 3 runs · 8,000 tokens in (6,000 from cache) · 400 out · $0.5200")
    assert "claude-haiku-4-5 $0.0200" in line


def test_a_capped_report_says_at_least_and_an_empty_one_says_none() -> None:
    assert "at least 1 run " in usage_line("You", summarise([RUN], partial=True))
    assert usage_line("#eng", UsageTotals()) == "#eng: no runs"


def test_own_and_channel_usage_for_all_other_people_for_approvers() -> None:
    assert may_see_usage_of("U1", "U1", ["U9"])
    assert may_see_usage_of("U1", "C5", ["U9"])
    assert not may_see_usage_of("U1", "U2", ["U9"])
    assert may_see_usage_of("U9", "U2", ["U9"])
    assert may_see_usage_of("U3", "U2", ["S1"], group_members=["U3"])
    assert may_see_usage_of("U1", "U2", [])  # no approvers: every member may decide
