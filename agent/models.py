"""The vocabulary every surface shares: run requests, approvals and their records.

Values that cross a durable boundary (step results, callback payloads) are plain JSON dicts
produced by ``model_dump(mode="json")``: the SDK's default serdes rejects pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from agent.errors import InvalidRunRequest

SLACK_ID = r"^[A-Z0-9]{2,32}$"
SLACK_USER = r"^[UW][A-Z0-9]{1,31}$"
SLACK_TS = r"^\d{1,12}\.\d{1,9}$"
RUN_ID = r"^[A-Za-z0-9_-]{1,64}$"
# What agent.approvals.gate.approval_id_for and agent.tools.waiting.job_id_for make.
APPROVAL_ID = r"^ap_[0-9a-f]{32}$"
JOB_ID = r"^jb_[0-9a-f]{32}$"

# Who asked or decided: a Slack user id, a local token's name, or an IAM principal's ARN
# (an SSO role session's runs past 100 characters; IAM allows ARNs of 2,048). A requester is
# also an index key in the table, which holds at most 2,048 bytes.
MAX_PRINCIPAL_LENGTH = 2048


def _fits_a_key(value: str) -> str:
    if len(value.encode("utf-8", "surrogatepass")) > MAX_PRINCIPAL_LENGTH:
        raise ValueError(f"must be at most {MAX_PRINCIPAL_LENGTH} bytes in UTF-8")
    return value


PrincipalId = Annotated[
    str, Field(min_length=1, max_length=MAX_PRINCIPAL_LENGTH), AfterValidator(_fits_a_key)
]

RunSource = Literal["slack", "api"]
ApprovalKind = Literal["tool", "draft", "budget"]
ApprovalState = Literal["pending", "claimed", "decided", "expired", "superseded", "cancelled"]
OnTimeout = Literal["reject", "end_run"]  # silence is never an approval


class RunRequest(BaseModel):
    """The input event of one agent run."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    task: str = Field(min_length=1, max_length=8000)
    requester: PrincipalId
    channel: str | None = Field(default=None, pattern=SLACK_ID)
    thread_ts: str | None = Field(default=None, pattern=SLACK_TS)
    source: RunSource
    run_id: str | None = Field(default=None, pattern=RUN_ID)
    notify: bool = Field(default=True, description="Keep a progress message in the thread")
    budget_usd: float | None = Field(
        default=None, ge=0, le=100_000, description="Pause for a go-ahead at this cost (0: no cap)"
    )
    budget_tokens: int | None = Field(
        default=None, ge=0, le=10**10, description="Pause for a go-ahead at this many tokens"
    )
    started_by: str | None = Field(
        default=None, max_length=2048, description="The API caller that started the run"
    )


def parse_run_request(event: object) -> RunRequest:
    """Validate a run's input event; raises InvalidRunRequest naming each bad field."""
    if not isinstance(event, dict):
        raise InvalidRunRequest(f"the run input must be a JSON object, got {type(event).__name__}")
    try:
        return RunRequest.model_validate(event)
    except ValidationError as err:
        raise InvalidRunRequest(describe_validation_error(err, "run input")) from None


def describe_validation_error(err: ValidationError, what: str) -> str:
    """One readable line per problem, naming the field (never echoing secrets or bodies)."""
    problems = []
    for item in err.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(root)"
        problems.append(f"{where}: {item['msg']}")
    return f"invalid {what}: " + "; ".join(problems)


@dataclass(frozen=True)
class RunInfo:
    """Where a run lives: its id, its requester and its Slack thread (if any)."""

    run_id: str
    requester: str
    task: str
    channel: str | None
    thread_ts: str | None
    execution_arn: str
    budget: dict[str, Any] = field(default_factory=dict)  # agent.budget.Budget as JSON
    started_by: str | None = None  # the API caller that started it (None: a Slack user)
    # agent.approvals.rules.Policy as JSON, pinned at the start (None: runs started before
    # policies were pinned, which follow the process's current policy).
    policy: dict[str, Any] | None = None
    policy_error: str | None = None  # why the policy file could not be read when it started
    # How its turns are shaped, fixed at the start so a run in flight keeps its durable
    # operations across deploys: 1, each call in order under one bound; 2, a turn's gated
    # calls open together on one card (agent.tools.turn).
    turn_shape: int = 1


class ApprovalRecord(BaseModel):
    """One approval gate as stored in the table; the card is rendered from it."""

    model_config = ConfigDict(extra="ignore")

    approval_id: str
    run_id: str
    kind: ApprovalKind
    title: str
    requester: str
    approvers: tuple[str, ...] = ()
    allow_self_approval: bool = False
    state: ApprovalState = "pending"
    round: int = 1
    max_rounds: int = 1
    tool_name: str | None = None
    arguments: dict[str, Any] | None = None
    draft: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    message_ts: str | None = None
    created_at: str
    expires_at: str
    on_timeout: OnTimeout = "reject"
    offline_model: bool = False
    decision: dict[str, Any] | None = None
    note: str | None = None
    card_error: str | None = None  # why Slack last refused to update the card
    started_by: str | None = None  # the API caller that started the run
    spending: dict[str, Any] | None = None  # budget gates: spent, cap, what continuing adds
    # Routing (agent.approvals.rules): the policy table, the quorum and its votes so far.
    policy_table: str | None = None
    required: int = 1
    # voter id -> {"name", "at", "decision": "approve" | "edit", "version"}; a vote counts
    # only while its version is the content's (an edit makes earlier approvals stale).
    votes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    version: int = 0
    # With a quorum, an Edit is the editor's approval of new content: {"arguments" | "text",
    # "by"}. The card then shows it, and only approvals of it count.
    edited: dict[str, Any] | None = None
    escalated_to: tuple[str, ...] = ()
    escalated_at: str | None = None
    escalation_channel: str | None = None
    escalation_ts: str | None = None  # the card's copy in the escalation channel
    reminders_sent: int = 0
    status_hint: str | None = None  # the command that shows the run's status, on the card
    sticky: bool = False  # the card may offer "Approve and allow <tool> for this run"
    # One card for a turn's gated calls (agent.approvals.batch): which batch, how many calls
    # it holds, and which of its cards (parts) shows this call.
    batch_id: str | None = None
    batch_size: int = 1
    batch_position: int = 0
    batch_part: int = 1
    batch_parts: int = 1
    # An MCP tool's gate: {"server", "tool", "annotations", "input_schema"} as the run listed it.
    mcp_tool: dict[str, Any] | None = None

    @property
    def can_request_changes(self) -> bool:
        """Whether another revision round is allowed (the cap hides the button)."""
        return self.round < self.max_rounds


@dataclass(frozen=True)
class ToolCall:
    """One tool_use block of a reply."""

    id: str
    name: str
    arguments: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}
