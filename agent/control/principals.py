"""Who is calling the HTTP API, and what they may decide: pure rules, no I/O.

The caller is who API Gateway authenticated (the IAM principal in AWS) or the holder of a
local bearer token (``SIGNOFF_API_TOKEN`` is the operator's; ``SIGNOFF_API_TOKENS`` adds others
with the names they stand for). A decision or a cancel is made in the caller's name, never in
a name the body gives: a body may name the person a caller acts for only when the caller is a
delegate (``API_DELEGATES``), and the record then says "alice, via <caller>".
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LOCAL_PREFIX = "token:"
# arn:aws:sts::123456789012:assumed-role/Deployer/session, arn:aws:iam::123:role/path/Deployer,
# arn:aws:iam::123:user/alice: the role or user name is what an allowlist may name.
_ARN_NAME = re.compile(
    r"^arn:aws[\w-]*:(?:sts|iam)::\d{12}:(?:assumed-role/(?P<assumed>[^/]+)/.+"
    r"|role/(?:.*/)?(?P<role>[^/]+)|user/(?:.*/)?(?P<user>[^/]+))$"
)


@dataclass(frozen=True)
class Principal:
    """An authenticated API caller: a stable id, and a name for people to read."""

    id: str
    name: str

    @classmethod
    def iam(cls, arn: str) -> Principal:
        match = _ARN_NAME.match(arn)
        name = next((g for g in match.groups() if g), arn) if match else arn
        return cls(id=arn, name=name)

    @classmethod
    def local(cls, token_name: str) -> Principal:
        return cls(id=LOCAL_PREFIX + token_name, name=token_name)

    def is_named(self, names: Iterable[str]) -> bool:
        """True when an allowlist entry is this principal's ARN, role or user name, or (locally)
        its token name."""
        own = {self.id, self.name}
        return any(entry in own for entry in names)


def local_principal(authorization: str, tokens: Mapping[str, str]) -> Principal | None:
    """The holder of the bearer token in ``authorization`` (tokens: token -> name), or None.

    Every known token is compared in constant time, so timing says nothing about which is
    close.
    """
    if not authorization.startswith("Bearer "):
        return None
    sent = authorization.removeprefix("Bearer ").encode()
    found = None
    for token, name in tokens.items():
        if hmac.compare_digest(sent, token.encode()):
            found = Principal.local(name)
    return found


def decider_refusal(
    caller: Principal,
    *,
    started_by: str | None,
    allow_self_approval: bool,
    api_approvers: tuple[str, ...],
) -> str | None:
    """Why ``caller`` may not decide (or cancel) in their own name through the API, or None."""
    if started_by == caller.id and not allow_self_approval:
        return "you started this run, and it needs someone else to decide"
    if api_approvers and not caller.is_named(api_approvers):
        return "you are not one of the API approvers (API_APPROVERS)"
    return None


def delegate_refusal(caller: Principal, api_delegates: tuple[str, ...]) -> str | None:
    """Why ``caller`` may not act on someone's behalf, or None."""
    if not caller.is_named(api_delegates):
        return "only a delegate (API_DELEGATES) may decide on behalf of someone"
    return None


def audit_refusal(
    caller: Principal, *, requester: str, started_by: str | None, api_approvers: tuple[str, ...]
) -> str | None:
    """Why ``caller`` may not read a run's audit log, or None: its requester (or the caller
    that started it) and the API's approvers may (with no API_APPROVERS every caller may
    decide, so every caller is an approver)."""
    if caller.id in (requester, started_by) or export_refusal(caller, api_approvers) is None:
        return None
    return "only the run's requester and the API approvers (API_APPROVERS) may read its audit log"


def export_refusal(caller: Principal, api_approvers: tuple[str, ...]) -> str | None:
    """Why ``caller`` may not export every run's audit log, or None (approvers may)."""
    if not api_approvers or caller.is_named(api_approvers):
        return None
    return "only the API approvers (API_APPROVERS) may export the audit log"
