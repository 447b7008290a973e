"""The decision payload: one definition for the Slack app, the API and the agent."""

import pytest

from agent.approvals.decisions import Approve, Edit, InvalidDecision, Reject, parse_decision

WHO = {"decider": {"id": "U9", "name": "Ada"}, "at": "2026-11-23T10:00:00+00:00"}


def test_each_kind_parses_to_its_class() -> None:
    assert isinstance(parse_decision({"decision": "approve", **WHO}), Approve)
    raw = '{"decision": "reject", "reason": "no", "decider": {"id": "U9", "name": "A"}, "at": "x"}'
    assert isinstance(parse_decision(raw), Reject)
    edit = parse_decision({"decision": "edit", "text": "better", **WHO})
    assert isinstance(edit, Edit) and edit.text == "better"


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"decision": "reject", **WHO}, "reason"),
        ({"decision": "revise", "feedback": "", **WHO}, "feedback"),
        ({"decision": "edit", **WHO}, "either text or arguments"),
        ({"decision": "maybe", **WHO}, "decision"),
        ({"decision": "approve", "extra": 1, **WHO}, "extra"),
    ],
)
def test_invalid_payloads_name_the_problem(payload: dict, named: str) -> None:
    with pytest.raises(InvalidDecision, match=named):
        parse_decision(payload)


def test_non_json_is_rejected_clearly() -> None:
    with pytest.raises(InvalidDecision, match="not JSON"):
        parse_decision("{nope")
