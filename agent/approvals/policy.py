"""What a gate asks of people: whether a call needs one, who may decide, and what silence means.

Tools carry a policy (``Tool.approval``) and the gate reads it; it lives here, below both, so
tools and approvals never import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agent.models import OnTimeout

ApprovalMode = Literal["auto", "require", "deny"]


@dataclass(frozen=True, kw_only=True)
class ApprovalPolicy:
    """Whether a call needs a person, who may decide, and what a silent reviewer means."""

    mode: ApprovalMode = "auto"
    when: Callable[[Mapping[str, Any]], bool] | None = None
    approvers: tuple[str, ...] | None = None
    allow_self_approval: bool | None = None
    timeout_seconds: int | None = None
    on_timeout: OnTimeout = "reject"

    def needs_approval(self, arguments: Mapping[str, Any]) -> bool:
        """True when this call must wait for a reviewer (``when`` narrows ``require``)."""
        if self.mode != "require":
            return False
        return self.when is None or bool(self.when(arguments))


AUTO = ApprovalPolicy()
REQUIRE = ApprovalPolicy(mode="require")
