"""``when`` conditions: CEL over the call's args, the requester and the channel; a condition
that cannot be evaluated to a bool means the gate applies (fail closed)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.approvals.conditions import compile_condition

SANDBOX = 'args.channel != "C0SANDBOX"'


def applies(
    source: str, args: dict[str, Any], requester: str = "UALICE", channel: str | None = None
) -> bool:
    return compile_condition(source).evaluate(args=args, requester=requester, channel=channel)


def test_a_condition_over_args_decides_whether_the_gate_applies() -> None:
    assert applies(SANDBOX, {"channel": "CGENERAL", "text": "hi"}) is True
    assert applies(SANDBOX, {"channel": "C0SANDBOX", "text": "hi"}) is False


def test_a_condition_sees_the_requester_and_the_channel() -> None:
    source = 'requester != "ULEAD" && channel != null && channel.startsWith("C0PROD")'
    assert applies(source, {}, requester="UALICE", channel="C0PRODOPS") is True
    assert applies(source, {}, requester="ULEAD", channel="C0PRODOPS") is False
    assert applies(source, {}, requester="UALICE", channel=None) is False


def test_macros_lists_and_nested_arguments_work() -> None:
    source = 'args.recipients.exists(r, r.endsWith("@example.com")) || args.body.size > 1000'
    outside = {"recipients": ["a@other.org"], "body": {"size": 10}}
    assert applies(source, outside) is False
    assert applies(source, {**outside, "recipients": ["b@example.com"]}) is True


@pytest.mark.parametrize(
    "source",
    [
        "args.missing == 1",  # no such key
        "args.channel + 1 == 2",  # a string plus an int
        "1 / args.zero == 1",  # division by zero
        "args.channel",  # a string, not a bool
        "size(args.channel)",  # an int, not a bool
        "undefined_function(args) == true",  # no such function
    ],
)
def test_a_condition_that_fails_or_is_not_a_bool_means_the_gate_applies(source: str) -> None:
    assert applies(source, {"channel": "C0SANDBOX", "zero": 0}) is True


def test_a_syntax_error_is_refused_saying_where() -> None:
    with pytest.raises(ValueError, match=r"column 16: Syntax error: mismatched input '<EOF>'"):
        compile_condition("args.channel ==")


def test_a_misspelt_name_is_refused_naming_what_a_condition_sees() -> None:
    with pytest.raises(
        ValueError, match="unknown name 'arg': a condition sees args, requester, channel"
    ):
        compile_condition('arg.channel == "C1"')


def test_names_bound_by_a_macro_are_not_taken_for_typos() -> None:
    compile_condition("args.items.all(item, item > 0)")
    compile_condition("args.labels.all(key, value, value != '')")


def test_an_empty_condition_is_refused() -> None:
    with pytest.raises(ValueError, match="the condition is empty"):
        compile_condition("  ")


def test_a_compiled_condition_is_reused_for_the_same_source() -> None:
    assert compile_condition(SANDBOX) is compile_condition(SANDBOX)
