"""Settings read once per process from the environment into one frozen, validated object.

Nothing else in the package reads ``os.environ``: code receives a ``Settings`` (or the
``AgentDeps`` built from it), so tests pass their own and a deployment fails at cold start
with a message naming the variable, not mid-run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast
from urllib.parse import urlsplit

from agent.errors import ConfigError as ConfigError  # re-exported: infra reads only config
from agent.netpolicy import NetworkPolicy

LlmProvider = Literal["anthropic", "bedrock", "offline"]
LLM_PROVIDERS: tuple[LlmProvider, ...] = ("anthropic", "bedrock", "offline")

# A current Claude model that the installed SDK does not flag as deprecated.
DEFAULT_MODEL = "claude-sonnet-5-5"

# Environment variable names: the CDK stack sets the same constants.
ENV_SLACK_BOT_TOKEN = "SLACK_BOT_TOKEN"
ENV_SLACK_API_URL = "SLACK_API_URL"
ENV_ANTHROPIC_API_KEY = "ANTHROPIC_API_KEY"
ENV_ANTHROPIC_BASE_URL = "ANTHROPIC_BASE_URL"
ENV_LLM_PROVIDER = "LLM_PROVIDER"
ENV_AGENT_MODEL = "AGENT_MODEL"
ENV_APPROVERS = "APPROVERS"
ENV_ALLOW_SELF_APPROVAL = "ALLOW_SELF_APPROVAL"
ENV_APPROVAL_TIMEOUT = "APPROVAL_TIMEOUT_SECONDS"
ENV_MAX_TURNS = "AGENT_MAX_TURNS"
ENV_MAX_REVISIONS = "AGENT_MAX_REVISIONS"
ENV_MAX_TOKENS = "AGENT_MAX_TOKENS"
ENV_TOOL_CONCURRENCY = "AGENT_TOOL_CONCURRENCY"
ENV_TABLE = "SIGNOFF_TABLE"
ENV_BUCKET = "SIGNOFF_BUCKET"
ENV_SPILL_BYTES = "SIGNOFF_SPILL_BYTES"
ENV_AWS_REGION = "AWS_REGION"
ENV_SLASH_COMMAND = "SLASH_COMMAND"
ENV_AGENT_FUNCTION = "AGENT_FUNCTION"
ENV_API_TOKEN = "SIGNOFF_API_TOKEN"
ENV_API_TOKENS = "SIGNOFF_API_TOKENS"
ENV_API_APPROVERS = "API_APPROVERS"
ENV_API_DELEGATES = "API_DELEGATES"
ENV_PUBLIC_URL = "SIGNOFF_PUBLIC_URL"
ENV_CLAIM_LEASE = "SIGNOFF_CLAIM_LEASE_SECONDS"
ENV_BUDGET_USD = "AGENT_BUDGET_USD"
ENV_BUDGET_TOKENS = "AGENT_BUDGET_TOKENS"
ENV_MAX_PAUSE = "AGENT_MAX_PAUSE_SECONDS"
ENV_HTTP_JOB_ALLOW = "SIGNOFF_HTTP_JOB_ALLOW"
ENV_EXPORT_BUCKETS = "SIGNOFF_EXPORT_BUCKETS"
ENV_EXPORT_LOG_GROUPS = "SIGNOFF_EXPORT_LOG_GROUPS"
ENV_POLICY = "SIGNOFF_POLICY"

# A Slack user (U…, W…) or user group (S…) id: capital letters and digits.
APPROVER_ID = re.compile(r"[UWS][A-Z0-9]{1,31}")
TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
# S3's bucket naming rules and CloudWatch Logs' log group names (export_log_group's settings).
S3_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
LOG_GROUP_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")

# A run pauses for a person's go-ahead each time it spends this much (0: no cap).
DEFAULT_BUDGET_USD = 5.0


@dataclass(frozen=True, kw_only=True)
class Secret:
    """A credential that never shows in a repr, a log line or a traceback."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')" if self.value else "Secret('')"

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the agent needs to know about its deployment."""

    llm_provider: LlmProvider
    model: str = DEFAULT_MODEL
    anthropic_api_key: Secret = field(default_factory=lambda: Secret(value=""))
    anthropic_base_url: str | None = None
    max_tokens: int = 4096
    slack_bot_token: Secret = field(default_factory=lambda: Secret(value=""))
    slack_api_url: str | None = None
    approvers: tuple[str, ...] = ()
    allow_self_approval: bool = False
    approval_timeout_seconds: int = 2 * 24 * 3600
    max_turns: int = 20
    max_revisions: int = 3
    tool_concurrency: int = 4
    table_name: str = "signoff"
    bucket: str = "signoff-blobs"
    spill_bytes: int = 32 * 1024
    aws_region: str = "us-east-1"
    slash_command: str = "/agent"
    agent_function: str = "signoff-agent:live"
    api_token: Secret = field(default_factory=lambda: Secret(value=""))
    # Locally, more bearer tokens and the names they stand for (token -> name).
    api_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    api_approvers: tuple[str, ...] = ()  # who may decide through the API (unset: any caller)
    api_delegates: tuple[str, ...] = ()  # who may decide on behalf of a Slack user
    public_url: str | None = None
    claim_lease_seconds: int = 30
    budget_usd: float = DEFAULT_BUDGET_USD
    budget_tokens: int = 0
    max_pause_seconds: int = 2 * 24 * 3600
    # Hosts and networks http_job may reach although they are private (empty: public only).
    http_job_allow: tuple[str, ...] = ()
    # What export_log_group may do: the buckets it writes to, and the log groups it exports
    # (a name, or a prefix ending in *). Empty: it refuses every export.
    export_buckets: tuple[str, ...] = ()
    export_log_groups: tuple[str, ...] = ()
    # The approval policy file (unset: signoff.toml at the project root, if any).
    policy_path: str | None = None
    # What ${NAME} in the policy file's [mcp.servers] headers reads: the environment, with
    # each secret in place (agent.secrets). Never shown.
    variables: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.llm_provider not in LLM_PROVIDERS:
            raise ConfigError(
                f"{ENV_LLM_PROVIDER} must be one of {', '.join(LLM_PROVIDERS)}, "
                f"got {self.llm_provider!r}"
            )
        if self.llm_provider == "anthropic" and not self.anthropic_api_key:
            raise ConfigError(f"{ENV_LLM_PROVIDER}=anthropic needs {ENV_ANTHROPIC_API_KEY}")
        for name, value, low, high in (
            (ENV_MAX_TURNS, self.max_turns, 1, 500),
            (ENV_MAX_REVISIONS, self.max_revisions, 0, 50),
            (ENV_MAX_TOKENS, self.max_tokens, 1, 128_000),
            (ENV_TOOL_CONCURRENCY, self.tool_concurrency, 1, 64),
            (ENV_APPROVAL_TIMEOUT, self.approval_timeout_seconds, 1, 31_622_400),
            (ENV_SPILL_BYTES, self.spill_bytes, 1024, 200 * 1024),
            (ENV_CLAIM_LEASE, self.claim_lease_seconds, 1, 900),
            (ENV_BUDGET_USD, self.budget_usd, 0, 100_000),
            (ENV_BUDGET_TOKENS, self.budget_tokens, 0, 10**10),
            (ENV_MAX_PAUSE, self.max_pause_seconds, 1, 31_622_400),
        ):
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        if not self.slash_command.startswith("/") or " " in self.slash_command:
            raise ConfigError(
                f"{ENV_SLASH_COMMAND} must look like /agent, got {self.slash_command!r}"
            )
        try:
            NetworkPolicy.parse(self.http_job_allow)
        except ValueError as err:
            raise ConfigError(f"{ENV_HTTP_JOB_ALLOW}: {err}") from None
        check_url(ENV_PUBLIC_URL, self.public_url)
        check_url(ENV_SLACK_API_URL, self.slack_api_url)
        check_url(ENV_ANTHROPIC_BASE_URL, self.anthropic_base_url)
        check_table_name(self.table_name)
        check_export_buckets(self.export_buckets)
        check_log_group_patterns(self.export_log_groups)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment; raises ConfigError naming the bad variable."""
        env = os.environ if env is None else env
        api_key = env.get(ENV_ANTHROPIC_API_KEY, "")
        provider = chosen_provider(env)
        return cls(
            llm_provider=cast(LlmProvider, provider),
            model=env.get(ENV_AGENT_MODEL) or DEFAULT_MODEL,
            anthropic_api_key=Secret(value=api_key),
            anthropic_base_url=env.get(ENV_ANTHROPIC_BASE_URL) or None,
            max_tokens=env_int(env, ENV_MAX_TOKENS, 4096),
            slack_bot_token=Secret(value=env.get(ENV_SLACK_BOT_TOKEN, "")),
            slack_api_url=env.get(ENV_SLACK_API_URL) or None,
            approvers=parse_id_list(env.get(ENV_APPROVERS, "")),
            allow_self_approval=env_bool(env, ENV_ALLOW_SELF_APPROVAL, False),
            approval_timeout_seconds=env_int(env, ENV_APPROVAL_TIMEOUT, 2 * 24 * 3600),
            max_turns=env_int(env, ENV_MAX_TURNS, 20),
            max_revisions=env_int(env, ENV_MAX_REVISIONS, 3),
            tool_concurrency=env_int(env, ENV_TOOL_CONCURRENCY, 4),
            table_name=env.get(ENV_TABLE) or "signoff",
            bucket=env.get(ENV_BUCKET) or "signoff-blobs",
            spill_bytes=env_int(env, ENV_SPILL_BYTES, 32 * 1024),
            aws_region=env.get(ENV_AWS_REGION) or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            slash_command=env.get(ENV_SLASH_COMMAND) or "/agent",
            agent_function=env.get(ENV_AGENT_FUNCTION) or "signoff-agent:live",
            api_token=Secret(value=env.get(ENV_API_TOKEN, "")),
            api_tokens=_token_names(env),
            api_approvers=_names(env, ENV_API_APPROVERS),
            api_delegates=_names(env, ENV_API_DELEGATES),
            public_url=(env.get(ENV_PUBLIC_URL) or "").rstrip("/") or None,
            claim_lease_seconds=env_int(env, ENV_CLAIM_LEASE, 30),
            budget_usd=env_float(env, ENV_BUDGET_USD, DEFAULT_BUDGET_USD),
            budget_tokens=env_int(env, ENV_BUDGET_TOKENS, 0),
            max_pause_seconds=env_int(env, ENV_MAX_PAUSE, 2 * 24 * 3600),
            http_job_allow=split_list(env.get(ENV_HTTP_JOB_ALLOW, "")),
            export_buckets=split_list(env.get(ENV_EXPORT_BUCKETS, "")),
            export_log_groups=split_list(env.get(ENV_EXPORT_LOG_GROUPS, "")),
            policy_path=env.get(ENV_POLICY) or None,
            variables=dict(env),
        )

    def bearer_tokens(self) -> dict[str, str]:
        """Every local bearer token and the name it stands for (the operator's: "operator")."""
        operator = {self.api_token.value: "operator"} if self.api_token else {}
        return {**self.api_tokens, **operator}

    def status_hint(self, run_id: str) -> str:
        """The command that shows a run's status, printed on every card."""
        return f"{self.slash_command} status {run_id}"


def running_in_lambda(env: Mapping[str, str]) -> bool:
    """Whether this process is a Lambda function's (its runtime sets both variables)."""
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME") and env.get("AWS_LAMBDA_RUNTIME_API"))


def chosen_provider(env: Mapping[str, str]) -> str:
    """``LLM_PROVIDER``, else Claude when an API key is set, else the offline model."""
    return env.get(ENV_LLM_PROVIDER) or (
        "anthropic" if env.get(ENV_ANTHROPIC_API_KEY) else "offline"
    )


def check_url(name: str, url: str | None) -> None:
    """An optional base URL must be http(s)://host...; ConfigError names the variable."""
    parts = urlsplit(url or "")
    if url is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ConfigError(f"{name} must be an http(s) URL such as https://host/, got {url!r}")


def check_table_name(table: str) -> None:
    """DynamoDB's naming rules for the run table."""
    if not TABLE_NAME.fullmatch(table):
        raise ConfigError(
            f"{ENV_TABLE} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got {table!r}"
        )


def split_list(raw: str) -> tuple[str, ...]:
    """A comma or space separated list."""
    return tuple(raw.replace(",", " ").split())


def check_export_buckets(buckets: tuple[str, ...]) -> None:
    """Each entry is an S3 bucket name; ConfigError names the setting and the entry."""
    for bucket in buckets:
        if not S3_BUCKET_NAME.match(bucket):
            raise ConfigError(f"{ENV_EXPORT_BUCKETS} holds S3 bucket names, got {bucket!r}")


def check_log_group_patterns(patterns: tuple[str, ...]) -> None:
    """Each entry is a log group name, or a prefix ending in ``*`` (``*`` alone: any)."""
    for pattern in patterns:
        name = pattern.removesuffix("*")
        if pattern != "*" and ("*" in name or not LOG_GROUP_NAME.match(name)):
            raise ConfigError(
                f"{ENV_EXPORT_LOG_GROUPS} holds log group names or prefixes ending in *, "
                f"got {pattern!r}"
            )


def parse_id_list(raw: str) -> tuple[str, ...]:
    """Split a comma or space separated list of Slack ids (users U…/W…, user groups S…)."""
    ids = tuple(part for part in raw.replace(",", " ").split() if part)
    for slack_id in ids:
        if not APPROVER_ID.fullmatch(slack_id):
            raise ConfigError(
                f"{ENV_APPROVERS} holds Slack user (U…, W…) or user group (S…) ids, "
                f"got {slack_id!r}"
            )
    return ids


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole-number variable, or ``default`` when unset; ConfigError names a bad value."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """A number variable, or ``default`` when unset; ConfigError names a bad value."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A true/false variable, or ``default`` when unset; ConfigError names a bad value."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of IAM principal ARNs, role or user names, or local token names."""
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _token_names(env: Mapping[str, str]) -> dict[str, str]:
    """The local bearer tokens ``SIGNOFF_API_TOKENS`` adds, and the names they stand for."""
    try:
        tokens = parse_token_names(env.get(ENV_API_TOKENS, ""))
    except ValueError as err:
        raise ConfigError(f"{ENV_API_TOKENS}: {err}") from None
    return tokens


def parse_token_names(raw: str) -> dict[str, str]:
    """``token=name,token2=name2`` into {token: name}; raises ValueError naming the entry."""
    tokens: dict[str, str] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        token, sep, name = entry.partition("=")
        if not sep or not token or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", name):
            shown = name if sep else entry[:4] + "…"
            raise ValueError(f"each entry is token=name (name: letters, digits, _.@-): {shown!r}")
        if len(token) < 16:
            raise ValueError(f"the token for {name!r} is shorter than 16 characters")
        tokens[token] = name
    return tokens
