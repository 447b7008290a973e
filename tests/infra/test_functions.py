"""The three functions: durable config, alias and versions, runtime, handlers, environment."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from agent.config import (
    DEFAULT_MODEL,
    ENV_AGENT_FUNCTION,
    ENV_AGENT_MODEL,
    ENV_APPROVAL_TIMEOUT,
    ENV_APPROVERS,
    ENV_BUCKET,
    ENV_BUDGET_USD,
    ENV_LLM_PROVIDER,
    ENV_SLASH_COMMAND,
    ENV_TABLE,
)
from agent.secrets import ARN_SUFFIX, SECRET_NAMES
from infra.bundles import BUNDLES, LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION
from infra.stack import AGENT_ALIAS
from tests.infra.conftest import BEDROCK_PROFILE, POLICY_FILE_NAME, STUB_POLICY, Synthesized


def _function(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.json["Resources"][synth.lid(construct)]["Properties"]  # type: ignore[no-any-return]


def _env(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return _function(synth, construct)["Environment"]["Variables"]  # type: ignore[no-any-return]


def test_agent_is_durable_for_seven_days_and_keeps_history_fourteen(default: Synthesized) -> None:
    default.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "agent.handler.handler",
            "DurableConfig": {"ExecutionTimeout": 7 * 24 * 3600, "RetentionPeriodInDays": 14},
        },
    )


def test_durable_timeout_and_retention_come_from_context(bedrock: Synthesized) -> None:
    durable = _function(bedrock, bedrock.stack.agent.function)["DurableConfig"]
    assert durable == {"ExecutionTimeout": 30 * 24 * 3600, "RetentionPeriodInDays": 30}
    assert _env(bedrock, bedrock.stack.agent.function)[ENV_APPROVAL_TIMEOUT] == str(240 * 3600)


def test_only_the_agent_is_durable(default: Synthesized) -> None:
    durable = [
        key
        for key, fn in default.resources("AWS::Lambda::Function").items()
        if "DurableConfig" in fn["Properties"]
    ]
    assert durable == [default.lid(default.stack.agent.function)]


def test_agent_alias_points_at_the_published_version(default: Synthesized) -> None:
    # The version's logical id carries a hash of the code and config (a new one per change).
    (version_id,) = default.resources("AWS::Lambda::Version")
    default.template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": AGENT_ALIAS,
            "FunctionName": {"Ref": default.lid(default.stack.agent.function)},
            "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
        },
    )


def test_old_agent_versions_are_retained_for_runs_in_flight(default: Synthesized) -> None:
    # A new deploy replaces the Version resource; deleting the old one would strand every
    # run still replaying on it.
    versions = default.resources("AWS::Lambda::Version")
    assert len(versions) == 1
    (version,) = versions.values()
    assert version["DeletionPolicy"] == "Retain"
    assert version["UpdateReplacePolicy"] == "Retain"


def test_every_function_runs_the_bundles_python_and_platform(default: Synthesized) -> None:
    arch = "x86_64" if LAMBDA_PLATFORM.endswith("x86_64") else "arm64"
    for fn in default.resources("AWS::Lambda::Function").values():
        assert fn["Properties"]["Runtime"] == f"python{LAMBDA_PYTHON_VERSION}"
        assert fn["Properties"]["Architectures"] == [arch]


def test_handlers_are_the_bundles_handlers(default: Synthesized) -> None:
    stack = default.stack
    for parts, bundle in ((stack.agent, "agent"), (stack.slack, "slack"), (stack.api, "api")):
        assert _function(default, parts.function)["Handler"] == BUNDLES[bundle].handler


def test_slack_and_api_start_runs_on_the_alias_by_qualified_name(default: Synthesized) -> None:
    qualified = {"Fn::Join": ["", [{"Ref": default.lid(default.stack.agent.function)}, ":live"]]}
    for parts in (default.stack.slack, default.stack.api):
        assert _env(default, parts.function)[ENV_AGENT_FUNCTION] == qualified


def test_agent_environment_names_come_from_agent_config(default: Synthesized) -> None:
    stack = default.stack
    env = _env(default, stack.agent.function)
    assert env[ENV_LLM_PROVIDER] == "anthropic"
    assert env[ENV_AGENT_MODEL] == DEFAULT_MODEL
    assert env[ENV_TABLE] == {"Ref": default.lid(stack.table)}
    assert env[ENV_BUCKET] == {"Ref": default.lid(stack.bucket)}
    assert env[ENV_SLASH_COMMAND] == "/agent"
    assert env[ENV_APPROVAL_TIMEOUT] == str(48 * 3600)
    assert env[ENV_BUDGET_USD] == "5.0"


def test_the_run_budget_comes_from_context(bedrock: Synthesized) -> None:
    assert _env(bedrock, bedrock.stack.agent.function)[ENV_BUDGET_USD] == "2.5"


def test_secrets_reach_functions_as_arns_never_values(default: Synthesized) -> None:
    expected = {
        default.stack.agent: {"SLACK_BOT_TOKEN", "ANTHROPIC_API_KEY"},
        default.stack.slack: {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"},
        default.stack.api: {"SLACK_BOT_TOKEN"},
    }
    for parts, names in expected.items():
        env = _env(default, parts.function)
        assert not set(SECRET_NAMES) & set(env), "a secret value must never be in env"
        arn_vars = {key for key in env if key.endswith(ARN_SUFFIX)}
        assert arn_vars == {name + ARN_SUFFIX for name in names}
        for name in names:
            secret = default.stack.secrets[name]
            assert env[name + ARN_SUFFIX] == {"Ref": default.lid(secret)}


def test_bedrock_runs_use_the_profile_id_and_no_anthropic_key(bedrock: Synthesized) -> None:
    env = _env(bedrock, bedrock.stack.agent.function)
    assert env[ENV_LLM_PROVIDER] == "bedrock"
    assert env[ENV_AGENT_MODEL] == BEDROCK_PROFILE
    assert env[ENV_APPROVERS] == "U111 S222"
    assert "ANTHROPIC_API_KEY" + ARN_SUFFIX not in env
    assert "ANTHROPIC_API_KEY" not in bedrock.stack.secrets
    bedrock.template.resource_count_is("AWS::SecretsManager::Secret", 2)


def test_slack_function_has_the_fixed_name_its_self_invoke_grant_uses(
    default: Synthesized,
) -> None:
    assert _function(default, default.stack.slack.function)["FunctionName"] == "signoff-slack"
    # The agent and the API keep generated names (a fixed name blocks replacement).
    assert "FunctionName" not in _function(default, default.stack.agent.function)
    assert "FunctionName" not in _function(default, default.stack.api.function)


def test_every_function_logs_json_to_its_own_group_with_retention(default: Synthesized) -> None:
    for parts in (default.stack.agent, default.stack.slack, default.stack.api):
        logging = _function(default, parts.function)["LoggingConfig"]
        assert logging["LogGroup"] == {"Ref": default.lid(parts.log_group)}
        assert logging["LogFormat"] == "JSON"
    default.template.all_resources_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()}
    )
    for group in default.resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30


def test_every_function_deploys_the_policy_file_its_bundle_carries(default: Synthesized) -> None:
    for parts in (default.stack.agent, default.stack.slack, default.stack.api):
        asset = _function(default, parts.function)["Code"]["S3Key"].removesuffix(".zip")
        staged = default.directory / f"asset.{asset}"
        assert (staged / POLICY_FILE_NAME).read_text() == STUB_POLICY


def test_the_slack_and_api_functions_check_the_policy_with_the_agents_settings(
    default: Synthesized,
) -> None:
    agent = _env(default, default.stack.agent.function)
    for parts in (default.stack.slack, default.stack.api):
        env = _env(default, parts.function)
        assert env[ENV_APPROVAL_TIMEOUT] == agent[ENV_APPROVAL_TIMEOUT]
        assert env[ENV_APPROVERS] == agent[ENV_APPROVERS]
