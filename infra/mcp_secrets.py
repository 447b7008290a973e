"""The secrets the bundled policy file's MCP servers need: one per ``${NAME}`` in their headers.

The agent resolves ``${NAME}`` from its environment at cold start, where ``agent.secrets``
puts the value of the secret named by ``NAME_SECRET_ARN``; so the stack makes one secret per
name and hands the agent its ARN. A name the agent's environment already holds (a setting
the stack passes, a credential of its own, a variable Lambda reserves) would shadow the secret
or hand a credential to an outside server: synth refuses it, naming the file and the name.

Pure Python (no aws_cdk import), so it is tested without starting node.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path

from agent.secrets import SECRET_NAMES, header_variables
from infra.settings import SettingsError

# Set by the Lambda runtime itself: a secret under such a name would never be read.
LAMBDA_RESERVED_PREFIXES = ("AWS_", "LAMBDA_", "_")


def mcp_secret_names(policy: Path, *, taken: Collection[str]) -> tuple[str, ...]:
    """The ``${NAME}``s the policy file at ``policy`` uses in MCP headers (none without a
    file); ``taken``: the names the agent's environment already sets."""
    if not policy.is_file():
        return ()
    try:
        document = tomllib.loads(policy.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"{policy}: the bundled policy file does not parse: {err}") from None
    names = header_variables(document)
    problems = [_problem(name, taken) for name in names]
    by_case: dict[str, list[str]] = {}
    for name in names:
        by_case.setdefault(name.upper(), []).append(name)
    problems += [
        f"${{{same[0]}}} and ${{{same[1]}}} differ only in case; secret names do not"
        for same in by_case.values()
        if len(same) > 1
    ]
    found = [p for p in problems if p]
    if found:
        raise SettingsError(f"{policy}: [mcp.servers.*] headers: " + "; ".join(found))
    return tuple(names)


def _problem(name: str, taken: Collection[str]) -> str | None:
    if name in SECRET_NAMES:
        return (
            f"${{{name}}} is signoff's own credential and would be sent to the MCP server; "
            "give the server a secret of its own"
        )
    if name in taken:
        return f"${{{name}}} is a setting the stack gives the agent; choose another name"
    if name.startswith(LAMBDA_RESERVED_PREFIXES):
        return f"${{{name}}}: names starting {', '.join(LAMBDA_RESERVED_PREFIXES)} are Lambda's"
    return None
