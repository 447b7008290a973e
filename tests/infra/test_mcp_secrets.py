"""The MCP servers' secrets: the bundled policy file's ``${NAME}``s become one Secrets Manager
secret each, whose ARN only the agent gets (as ``NAME_SECRET_ARN``) and only the agent reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.secrets import ARN_SUFFIX
from infra.mcp_secrets import mcp_secret_names
from infra.settings import SettingsError
from tests.infra.conftest import Synthesized, SynthFactory, write_stub_bundles
from tests.infra.test_iam import _flatten, statements_by_role

MCP_POLICY = """
[mcp.servers.tickets]
url = "https://tickets.example.com/mcp"
headers = { Authorization = "Bearer ${TICKETS_TOKEN}" }

[mcp.servers.crm]
url = "https://crm.example.com/mcp"
headers = { Authorization = "Bearer ${CRM_TOKEN}", X-Tenant = "${CRM_TENANT}-eu" }

[mcp.servers.wiki]
url = "https://wiki.example.com/mcp"
headers = { X-Api-Key = "${TICKETS_TOKEN}" }

[gates.tools.mcp__tickets__create_ticket]
required = 2
"""
NAMES = ("CRM_TENANT", "CRM_TOKEN", "TICKETS_TOKEN")
READ = "secretsmanager:GetSecretValue"


@pytest.fixture(scope="module")
def with_mcp(synth: SynthFactory, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    bundles = write_stub_bundles(tmp_path_factory.mktemp("mcp-bundles"), MCP_POLICY)
    return synth({"bundle_dir": str(bundles)})


def secrets_read_by(synth: Synthesized, role: object) -> set[str]:
    return {r for a, r, _ in _flatten(statements_by_role(synth)[synth.lid(role)]) if a == READ}


def test_each_header_variable_gets_one_secret_that_only_the_agent_reads(
    with_mcp: Synthesized, default: Synthesized
) -> None:
    stack = with_mcp.stack
    assert stack.mcp_secret_names == NAMES  # TICKETS_TOKEN, used twice, is one secret
    secrets = with_mcp.resources("AWS::SecretsManager::Secret")
    names = {s["Properties"]["Name"] for s in secrets.values()}
    assert names == {
        "signoff/slack-bot-token",
        "signoff/slack-signing-secret",
        "signoff/anthropic-api-key",
        "signoff/mcp/crm-tenant",
        "signoff/mcp/crm-token",
        "signoff/mcp/tickets-token",
    }
    for name in NAMES:
        secret = with_mcp.json["Resources"][with_mcp.lid(stack.secrets[name])]
        assert secret["DeletionPolicy"] == "Retain"  # a redeploy never loses a filled secret
    agent_env = with_mcp.json["Resources"][with_mcp.lid(stack.agent.function)]["Properties"][
        "Environment"
    ]["Variables"]
    for name in NAMES:
        assert agent_env[name + ARN_SUFFIX] == {"Ref": with_mcp.lid(stack.secrets[name])}
        assert name not in agent_env  # the value is read at cold start, never in the template
    mcp_arns = {f"<{with_mcp.lid(stack.secrets[n])}>" for n in NAMES}
    assert mcp_arns <= secrets_read_by(with_mcp, stack.agent.role)
    for other in (stack.slack, stack.api):
        assert not mcp_arns & secrets_read_by(with_mcp, other.role)
        env = with_mcp.json["Resources"][with_mcp.lid(other.function)]["Properties"]
        assert not any(n + ARN_SUFFIX in env["Environment"]["Variables"] for n in NAMES)
    # Without MCP headers in the bundled file, the stack is as it was.
    assert default.stack.mcp_secret_names == ()
    assert len(default.resources("AWS::SecretsManager::Secret")) == 3


def test_each_secret_has_an_output_naming_it_for_put_secret_value(with_mcp: Synthesized) -> None:
    outputs = {
        o["Value"]: o["Description"]
        for o in with_mcp.json["Outputs"].values()
        if isinstance(o["Value"], str)
    }
    assert "TICKETS_TOKEN" in outputs["signoff/mcp/tickets-token"]
    assert "put-secret-value" in outputs["signoff/mcp/crm-tenant"]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Bearer ${SLACK_BOT_TOKEN}", "signoff's own credential and would be sent"),
        ("${SIGNOFF_TABLE}", "a setting the stack gives the agent"),
        ("${AWS_SECRET_ACCESS_KEY}", "are Lambda's"),
    ],
)
def test_a_name_the_agent_already_has_is_refused_naming_it(
    tmp_path: Path, header: str, problem: str
) -> None:
    policy = tmp_path / "signoff.toml"
    policy.write_text(f'[mcp.servers.t]\nurl = "https://h/mcp"\nheaders = {{ X = "{header}" }}\n')
    with pytest.raises(SettingsError, match=problem) as raised:
        mcp_secret_names(policy, taken={"SIGNOFF_TABLE"})
    assert str(policy) in str(raised.value)


def test_names_that_differ_only_in_case_and_a_file_that_does_not_parse_are_refused(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "signoff.toml"
    policy.write_text(
        '[mcp.servers.t]\nurl = "https://h/mcp"\nheaders = { A = "${tok}", B = "${TOK}" }\n'
    )
    with pytest.raises(SettingsError, match=r"\$\{TOK\} and \$\{tok\} differ only in case"):
        mcp_secret_names(policy, taken=())
    policy.write_text("[mcp.servers.t\n")
    with pytest.raises(SettingsError, match="the bundled policy file does not parse"):
        mcp_secret_names(policy, taken=())
    assert mcp_secret_names(tmp_path / "absent.toml", taken=()) == ()
