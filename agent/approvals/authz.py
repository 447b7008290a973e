"""Who may decide on a gate: a pure check, run before anything else happens on a click."""

from __future__ import annotations

from collections.abc import Iterable

from agent.approvals.quorum import deciders
from agent.models import ApprovalRecord


def refusal_reason(
    user_id: str, record: ApprovalRecord, group_members: Iterable[str] = ()
) -> str | None:
    """Why ``user_id`` may not decide on ``record``, or None when they may.

    ``group_members`` are the members of the record's user groups (S…), resolved by the caller.
    Once a gate escalated, its escalation's people may decide too.
    """
    if user_id == record.requester and not record.allow_self_approval:
        return "you started this run, and this approval needs someone else"
    allowed = deciders(record)
    if not allowed:
        return None
    allowed_users = {a for a in allowed if not a.startswith("S")}
    if user_id in allowed_users or user_id in set(group_members):
        return None
    return "you are not one of the approvers for this run"


def approver_groups(record: ApprovalRecord) -> list[str]:
    """The user group ids among those who may decide on the record now."""
    return [a for a in deciders(record) if a.startswith("S")]


def may_see_usage_of(
    viewer: str, target: str, approvers: Iterable[str], group_members: Iterable[str] = ()
) -> bool:
    """Anyone sees their own spending and any channel's; another person's, only approvers.

    With no approvers configured every member may decide, so every member may look.
    """
    if target == viewer or not target.startswith(("U", "W")):
        return True
    approvers = list(approvers)
    users = {a for a in approvers if not a.startswith("S")}
    return not approvers or viewer in users or viewer in set(group_members)
