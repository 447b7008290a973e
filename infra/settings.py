"""The stack's knobs, read once from CDK context into one frozen, validated object.

    cdk deploy -c execution_timeout_days=30 -c llm_provider=bedrock \\
        -c bedrock_model=us.anthropic.claude-sonnet-4-5-20250929-v1:0

Pure Python (no aws_cdk import), so it is tested and read without starting node.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from agent.config import (
    DEFAULT_BUDGET_USD,
    DEFAULT_MODEL,
    ConfigError,
    check_export_buckets,
    check_log_group_patterns,
    parse_id_list,
    split_list,
)
from infra.bundles import DEFAULT_BUNDLE_ROOT

Provider = Literal["anthropic", "bedrock"]
# The retention periods CloudWatch Logs accepts (days), by aws_logs.RetentionDays member name.
LOG_RETENTION_DAYS = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
}  # fmt: skip
# A Bedrock model id or a cross-region inference profile id (a geography prefix first).
BEDROCK_MODEL = re.compile(r"^(?:(?P<geo>[a-z]{2,6})\.)?(?P<model>[a-z0-9-]+\.[A-Za-z0-9.:-]+)$")


class SettingsError(ValueError):
    """A context value is missing or out of range; the message names it."""


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """Everything the stack lets a deployer choose (CDK context key = field name)."""

    execution_timeout_days: int = 7
    retention_days: int = 14
    approval_timeout_hours: int = 48
    log_retention_days: int = 30
    llm_provider: Provider = "anthropic"
    agent_model: str = DEFAULT_MODEL
    bedrock_model: str | None = None
    approvers: str = ""
    api_approvers: str = ""  # API_APPROVERS: who may decide through the API (unset: any caller)
    api_delegates: str = ""  # API_DELEGATES: callers that may decide for a Slack user
    slash_command: str = "/agent"
    alarm_email: str | None = None
    run_budget_usd: float = DEFAULT_BUDGET_USD
    cost_alarm_usd_per_hour: int = 25
    # export_log_group: the buckets it may write to, the log groups (or prefixes ending in *)
    # it may export; both empty (the default): it refuses every export and has no grant.
    export_buckets: str = ""
    export_log_groups: str = ""
    bundle_dir: Path = DEFAULT_BUNDLE_ROOT

    def __post_init__(self) -> None:
        _check_range("execution_timeout_days", self.execution_timeout_days, 1, 366)
        _check_range("retention_days", self.retention_days, 1, 90)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise SettingsError(
                f"log_retention_days must be one of {sorted(LOG_RETENTION_DAYS)}, "
                f"got {self.log_retention_days}"
            )
        # An approval must be able to expire (and say so on its card) before the run is killed.
        last_hour = self.execution_timeout_days * 24 - 1
        _check_range("approval_timeout_hours", self.approval_timeout_hours, 1, last_hour)
        if not 0 <= self.run_budget_usd <= 100_000:
            raise SettingsError(
                f"run_budget_usd must be between 0 (no cap) and 100000, got {self.run_budget_usd}"
            )
        _check_range("cost_alarm_usd_per_hour", self.cost_alarm_usd_per_hour, 1, 1_000_000)
        self._check_model()
        # The agent's own checks of the values the stack hands it, named by context key.
        for name, check in (
            ("approvers", lambda: parse_id_list(self.approvers)),
            ("export_buckets", lambda: check_export_buckets(self.export_bucket_names)),
            ("export_log_groups", lambda: check_log_group_patterns(self.export_log_group_patterns)),
        ):
            try:
                check()
            except ConfigError as err:
                raise SettingsError(f"{name}: {err}") from None
        if not self.slash_command.startswith("/") or " " in self.slash_command:
            raise SettingsError(f"slash_command must look like /agent, got {self.slash_command!r}")

    def _check_model(self) -> None:
        if self.llm_provider not in ("anthropic", "bedrock"):
            raise SettingsError(
                f"llm_provider must be anthropic or bedrock, got {self.llm_provider!r}"
            )
        if self.llm_provider == "bedrock" and not self.bedrock_model:
            raise SettingsError("llm_provider=bedrock needs bedrock_model (a model or profile id)")
        if self.bedrock_model and not BEDROCK_MODEL.match(self.bedrock_model):
            raise SettingsError(
                f"bedrock_model does not look like a Bedrock model id: {self.bedrock_model!r}"
            )

    @property
    def model(self) -> str:
        """The model id the agent sends: Claude's name, or the Bedrock model/profile id."""
        if self.llm_provider == "bedrock" and self.bedrock_model:
            return self.bedrock_model
        return self.agent_model

    @property
    def export_bucket_names(self) -> tuple[str, ...]:
        return split_list(self.export_buckets)

    @property
    def export_log_group_patterns(self) -> tuple[str, ...]:
        return split_list(self.export_log_groups)

    @property
    def log_exports_enabled(self) -> bool:
        """export_log_group can do something only with both a bucket and a log group."""
        return bool(self.export_bucket_names and self.export_log_group_patterns)

    @property
    def blob_expiry_days(self) -> int:
        """A blob must outlive the run that wrote it (replays read it) and then its history."""
        return self.execution_timeout_days + self.retention_days

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> StackSettings:
        """Read every field from ``get`` (``node.try_get_context``); unset keys keep defaults."""
        values: dict[str, Any] = {}
        for name, kind in _FIELD_KINDS.items():
            raw = get(name)
            if raw is not None and raw != "":
                values[name] = _convert(name, raw, kind)
        return cls(**values)


_FIELD_KINDS: dict[str, type] = {
    "execution_timeout_days": int,
    "retention_days": int,
    "approval_timeout_hours": int,
    "log_retention_days": int,
    "llm_provider": str,
    "agent_model": str,
    "bedrock_model": str,
    "approvers": str,
    "api_approvers": str,
    "api_delegates": str,
    "slash_command": str,
    "alarm_email": str,
    "run_budget_usd": float,
    "cost_alarm_usd_per_hour": int,
    "export_buckets": str,
    "export_log_groups": str,
    "bundle_dir": Path,
}


def _convert(name: str, raw: Any, kind: type) -> Any:
    """Context from ``-c key=value`` arrives as strings; from code or cdk.json, typed."""
    if kind is int:
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if kind is Path:
        return Path(str(raw)).expanduser().resolve()
    return cast(Any, str(raw))


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
