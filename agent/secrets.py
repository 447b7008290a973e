"""Secrets from AWS Secrets Manager, read once at cold start.

In AWS a function gets ``SLACK_BOT_TOKEN_SECRET_ARN`` (and the like) instead of the secret;
``with_secrets`` returns the environment with each such secret's value in place, so Settings
reads one shape everywhere. The same holds for each ``${NAME}`` the policy file's MCP servers
use: the stack sets ``NAME_SECRET_ARN``. Powertools' ``get_secret`` caches the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from agent.config import ENV_ANTHROPIC_API_KEY, ENV_SLACK_BOT_TOKEN

ENV_SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"
SECRET_NAMES = (ENV_SLACK_BOT_TOKEN, ENV_ANTHROPIC_API_KEY, ENV_SLACK_SIGNING_SECRET)
ARN_SUFFIX = "_SECRET_ARN"
CACHE_SECONDS = 300
# ``${NAME}`` in the policy file's [mcp.servers.*.headers]: a value from the environment.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def with_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus the value of every ``<NAME>_SECRET_ARN`` it names (a set value wins)."""
    resolved = dict(env)
    names = [k.removesuffix(ARN_SUFFIX) for k in env if k.endswith(ARN_SUFFIX)]
    for name in names:
        arn = env.get(name + ARN_SUFFIX)
        if arn and not env.get(name):
            from aws_lambda_powertools.utilities.parameters import get_secret

            resolved[name] = str(get_secret(arn, max_age=CACHE_SECONDS))
    return resolved


def header_variables(policy: Mapping[str, Any]) -> list[str]:
    """Every ``${NAME}`` a parsed policy file's MCP servers' headers use, sorted (the CDK
    stack makes one secret for each)."""
    mcp = policy.get("mcp")
    servers = mcp.get("servers") if isinstance(mcp, dict) else None
    values: Iterable[Any] = (
        value
        for server in (servers.values() if isinstance(servers, dict) else ())
        if isinstance(server, dict) and isinstance(server.get("headers"), dict)
        for value in server["headers"].values()
    )
    return sorted({n for v in values if isinstance(v, str) for n in VARIABLE.findall(v)})
