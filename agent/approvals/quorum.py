"""Quorum: how many distinct people have approved a gate, who else may, and whether it is met.

Pure functions over an ``ApprovalRecord``. Votes are kept per person in the table (one entry
each, written with a conditional update); an approval counts only while its ``version`` is the
content's: an Edit changes the content, so earlier approvals were of something else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.models import ApprovalRecord


def deciders(record: ApprovalRecord) -> tuple[str, ...]:
    """Who may decide now: the approvers, and the escalation's people once it happened
    (empty: any member)."""
    if not record.approvers:
        return ()
    return tuple(dict.fromkeys(record.approvers + record.escalated_to))


def is_group(principal: str) -> bool:
    return principal.startswith("S")


@dataclass(frozen=True)
class Tally:
    """The votes that count for the content as it stands now."""

    approved_by: tuple[str, ...]  # voter ids, in the order they voted
    names: tuple[str, ...]  # their display names
    required: int

    @property
    def met(self) -> bool:
        return len(self.approved_by) >= self.required

    @property
    def missing(self) -> int:
        return max(0, self.required - len(self.approved_by))


def tally(record: ApprovalRecord) -> Tally:
    current = sorted(
        (
            (vote.get("at", ""), voter, str(vote.get("name") or voter))
            for voter, vote in record.votes.items()
            if int(vote.get("version", 0)) == record.version
            and vote.get("decision") in ("approve", "edit")
        ),
    )
    return Tally(
        approved_by=tuple(voter for _, voter, _ in current),
        names=tuple(name for _, _, name in current),
        required=max(1, record.required),
    )


def not_voted(record: ApprovalRecord, members: Iterable[str] = ()) -> tuple[str, ...]:
    """The users who may decide and have not approved the current content: the record's
    users and ``members`` (of its groups), without the requester unless they may approve."""
    counted = set(tally(record).approved_by)
    users = [p for p in deciders(record) if not is_group(p)] + list(members)
    return tuple(
        user
        for user in dict.fromkeys(users)
        if user not in counted and (record.allow_self_approval or user != record.requester)
    )


def unreachable(record: ApprovalRecord, eligible: Iterable[str] | None) -> str | None:
    """Why the quorum can never be met with ``eligible`` people (None: unknown, anyone), or
    None when it can. The requester never counts unless self-approval is allowed."""
    if eligible is None:
        return None
    people = {p for p in eligible if record.allow_self_approval or p != record.requester}
    if len(people) >= max(1, record.required):
        return None
    who = ", ".join(deciders(record)) or "anyone"
    if not people:
        return f"the only people who may approve ({who}) include no one but the requester"
    return (
        f"it needs {record.required} distinct approvers, but only {len(people)} "
        f"{'person' if len(people) == 1 else 'people'} other than the requester may approve "
        f"({who})"
    )
