"""Who an API caller is, and the names an allowlist may use for them."""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.control.principals import Principal, decider_refusal, local_principal
from agent.errors import ConfigError

SSO_ROLE = (
    "arn:aws:sts::123456789012:assumed-role/"
    "AWSReservedSSO_ReleaseApprovers_0123456789abcdef/ada.lovelace@example.com"
)


def test_an_iam_caller_is_named_by_its_role_or_user() -> None:
    assert Principal.iam(SSO_ROLE).name == "AWSReservedSSO_ReleaseApprovers_0123456789abcdef"
    assert Principal.iam("arn:aws:iam::123456789012:role/ci/Deployer").name == "Deployer"
    assert Principal.iam("arn:aws:iam::123456789012:user/release-bot").name == "release-bot"
    assert Principal.iam("something-else").name == "something-else"


def test_an_allowlist_may_name_the_arn_or_the_role() -> None:
    caller = Principal.iam(SSO_ROLE)
    assert caller.is_named([SSO_ROLE])
    assert caller.is_named(["AWSReservedSSO_ReleaseApprovers_0123456789abcdef"])
    assert not caller.is_named(["ada.lovelace@example.com", "Deployer"])


def test_a_bearer_token_stands_for_its_name_and_nothing_else() -> None:
    tokens = {"tok-operator-0123456789": "operator", "tok-reviewer-0123456789": "reviewer"}
    reviewer = local_principal("Bearer tok-reviewer-0123456789", tokens)
    assert reviewer == Principal(id="token:reviewer", name="reviewer")
    assert local_principal("Bearer tok-reviewer", tokens) is None
    assert local_principal("tok-reviewer-0123456789", tokens) is None  # no "Bearer "


def test_the_caller_that_started_a_run_never_approves_it_unless_allowed() -> None:
    caller = Principal.local("ci")
    rules = {"allow_self_approval": False, "api_approvers": ()}
    assert "you started this run" in str(decider_refusal(caller, started_by="token:ci", **rules))
    assert decider_refusal(caller, started_by="token:other", **rules) is None
    allowed = {"allow_self_approval": True, "api_approvers": ()}
    assert decider_refusal(caller, started_by="token:ci", **allowed) is None
    only_reviewers = {"allow_self_approval": False, "api_approvers": ("reviewer",)}
    assert "API_APPROVERS" in str(decider_refusal(caller, started_by=None, **only_reviewers))


@pytest.mark.parametrize(
    ("raw", "named"),
    [("short=ci", "shorter than 16"), ("no-equals-sign-here", "token=name"), ("a" * 20 + "=", "")],
)
def test_malformed_local_tokens_stop_the_start(raw: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"SIGNOFF_API_TOKENS": raw})
    assert "SIGNOFF_API_TOKENS" in str(err.value) and named in str(err.value)
    assert "a" * 20 not in str(err.value)  # a token never shows in an error


def test_local_tokens_and_the_operators_are_all_known() -> None:
    settings = Settings.from_env(
        {"SIGNOFF_API_TOKEN": "operator-token-0123", "SIGNOFF_API_TOKENS": "t" * 20 + "=bot"}
    )
    assert settings.bearer_tokens() == {"t" * 20: "bot", "operator-token-0123": "operator"}
    assert "t" * 20 not in repr(settings)
