"""What a process builds at start: the approval policy is read and checked with the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.approvals.policy_file import PolicyError
from agent.config import Settings
from agent.deps import AgentDeps
from agent.tools import default_registry

REPO = Path(__file__).resolve().parents[2]


def test_the_agents_deps_carry_the_policy_signoff_policy_names() -> None:
    example = REPO / "signoff.toml.example"
    settings = Settings(
        llm_provider="offline", policy_path=str(example), variables={"DEMO_MCP_TOKEN": "t"}
    )
    deps = AgentDeps.from_settings(settings)
    policy = deps.policy.current()
    assert policy.source == str(example)
    assert set(policy.tools) == {
        "post_slack_message",
        "http_job",
        "export_log_group",
        "mcp__demo__create_ticket",
    }
    assert deps.mcp is not None and [s.name for s in deps.mcp.servers] == ["demo"]


def test_an_unset_variable_of_an_mcp_server_stops_the_start_naming_it() -> None:
    example = REPO / "signoff.toml.example"
    with pytest.raises(PolicyError, match=r"\[mcp.servers.demo\] headers: .*DEMO_MCP_TOKEN"):
        AgentDeps.from_settings(Settings(llm_provider="offline", policy_path=str(example)))


def test_the_policy_knows_the_tools_of_the_registry_it_is_built_with(tmp_path: Path) -> None:
    path = tmp_path / "signoff.toml"
    path.write_text("[gates.tools.post_slack_message]\nrequired = 2\n")
    registry = default_registry()
    AgentDeps.from_settings(Settings(llm_provider="offline", policy_path=str(path)), tools=registry)
    bare = type(registry)()
    with pytest.raises(PolicyError, match="there is no tool 'post_slack_message'"):
        AgentDeps.from_settings(Settings(llm_provider="offline", policy_path=str(path)), tools=bare)


def test_settings_read_signoff_policy() -> None:
    assert Settings.from_env({"SIGNOFF_POLICY": "/etc/signoff.toml"}).policy_path == (
        "/etc/signoff.toml"
    )
    assert Settings.from_env({}).policy_path is None
