"""Settings: read once, validated, secrets never shown."""

import pytest

from agent.config import DEFAULT_MODEL, Settings
from agent.errors import ConfigError


def test_without_an_api_key_the_offline_model_is_used() -> None:
    settings = Settings.from_env({})
    assert settings.llm_provider == "offline"
    assert settings.model == DEFAULT_MODEL


def test_an_api_key_selects_claude_and_never_shows_in_repr() -> None:
    settings = Settings.from_env({"ANTHROPIC_API_KEY": "sk-ant-secret-value"})
    assert settings.llm_provider == "anthropic"
    assert "sk-ant-secret-value" not in repr(settings)


def test_runs_pause_at_five_dollars_unless_configured() -> None:
    assert Settings.from_env({}).budget_usd == 5.0
    configured = Settings.from_env({"AGENT_BUDGET_USD": "0.5", "AGENT_BUDGET_TOKENS": "90000"})
    assert (configured.budget_usd, configured.budget_tokens) == (0.5, 90_000)


def test_log_exports_are_off_until_buckets_and_log_groups_are_named() -> None:
    assert Settings.from_env({}).export_buckets == ()
    settings = Settings.from_env(
        {
            "SIGNOFF_EXPORT_BUCKETS": "audit-exports, archive.logs",
            "SIGNOFF_EXPORT_LOG_GROUPS": "/aws/lambda/* /ecs/checkout",
        }
    )
    assert settings.export_buckets == ("audit-exports", "archive.logs")
    assert settings.export_log_groups == ("/aws/lambda/*", "/ecs/checkout")


def test_approvers_are_split_once() -> None:
    settings = Settings.from_env({"APPROVERS": "U123, S456 W789"})
    assert settings.approvers == ("U123", "S456", "W789")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LLM_PROVIDER": "gpt"}, "LLM_PROVIDER"),
        ({"LLM_PROVIDER": "anthropic"}, "ANTHROPIC_API_KEY"),
        ({"AGENT_MAX_TURNS": "many"}, "AGENT_MAX_TURNS"),
        ({"AGENT_MAX_TURNS": "0"}, "AGENT_MAX_TURNS"),
        ({"APPROVERS": "alice"}, "APPROVERS"),
        ({"APPROVERS": "UBOB Ubob"}, "APPROVERS"),
        ({"APPROVERS": "U-1"}, "APPROVERS"),
        ({"ALLOW_SELF_APPROVAL": "maybe"}, "ALLOW_SELF_APPROVAL"),
        ({"SLASH_COMMAND": "agent"}, "SLASH_COMMAND"),
        ({"AGENT_BUDGET_USD": "five"}, "AGENT_BUDGET_USD"),
        ({"AGENT_BUDGET_USD": "-1"}, "AGENT_BUDGET_USD"),
        ({"AGENT_BUDGET_TOKENS": "1.5"}, "AGENT_BUDGET_TOKENS"),
        ({"SIGNOFF_CLAIM_LEASE_SECONDS": "0"}, "SIGNOFF_CLAIM_LEASE_SECONDS"),
        ({"SIGNOFF_PUBLIC_URL": "api.example.com"}, "SIGNOFF_PUBLIC_URL"),
        ({"SLACK_API_URL": "localhost:3000/api/"}, "SLACK_API_URL"),
        ({"ANTHROPIC_BASE_URL": "https://"}, "ANTHROPIC_BASE_URL"),
        ({"SIGNOFF_TABLE": "runs table"}, "SIGNOFF_TABLE"),
        ({"SIGNOFF_EXPORT_BUCKETS": "Audit_Exports"}, "SIGNOFF_EXPORT_BUCKETS"),
        ({"SIGNOFF_EXPORT_LOG_GROUPS": "/aws/*/checkout"}, "SIGNOFF_EXPORT_LOG_GROUPS"),
        ({"SIGNOFF_EXPORT_LOG_GROUPS": "/aws/lambda/checkout?"}, "SIGNOFF_EXPORT_LOG_GROUPS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
