"""Request and response models of the HTTP API: they validate requests and make the OpenAPI."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.approvals.decisions import MAX_FEEDBACK, MAX_TEXT
from agent.models import SLACK_ID, SLACK_USER, ApprovalKind, ApprovalState
from agent.status import RunStatus


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StartRun(_Strict):
    task: str = Field(min_length=1, max_length=8000)
    channel: str | None = Field(
        default=None, pattern=SLACK_ID, description="Slack channel for cards"
    )
    requester: str | None = Field(default=None, min_length=1, max_length=256)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    notify: bool = Field(default=True, description="Keep a progress message in the Slack thread")
    budget_usd: float | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="Pause for a go-ahead each time the run spends this much (0: no cap)",
    )
    budget_tokens: int | None = Field(
        default=None,
        ge=0,
        le=10**10,
        description="Pause for a go-ahead each time the run uses this many tokens (0: no cap)",
    )


class RunAccepted(BaseModel):
    run_id: str
    status: RunStatus


class DecisionBody(_Strict):
    decision: Literal["approve", "edit", "revise", "reject"]
    on_behalf_of: str | None = Field(
        default=None,
        pattern=SLACK_USER,
        description="The Slack user a delegate (API_DELEGATES) decides for; without it the "
        "caller decides in its own name",
    )
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    arguments: dict[str, Any] | None = None
    feedback: str | None = Field(default=None, min_length=1, max_length=MAX_FEEDBACK)
    reason: str | None = Field(default=None, min_length=1, max_length=MAX_FEEDBACK)


class CancelBody(_Strict):
    on_behalf_of: str | None = Field(
        default=None,
        pattern=SLACK_USER,
        description="The Slack user a delegate (API_DELEGATES) cancels for",
    )


class Cancelled(BaseModel):
    run_id: str
    message: str


class DecisionAccepted(BaseModel):
    approval_id: str
    state: ApprovalState
    approvals: int | None = Field(
        default=None, description="With a quorum: approvals of the content that count so far"
    )
    required: int | None = Field(default=None, description="With a quorum: approvals needed")
    counted_already: bool | None = Field(
        default=None, description="Your approval of this content had counted already"
    )


class ApprovalView(BaseModel):
    approval_id: str
    kind: ApprovalKind
    title: str
    state: ApprovalState
    round: int
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None
    draft: str | None = None
    expires_at: str


class RunView(BaseModel):
    run_id: str
    status: RunStatus
    task: str
    requester: str
    channel: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    note: str | None = None
    pending_approvals: list[ApprovalView] = []
    decisions: list[dict[str, Any]] = []
    usage: dict[str, int] | None = None
    usage_by_model: dict[str, dict[str, float]] | None = None
    cost_usd: float | None = Field(
        default=None, description="What the run's model calls cost, from agent.model.pricing"
    )
    budget: dict[str, float] | None = Field(
        default=None, description="The run's cap per go-ahead: usd and tokens (0: none)"
    )
    result: str | None = None


class RunSummary(BaseModel):
    run_id: str
    status: RunStatus
    task: str
    requester: str
    created_at: str | None = None


class RunPage(BaseModel):
    runs: list[RunSummary]
    cursor: str | None = None


class UsageTotalsView(BaseModel):
    runs: int
    cost_usd: float
    tokens: dict[str, int]
    cost_by_model: dict[str, float]
    partial: bool = Field(description="More runs matched than one report reads")


class UsageView(BaseModel):
    since: str
    days: int
    requester: UsageTotalsView | None = None
    channel: UsageTotalsView | None = None


class JobCompletion(BaseModel):
    """What a long-running job posts to its completion URL (other fields are kept too)."""

    model_config = ConfigDict(extra="allow")

    status: str | None = Field(
        default=None,
        max_length=64,
        description='"failed" (or error, cancelled) reports a failure; anything else succeeds',
    )
    result: Any = Field(default=None, description="The job's result; default: the whole body")
    error: str | None = Field(default=None, max_length=4000, description="Why the job failed")


class JobAccepted(BaseModel):
    job_id: str
    state: str


class ErrorBody(BaseModel):
    error: str
