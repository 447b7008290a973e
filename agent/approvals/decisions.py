"""A reviewer's decision: a tagged union shared by the Slack app, the HTTP API and the agent.

The callback payload is ``Decision`` as JSON, defined once here for both sides. Consumers
``match`` on the class and end with ``assert_never`` so a new kind is a type error everywhere.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from agent.models import PrincipalId, describe_validation_error

MAX_TEXT = 12_000
MAX_FEEDBACK = 3_000


class Decider(BaseModel):
    """Who decided: a Slack user id (or an API caller's identity) and a display name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: PrincipalId
    name: PrincipalId
    via: str | None = Field(
        default=None, max_length=2048, description="The API caller who decided on their behalf"
    )


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    decider: Decider
    at: str = Field(min_length=1, max_length=40, description="ISO 8601 time of the decision")


class _Approval(_Base):
    # With a quorum: everyone whose approval counted, in the order they voted.
    approvals: tuple[Decider, ...] | None = None


class Approve(_Approval):
    decision: Literal["approve"] = "approve"
    # "Approve and allow <tool> for this run": later calls of the tool skip the card.
    standing: bool | None = None


class Edit(_Approval):
    """Approve with changes: new draft text, or new tool arguments."""

    decision: Literal["edit"] = "edit"
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    arguments: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one_change(self) -> Edit:
        if (self.text is None) == (self.arguments is None):
            raise ValueError("an edit carries either text or arguments")
        return self


class Revise(_Base):
    """Request changes: the feedback goes back to Claude and a new card replaces this one."""

    decision: Literal["revise"] = "revise"
    feedback: str = Field(min_length=1, max_length=MAX_FEEDBACK)


class Reject(_Base):
    decision: Literal["reject"] = "reject"
    reason: str = Field(min_length=1, max_length=MAX_FEEDBACK)


Decision = Annotated[Approve | Edit | Revise | Reject, Field(discriminator="decision")]
DECISION_ADAPTER: TypeAdapter[Decision] = TypeAdapter(Decision)
DECISION_KINDS = ("approve", "edit", "revise", "reject")


class InvalidDecision(ValueError):
    """A decision payload does not validate; the message names the field."""


def parse_decision(raw: str | bytes | dict[str, Any]) -> Decision:
    """Read a decision from a callback payload or an API body."""
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return DECISION_ADAPTER.validate_python(data)
    except json.JSONDecodeError as err:
        raise InvalidDecision(f"decision is not JSON: {err.msg}") from None
    except ValidationError as err:
        raise InvalidDecision(describe_validation_error(err, "decision")) from None


def decision_to_json(decision: Decision) -> dict[str, Any]:
    """The decision as the plain JSON dict sent in the callback and kept in the run's result."""
    return decision.model_dump(mode="json", exclude_none=True)
