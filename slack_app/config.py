"""The Slack app's settings, read once per process from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.approvals.policy_source import PolicySource
from agent.approvals.rules import environment_policy
from agent.config import (
    ENV_AGENT_FUNCTION,
    ENV_ALLOW_SELF_APPROVAL,
    ENV_APPROVAL_TIMEOUT,
    ENV_APPROVERS,
    ENV_AWS_REGION,
    ENV_CLAIM_LEASE,
    ENV_POLICY,
    ENV_SLACK_API_URL,
    ENV_SLACK_BOT_TOKEN,
    ENV_SLASH_COMMAND,
    ENV_TABLE,
    Secret,
    check_table_name,
    check_url,
    env_bool,
    env_int,
    parse_id_list,
)
from agent.errors import ConfigError
from agent.secrets import ENV_SLACK_SIGNING_SECRET

if TYPE_CHECKING:
    from agent.tools import ToolRegistry


@dataclass(frozen=True, kw_only=True)
class SlackSettings:
    signing_secret: Secret = field(repr=False)
    bot_token: Secret = field(repr=False)
    api_url: str | None = None
    slash_command: str = "/agent"
    approvers: tuple[str, ...] = ()
    table_name: str = "signoff"
    agent_function: str = "signoff-agent:live"
    aws_region: str = "us-east-1"
    claim_lease_seconds: int = 30
    # What the approval policy needs when there is no file (the agent's same settings).
    approval_timeout_seconds: int = 2 * 24 * 3600
    allow_self_approval: bool = False
    policy_path: str | None = None

    def __post_init__(self) -> None:
        if not self.signing_secret:
            raise ConfigError(f"{ENV_SLACK_SIGNING_SECRET} is required")
        if not self.bot_token:
            raise ConfigError(f"{ENV_SLACK_BOT_TOKEN} is required")
        if not self.slash_command.startswith("/"):
            raise ConfigError(f"{ENV_SLASH_COMMAND} must look like /agent")
        if not 1 <= self.claim_lease_seconds <= 900:
            raise ConfigError(f"{ENV_CLAIM_LEASE} must be between 1 and 900")
        check_url(ENV_SLACK_API_URL, self.api_url)
        check_table_name(self.table_name)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        env = os.environ if env is None else env
        return cls(
            signing_secret=Secret(value=env.get(ENV_SLACK_SIGNING_SECRET, "")),
            bot_token=Secret(value=env.get(ENV_SLACK_BOT_TOKEN, "")),
            api_url=env.get(ENV_SLACK_API_URL) or None,
            slash_command=env.get(ENV_SLASH_COMMAND) or "/agent",
            approvers=parse_id_list(env.get(ENV_APPROVERS, "")),
            table_name=env.get(ENV_TABLE) or "signoff",
            agent_function=env.get(ENV_AGENT_FUNCTION) or "signoff-agent:live",
            aws_region=env.get(ENV_AWS_REGION) or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            claim_lease_seconds=env_int(env, ENV_CLAIM_LEASE, 30),
            approval_timeout_seconds=env_int(env, ENV_APPROVAL_TIMEOUT, 2 * 24 * 3600),
            allow_self_approval=env_bool(env, ENV_ALLOW_SELF_APPROVAL, False),
            policy_path=env.get(ENV_POLICY) or None,
        )

    def policy(self, tools: ToolRegistry) -> PolicySource:
        """The approval policy, read and checked now (``PolicyError`` names each problem of a
        bad file): the same file and fallback as the agent's."""
        base = environment_policy(
            approvers=self.approvers,
            deadline_seconds=self.approval_timeout_seconds,
            allow_self_approval=self.allow_self_approval,
        )
        return PolicySource.locate(self.policy_path, base=base, tools=tools.approvals())
