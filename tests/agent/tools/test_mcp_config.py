"""The policy file's [mcp.servers] tables: checked at start, each problem naming the file, the
table and the key; ${NAME} read from the environment and never shown."""

from __future__ import annotations

import tomllib

import pytest

from agent.approvals.policy_file import PolicyError, parse_policy
from agent.approvals.rules import environment_policy
from agent.secrets import header_variables
from agent.tools.mcp.config import parse_servers

GOOD = """
[mcp.servers.tickets]
url = "https://tickets.example.com/mcp"
headers = { Authorization = "Bearer ${TICKETS_TOKEN}" }
tools = ["create_ticket", "list_tickets"]
timeout = "45s"

[gates.tools.mcp__tickets__create_ticket]
required = 2
approvers = ["UADA", "UBOB"]
"""


def servers(text: str, **variables: str):  # type: ignore[no-untyped-def]
    return parse_servers(tomllib.loads(text), source="signoff.toml", variables=variables)


def test_a_server_reads_its_url_headers_allowlist_and_timeout_and_hides_its_secret() -> None:
    (server,) = servers(GOOD, TICKETS_TOKEN="s3cret")
    assert server.url == "https://tickets.example.com/mcp"
    assert server.headers == {"Authorization": "Bearer s3cret"}
    assert server.tools == ("create_ticket", "list_tickets")
    assert server.timeout_seconds == 45
    assert "s3cret" not in repr(server)
    assert server.tool_name("create_ticket") == "mcp__tickets__create_ticket"
    assert header_variables(tomllib.loads(GOOD)) == ["TICKETS_TOKEN"]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('url = "ftp://x/mcp"', "[mcp.servers.t] url: must be an http(s) URL"),
        ('url = "http://tickets.example.com/mcp"', "[mcp.servers.t] url: must use https"),
        (
            'url = "https://h/mcp"\nheaders = { X = "${NOPE}" }',
            "headers: X uses ${NOPE}, which is not set",
        ),
        ('url = "https://h/mcp"\ntimeout = "soon"', "[mcp.servers.t] timeout: must be a duration"),
        ('url = "https://h/mcp"\ntools = ["bad name"]', "a tool name holds only letters"),
        ('url = "https://h/mcp"\ntools = ["' + "x" * 60 + '"]', "at most 64"),
        ('url = "https://h/mcp"\nretries = 3', "[mcp.servers.t] retries: unknown key"),
        ("", "[mcp.servers.t] url: is needed"),
    ],
)
def test_each_problem_names_the_file_the_table_and_the_key(table: str, problem: str) -> None:
    with pytest.raises(PolicyError) as raised:
        servers(f"[mcp.servers.t]\n{table}\n")
    assert any(
        line.startswith("signoff.toml: ") and problem in line for line in raised.value.problems
    )


def test_a_gate_table_for_an_unknown_server_stops_the_start_naming_it() -> None:
    base = environment_policy(approvers=("UADA",), deadline_seconds=600, allow_self_approval=False)
    policy = parse_policy(
        GOOD.encode(), source="signoff.toml", base=base, tool_names=[], mcp_servers=["tickets"]
    )
    assert policy.tools["mcp__tickets__create_ticket"].rule.required == 2
    with pytest.raises(
        PolicyError, match=r"\[gates.tools.mcp__crm__x\]: there is no MCP server 'crm'"
    ):
        parse_policy(
            b"[gates.tools.mcp__crm__x]\nrequired = 1\n",
            source="signoff.toml",
            base=base,
            tool_names=[],
            mcp_servers=["tickets"],
        )
