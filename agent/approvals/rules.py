"""Who decides a gate and how: the rules a policy file (or the environment) sets per gate.

A ``Policy`` holds one ``GateRule`` for every kind of gate: ``default``, ``draft``, ``budget``
and one per named tool. A run pins the policy it started with (its JSON is in the run's first
checkpoint), so a policy edited or redeployed mid-run never changes a run in flight.

Precedence, lowest first: the environment (``APPROVERS``, ``APPROVAL_TIMEOUT_SECONDS``,
``ALLOW_SELF_APPROVAL``), ``[gates.default]``, what a tool's code says (``Tool.approval``), and
the tool's own table, ``[gates.tools.<name>]``, which also decides whether the call is gated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

from agent.approvals.policy import ApprovalPolicy
from agent.models import OnTimeout

GateKind = Literal["default", "draft", "budget"]
MAX_REMINDERS = 10  # each is two durable operations per gate


@dataclass(frozen=True, kw_only=True)
class Escalation:
    """After ``after_seconds`` without a decision, ``to`` may decide too (and are told)."""

    after_seconds: int
    to: tuple[str, ...]
    channel: str | None = None


@dataclass(frozen=True, kw_only=True)
class GateRule:
    """One gate's routing: approvers (users U…/W…, groups S…; empty: any member), quorum,
    reminders (seconds after the card was posted), deadline, what silence means, escalation."""

    table: str  # where it came from, for messages and the record: "gates.tools.deploy"
    approvers: tuple[str, ...] = ()
    required: int = 1
    remind_seconds: tuple[int, ...] = ()
    deadline_seconds: int = 2 * 24 * 3600
    on_timeout: OnTimeout = "reject"
    allow_self_approval: bool = False
    escalate: Escalation | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateRule:
        escalate = data.get("escalate")
        return cls(
            table=str(data["table"]),
            approvers=tuple(data.get("approvers", ())),
            required=int(data.get("required", 1)),
            remind_seconds=tuple(int(s) for s in data.get("remind_seconds", ())),
            deadline_seconds=int(data.get("deadline_seconds", 2 * 24 * 3600)),
            on_timeout=data.get("on_timeout", "reject"),
            allow_self_approval=bool(data.get("allow_self_approval", False)),
            escalate=(
                Escalation(
                    after_seconds=int(escalate["after_seconds"]),
                    to=tuple(escalate["to"]),
                    channel=escalate.get("channel"),
                )
                if escalate
                else None
            ),
        )


@dataclass(frozen=True, kw_only=True)
class ToolRule:
    """A tool's table: its gate, the CEL condition (over ``args``, ``requester`` and
    ``channel``) under which it applies (None: every call), and whether it may be approved
    for the rest of a run."""

    rule: GateRule
    when: str | None = None
    # A person may approve the tool for the rest of the run ("Approve and allow"): later calls
    # whose arguments satisfy the same ``when`` run without a card. Only with required = 1.
    sticky: bool = False


@dataclass(frozen=True, kw_only=True)
class Policy:
    """Every gate's rule, and where they came from (``source``: a file path or "environment")."""

    source: str
    digest: str  # SHA-256 of the file's bytes (or of the environment's rule), recorded per run
    default: GateRule
    draft: GateRule
    budget: GateRule
    tools: dict[str, ToolRule] = field(default_factory=dict)

    def rules(self) -> list[GateRule]:
        """Every gate's rule: default, draft, budget, then each tool's."""
        return [self.default, self.draft, self.budget, *(t.rule for t in self.tools.values())]

    def for_kind(self, kind: GateKind) -> GateRule:
        return {"default": self.default, "draft": self.draft, "budget": self.budget}[kind]

    def for_code_tool(self, name: str, code: ApprovalPolicy) -> GateRule:
        """The rule of a gated tool call without a table of its own: the default table, with
        what the tool's code sets on top of it."""
        rule = replace(self.default, table=f"gates.default (tool {name})")
        if code.approvers is not None:
            rule = replace(rule, approvers=code.approvers)
        if code.allow_self_approval is not None:
            rule = replace(rule, allow_self_approval=code.allow_self_approval)
        if code.timeout_seconds is not None:
            rule = replace(rule, deadline_seconds=code.timeout_seconds)
        if code.on_timeout != "reject":
            rule = replace(rule, on_timeout=code.on_timeout)
        return rule

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "digest": self.digest,
            "default": self.default.to_json(),
            "draft": self.draft.to_json(),
            "budget": self.budget.to_json(),
            "tools": {
                name: {"rule": t.rule.to_json(), "when": t.when, "sticky": t.sticky}
                for name, t in self.tools.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Policy:
        return cls(
            source=str(data["source"]),
            digest=str(data["digest"]),
            default=GateRule.from_json(data["default"]),
            draft=GateRule.from_json(data["draft"]),
            budget=GateRule.from_json(data["budget"]),
            tools={
                name: ToolRule(
                    rule=GateRule.from_json(t["rule"]),
                    when=t.get("when"),
                    sticky=bool(t.get("sticky", False)),
                )
                for name, t in (data.get("tools") or {}).items()
            },
        )


def environment_policy(
    *, approvers: tuple[str, ...], deadline_seconds: int, allow_self_approval: bool
) -> Policy:
    """The policy without a file: today's environment settings for every gate. The draft and
    budget gates end the run when nobody answers, as they always have."""
    default = GateRule(
        table="environment",
        approvers=approvers,
        deadline_seconds=deadline_seconds,
        allow_self_approval=allow_self_approval,
    )
    ending = replace(default, on_timeout="end_run")
    digest = hashlib.sha256(
        json.dumps(default.to_json(), sort_keys=True).encode("utf-8")
    ).hexdigest()
    return Policy(
        source="environment",
        digest=digest,
        default=default,
        draft=replace(ending, table="environment (draft)"),
        budget=replace(ending, table="environment (budget)"),
    )


class PolicyReader(Protocol):
    """Where a process reads the policy a new run starts with."""

    def current(self) -> Policy: ...


@dataclass(frozen=True)
class FixedPolicy:
    """A policy that never changes (the environment's, or one given to a test)."""

    policy: Policy

    def current(self) -> Policy:
        return self.policy
