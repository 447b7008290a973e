"""The policy file's ``[mcp.servers.<name>]`` tables: which MCP servers a run may use.

Read once at start, with the same ``file: [table] key: message`` problems as the gates, so a
bad URL or an unset ``${NAME}`` stops the start. Header values are resolved from the
environment (in AWS, each ``${NAME}`` is a Secrets Manager secret read at cold start) and
never shown: a server's repr, the listing and every checkpoint leave them out.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.approvals.policy_file import DURATION, UNIT_SECONDS, PolicyError
from agent.secrets import VARIABLE

PREFIX = "mcp__"
SERVER_KEYS = ("url", "headers", "tools", "timeout")
# Server and tool parts of mcp__<server>__<tool>; "__" would make the name ambiguous.
SERVER_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]|_(?!_))*")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")
NAME_LIMIT = 64  # the Messages API's tool names: ^[a-zA-Z0-9_-]{1,64}$
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_TIMEOUT_SECONDS = 30
MAX_TIMEOUT_SECONDS = 15 * 60  # a Lambda invocation's limit


@dataclass(frozen=True, kw_only=True)
class McpServer:
    """One server: its Streamable HTTP endpoint, headers (secret), allowlist and timeout."""

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    tools: tuple[str, ...] | None = None  # None: every tool the server lists
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def tool_name(self, tool: str) -> str:
        """The name Claude sees for the server's ``tool``."""
        return f"{PREFIX}{self.name}__{tool}"

    def allows(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools


def tool_name_problem(server: str, tool: str) -> str | None:
    """Why ``mcp__<server>__<tool>`` cannot be a Messages API tool name, or None."""
    full = f"{PREFIX}{server}__{tool}"
    if not TOOL_NAME.fullmatch(tool):
        return f"{full!r}: a tool name holds only letters, digits, _ and -"
    if len(full) > NAME_LIMIT:
        return f"{full!r} is {len(full)} characters; Claude's tool names hold at most 64"
    return None


def split_tool_name(name: str) -> tuple[str, str] | None:
    """(server, tool) of an ``mcp__<server>__<tool>`` name, else None."""
    if not name.startswith(PREFIX):
        return None
    server, sep, tool = name.removeprefix(PREFIX).partition("__")
    return (server, tool) if sep and server and tool else None


def load_servers(path: Path | None, variables: Mapping[str, str]) -> tuple[McpServer, ...]:
    """The servers the file at ``path`` configures (none without a file);
    ``PolicyError`` names every problem."""
    if path is None:
        return ()
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()  # the policy's own reading reports the file
    return parse_servers(document, source=str(path), variables=variables)


def parse_servers(
    document: Mapping[str, Any], *, source: str, variables: Mapping[str, str]
) -> tuple[McpServer, ...]:
    """The ``[mcp.servers.*]`` tables of a parsed policy file."""
    problems: list[str] = []

    def problem(table: str, key: str | None, message: str) -> None:
        problems.append(f"{source}: [{table}]{f' {key}' if key else ''}: {message}")

    mcp = document.get("mcp", {})
    if not isinstance(mcp, dict):
        problem("(top level)", "mcp", "must be a table ([mcp.servers.<name>])")
        raise PolicyError(problems)
    for key in mcp:
        if key != "servers":
            problem("mcp", key, "unknown key (known: servers)")
    servers = mcp.get("servers", {})
    if not isinstance(servers, dict):
        problem("mcp", "servers", "must be a table ([mcp.servers.<name>])")
        servers = {}
    found = []
    for name, raw in servers.items():
        table = f"mcp.servers.{name}"
        if not isinstance(raw, dict):
            problem("mcp.servers", name, f"must be a table ([{table}])")
            continue
        if not SERVER_NAME.fullmatch(name):
            problem(table, None, "a server's name holds letters, digits, - and single _")
            continue
        before = len(problems)
        server = _server(name, raw, variables, lambda key, msg, t=table: problem(t, key, msg))
        if len(problems) == before:
            found.append(server)
    if problems:
        raise PolicyError(problems)
    return tuple(found)


def _server(
    name: str, raw: Mapping[str, Any], variables: Mapping[str, str], problem: Any
) -> McpServer:
    for key in raw:
        if key not in SERVER_KEYS:
            problem(key, f"unknown key (known: {', '.join(SERVER_KEYS)})")
    url = raw.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if url is None:
        problem("url", "is needed: the server's Streamable HTTP endpoint")
    elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problem("url", f"must be an http(s) URL such as https://host/mcp (got {url!r})")
    elif parts.scheme == "http" and parts.hostname not in LOOPBACK:
        problem("url", f"must use https (plain http only on loopback), got {url!r}")
    elif parts.username or parts.password:
        problem("url", "must not hold credentials: put them in headers with ${NAME}")
    headers = _headers(raw.get("headers", {}), variables, problem)
    tools = _allowlist(name, raw.get("tools"), problem)
    timeout = _timeout(raw.get("timeout", f"{DEFAULT_TIMEOUT_SECONDS}s"), problem)
    return McpServer(name=name, url=str(url), headers=headers, tools=tools, timeout_seconds=timeout)


def _headers(raw: Any, variables: Mapping[str, str], problem: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        problem("headers", "must be a table of header names to strings")
        return {}
    headers = {}
    for header, value in raw.items():
        if not HEADER_NAME.fullmatch(header):
            problem("headers", f"{header!r} is not an HTTP header name")
        elif not isinstance(value, str):
            problem("headers", f"{header} must be a string")
        else:
            missing = [n for n in VARIABLE.findall(value) if not variables.get(n)]
            for variable in missing:
                problem("headers", f"{header} uses ${{{variable}}}, which is not set")
            headers[header] = VARIABLE.sub(lambda m: variables.get(m[1], ""), value)
    return headers


def _allowlist(server: str, raw: Any, problem: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        problem("tools", f"must be a list of the server's tool names (got {raw!r})")
        return None
    for tool in raw:
        why = tool_name_problem(server, tool)
        if why is not None:
            problem("tools", why)
    return tuple(dict.fromkeys(raw))


def _timeout(raw: Any, problem: Any) -> int:
    match = DURATION.fullmatch(raw) if isinstance(raw, str) else None
    seconds = int(match[1]) * UNIT_SECONDS[match[2]] if match else 0
    if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
        problem("timeout", f'must be a duration from "1s" to "15m" (got {raw!r})')
        return DEFAULT_TIMEOUT_SECONDS
    return seconds
