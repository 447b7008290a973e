"""The control plane for runs: start, decide, cancel. Used by the Slack app and the HTTP API.

Deciding is exactly once: the gate is claimed with a conditional write, then the durable
callback is sent (first completion wins at the Lambda API too), then the card is locked. A
claim older than the lease can be retaken, so a crash between claim and send never leaves a
card dead. Every refusal says why, so each clicker gets a truthful answer.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from slack_sdk.errors import SlackApiError, SlackClientError

from agent import progress
from agent.approvals import audit, cards
from agent.approvals.authz import approver_groups, refusal_reason
from agent.approvals.card_updates import show_on_card
from agent.approvals.decisions import (
    Approve,
    Decider,
    Decision,
    Edit,
    Reject,
    Revise,
    decision_to_json,
    parse_decision,
)
from agent.approvals.inbox import refresh_homes
from agent.approvals.quorum import Tally, deciders, tally
from agent.control.principals import Principal, decider_refusal, delegate_refusal
from agent.errors import SignoffError, ToolInputError
from agent.models import ApprovalRecord, RunRequest
from agent.mrkdwn import Message
from agent.storage.audit_chain import AuditEvent
from agent.storage.store import Claim, Store
from agent.telemetry import CALLBACK_SEND_FAILURES, CONTROL_SERVICE, COUNT, SECONDS, emit
from agent.tools.edits import checked_edit
from agent.tools.registry import ToolRegistry

CLAIM_LEASE_SECONDS = 30
_logger = logging.getLogger(__name__)


class RunConflict(SignoffError):
    """A run id already names a run started with a different request."""


class CancelRefused(SignoffError):
    """The caller may not cancel this run; the message says why."""


class RunNotFound(SignoffError):
    """No run has that id."""


@dataclass(frozen=True)
class StartedRun:
    run_id: str
    execution_arn: str | None


@dataclass(frozen=True)
class Decided:
    record: ApprovalRecord
    decision: Decision


@dataclass(frozen=True)
class Refused:
    """The caller may not decide (not an approver, own run, revision cap)."""

    reason: str


@dataclass(frozen=True)
class Closed:
    """The gate is no longer open: decided, being decided, expired, superseded, cancelled."""

    reason: str


@dataclass(frozen=True)
class Invalid:
    """The decision cannot be taken as given (an edit the tool refuses); says what to fix."""

    reason: str


@dataclass(frozen=True)
class Voted:
    """The approval counted (or had counted already), and the quorum still needs more."""

    record: ApprovalRecord
    tally: Tally
    again: bool  # this person had approved this content already


DecideOutcome = Decided | Voted | Refused | Closed | Invalid
Refusal = Callable[[ApprovalRecord], str | None]
GroupMembers = Callable[[str], list[str]]


def _no_groups(_: str) -> list[str]:
    return []


@dataclass
class ControlPlane:
    """Runs and approvals as every surface sees them."""

    store: Store
    lambda_client: Any
    agent_function: str
    slack: Any | None = None
    slash_command: str = "/agent"
    approvers: tuple[str, ...] = ()
    group_members: GroupMembers = field(default=_no_groups)
    lease_seconds: int = CLAIM_LEASE_SECONDS
    api_approvers: tuple[str, ...] = ()
    api_delegates: tuple[str, ...] = ()
    tools: ToolRegistry | None = None  # to check edited tool arguments before a claim

    # Starting ------------------------------------------------------------------------------
    def start_run(self, request: RunRequest) -> StartedRun:
        """Start the durable run named ``request.run_id``; a repeat returns the same run."""
        if not request.run_id:
            raise ValueError("start_run needs a run_id (the durable execution name)")
        payload = request.model_dump(mode="json")
        try:
            response = self.lambda_client.invoke(
                FunctionName=self.agent_function,
                InvocationType="Event",
                DurableExecutionName=request.run_id,
                Payload=json.dumps(payload).encode(),
            )
        except ClientError as err:
            if (
                err.response.get("Error", {}).get("Code")
                == "DurableExecutionAlreadyStartedException"
            ):
                raise RunConflict(
                    f"run {request.run_id!r} already exists with a different request"
                ) from None
            raise
        return StartedRun(run_id=request.run_id, execution_arn=response.get("DurableExecutionArn"))

    # Deciding ------------------------------------------------------------------------------
    def check(
        self, approval_id: str, user_id: str, *, claim_owner: str | None = None
    ) -> ApprovalRecord | Refused | Closed:
        """Whether ``user_id`` may decide on the gate now (before opening a modal, say);
        a claim ``claim_owner`` holds does not count against it."""
        opened = self._open(approval_id, self._slack_user_refusal(user_id), claim_owner)
        return opened[0] if isinstance(opened, tuple) else opened

    def _open(
        self, approval_id: str, refusal: Refusal, claim_owner: str | None
    ) -> tuple[ApprovalRecord, bool] | Refused | Closed:
        """The open gate and whether ``claim_owner`` holds its claim already (a repeat)."""
        found = self.store.approval_and_claim(approval_id)
        if found is None:
            return Closed("this approval does not exist")
        record, claim = found
        reason = refusal(record)
        if reason is not None:
            return Refused(reason)
        closed = self._closed(record, claim, claim_owner)
        if closed is not None:
            return closed
        repeat = claim is not None and claim_owner is not None and claim.owner == claim_owner
        return record, repeat

    def _slack_user_refusal(self, user_id: str) -> Refusal:
        def refusal(record: ApprovalRecord) -> str | None:
            groups = approver_groups(record)
            members = [m for group in groups for m in self.group_members(group)]
            return refusal_reason(user_id, record, members)

        return refusal

    def _api_refusal(self, caller: Principal, decision: Decision) -> Refusal:
        """An API caller decides in its own name (API_APPROVERS), or as a delegate for the
        Slack user the decision names; the caller that started a run never approves it."""

        def refusal(record: ApprovalRecord) -> str | None:
            if decision.decider.via is None:
                return decider_refusal(
                    caller,
                    started_by=record.started_by,
                    allow_self_approval=record.allow_self_approval,
                    api_approvers=self.api_approvers,
                )
            if (reason := delegate_refusal(caller, self.api_delegates)) is not None:
                return reason
            if record.started_by == caller.id and not record.allow_self_approval:
                return "you started this run, and it needs someone else to decide"
            return self._slack_user_refusal(decision.decider.id)(record)

        return refusal

    def decide(
        self,
        approval_id: str,
        decision: Decision,
        *,
        claim_owner: str | None = None,
        caller: Principal | None = None,
    ) -> DecideOutcome:
        """Resume the run with ``decision``, exactly once.

        ``caller`` is the API principal deciding (None: a Slack user, the decision's decider).
        ``claim_owner`` names this attempt to decide: a repeat of the same attempt (the same
        click delivered again after a crash) may take back the claim it left, and is told its
        decision counted when its first delivery had already resumed the run.
        """
        refusal = (
            self._slack_user_refusal(decision.decider.id)
            if caller is None
            else self._api_refusal(caller, decision)
        )
        opened = self._open(approval_id, refusal, claim_owner)
        if isinstance(opened, Closed):
            return self._counted_already(approval_id, claim_owner) or opened
        if isinstance(opened, Refused):
            return opened
        record, repeat = opened
        fit_to_send = self._fit(record, decision)
        if isinstance(fit_to_send, Refused | Invalid):
            return fit_to_send
        decision = fit_to_send
        ballot = None  # the vote that met a quorum, for the audit log once it decided the gate
        if isinstance(decision, Approve | Edit) and record.required > 1:
            counted = self._vote(record, decision)
            if isinstance(counted, Voted | Refused):
                return counted
            ballot = audit.vote(record, decision, version=record.version)
            decision = counted
        owner = claim_owner or uuid.uuid4().hex
        claimed = self.store.claim_approval(
            approval_id,
            owner=owner,
            decider_name=decision.decider.name,
            now=int(time.time()),
            lease_seconds=self.lease_seconds,
        )
        if not claimed:
            return self._closed_after_losing(approval_id)
        callback_id = self.store.get_callback_id(approval_id)
        result = json.dumps(decision_to_json(decision)).encode()
        sent = send_under_claim(
            lambda: self.lambda_client.send_durable_execution_callback_success(
                CallbackId=callback_id, Result=result
            ),
            release=lambda: self.store.release_claim(approval_id, owner=owner),
        )
        # Closed under our own claim, before it expired: our first delivery had resumed the run.
        if not sent and not (repeat and _now_iso() <= record.expires_at):
            return Closed("this approval is closed: it expired or was already decided")
        settled = self._settle_decided(approval_id, decision, ballot)
        if isinstance(settled, Decided) and isinstance(decision, Approve) and decision.standing:
            self._grant_standing(settled.record, decision)
        return settled

    # Standing approvals ----------------------------------------------------------------------
    def _grant_standing(self, record: ApprovalRecord, decision: Approve) -> None:
        """The decider allowed the tool for the rest of the run: later calls skip the card."""
        tool = record.tool_name or ""
        grant = {
            "by": {"id": decision.decider.id, "name": decision.decider.name},
            "at": decision.at,
            "approval_id": record.approval_id,
        }
        if self.store.grant_standing(record.run_id, tool, grant):
            granted = audit.standing_granted(
                record.run_id, tool=tool, approval_id=record.approval_id, by=decision.decider
            )
            audit.record(self.store, granted)
            run = self.store.get_run(record.run_id)
            if run is not None:
                self._show_progress(run)

    def revoke(
        self, run_id: str, tool: str, user_id: str, *, caller: Principal | None = None
    ) -> str:
        """End the standing approval of ``tool`` in the run, from its next call on. Who may:
        as for cancelling (the requester, an approver, an API caller allowed to)."""
        run = self.store.get_run(run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id!r}")
        refusal = self._cancel_refusal(run, user_id, caller, verb="revoke standing approvals in")
        if refusal is not None:
            raise CancelRefused(refusal)
        grant = self.store.revoke_standing(run_id, tool, by=user_id, at=_now_iso())
        if grant is None:
            return f"No standing approval of {tool} is in force in run {run_id}."
        revoked = audit.standing_revoked(
            run_id,
            tool=tool,
            granted_in=str(grant["approval_id"]),
            by={"id": user_id, "name": user_id},
        )
        audit.record(self.store, revoked)
        updated = self.store.get_run(run_id)
        if updated is not None:
            self._show_progress(updated)
        return (
            f"The standing approval of {tool} in run {run_id} is revoked: its next call asks again."
        )

    def _fit(self, record: ApprovalRecord, decision: Decision) -> Decision | Refused | Invalid:
        """The decision as it will resume the run (edited arguments as the tool reads them),
        or why it cannot be taken for this gate; checked before anything is claimed."""
        problem = _unfit(record, decision)
        if problem is not None:
            return Refused(problem)
        if isinstance(decision, Edit) and decision.arguments is not None and self.tools:
            try:
                edited = checked_edit(
                    self.tools,
                    record.tool_name or "",
                    decision.arguments,
                    mcp_tool=record.mcp_tool,
                )
            except ToolInputError as err:
                return Invalid(str(err))
            return decision.model_copy(update={"arguments": edited})
        return decision

    def decide_all(
        self,
        approval_id: str,
        decision: Approve | Reject,
        *,
        claim_owner: str | None = None,
        caller: Principal | None = None,
    ) -> list[tuple[ApprovalRecord, DecideOutcome]]:
        """Decide every open call of the batch card ``approval_id`` is on, each exactly once
        and each under its own rules (one refusal never stops the others)."""
        record = self.store.get_approval(approval_id)
        if record is None or record.batch_id is None:
            return []
        calls = self.store.batch_records(record.run_id, record.batch_id)
        open_calls = [r for r in calls if r.state == "pending"]
        outcomes: list[tuple[ApprovalRecord, DecideOutcome]] = []
        for call in open_calls:
            if isinstance(decision, Approve) and call.required > 1:
                why = f"it needs {call.required} approvals: approve it on its own row"
                outcomes.append((call, Refused(why)))
                continue
            owner = f"{claim_owner}:{call.approval_id}" if claim_owner else None
            decided = self.decide(call.approval_id, decision, claim_owner=owner, caller=caller)
            outcomes.append((call, decided))
        return outcomes

    def _vote(self, record: ApprovalRecord, decision: Approve | Edit) -> Voted | Refused | Decision:
        """Count one person's approval toward the quorum: the decision that resumes the run
        once the quorum is met (whoever's vote met it), else how far it is."""
        voter = decision.decider
        edited = None
        if isinstance(decision, Edit):
            change = {"arguments": decision.arguments, "text": decision.text}
            edited = {k: v for k, v in change.items() if v is not None} | {"by": voter.name}
        vote = {"name": voter.name, "at": decision.at, "decision": decision.decision}
        if voter.via is not None:
            vote["via"] = voter.via
        after, counted = self.store.add_vote(
            record.approval_id,
            voter=voter.id,
            vote=vote,
            seen_version=record.version,
            edited=edited,
        )
        if after.state != "pending" and not counted:
            return decision  # closed meanwhile: the claim that follows says how
        if not counted and after.version != record.version:
            by = (after.edited or {}).get("by", "someone")
            return Refused(f"{by} edited this meanwhile: read the card again before approving")
        votes = tally(after)
        if not votes.met:
            audit.record(self.store, audit.vote(after, decision, version=record.version))
            if counted:
                self._show(after, cards.approval_card(after, status_hint=self._status(after)))
            return Voted(record=after, tally=votes, again=not counted)
        return _quorum_decision(after, votes, decider=voter, at=decision.at)

    def _status(self, record: ApprovalRecord) -> str:
        return f"{self.slash_command} status {record.run_id}"

    def _counted_already(self, approval_id: str, claim_owner: str | None) -> Decided | None:
        """The decision on record was made by this very attempt (a click delivered again)."""
        found = self.store.approval_and_claim(approval_id) if claim_owner else None
        if found is None:
            return None
        record, claim = found
        if record.state != "decided" or claim is None or claim.owner != claim_owner:
            return None
        counted = parse_decision(record.decision or {})
        audit.record(self.store, audit.decided(record, counted))  # if the first delivery had not
        self._show(record, cards.decided_card(record, counted, decider_name=counted.decider.name))
        return Decided(record=record, decision=counted)

    def _settle_decided(
        self, approval_id: str, decision: Decision, ballot: AuditEvent | None = None
    ) -> DecideOutcome:
        record = self.store.settle_approval(
            approval_id, state="decided", decision=decision_to_json(decision)
        )
        if record.decision == decision_to_json(decision):  # ours, whoever settled it first
            for event in (ballot, audit.decided(record, decision)):
                if event is not None:
                    audit.record(self.store, event)
            if record.state != "decided":  # the run settled it and moved on (superseded)
                return Decided(record=record, decision=decision)
        elif record.state != "decided":  # cancelled while the decision was on its way
            return self._closed(record, None) or Closed(f"this approval is {record.state}")
        waited = (datetime.now(UTC) - datetime.fromisoformat(record.created_at)).total_seconds()
        decided = {"ApprovalsDecided": (1, COUNT), "DecisionLatency": (waited, SECONDS)}
        emit(CONTROL_SERVICE, decided, decision=decision.decision)
        self._show(record, cards.decided_card(record, decision, decider_name=decision.decider.name))
        return Decided(record=record, decision=decision)

    def _closed(
        self, record: ApprovalRecord, claim: Claim | None, claim_owner: str | None = None
    ) -> Closed | None:
        match record.state:
            case "decided":
                return Closed(f"already decided by {_decider_name(record)}")
            case "claimed":
                # A claim past its lease was left by a decider that died before resuming the
                # run, and one this very attempt left came back with it: either can be
                # retaken, so the gate counts as open.
                mine = claim is not None and claim_owner is not None and claim.owner == claim_owner
                fresh = claim is not None and claim.at >= time.time() - self.lease_seconds
                if claim is not None and fresh and not mine:
                    return Closed(f"already being decided by {claim.by}")
            case "expired":
                return Closed("this approval expired")
            case "superseded":
                return Closed("this card was superseded by a revised version")
            case "cancelled":
                return Closed("this run was cancelled")
        if _now_iso() > record.expires_at:
            return Closed("this approval expired")
        return None

    def _closed_after_losing(self, approval_id: str) -> Closed:
        found = self.store.approval_and_claim(approval_id)
        if found is not None and (closed := self._closed(*found)) is not None:
            return closed
        return Closed("someone else is deciding this approval right now")

    # Cancelling ----------------------------------------------------------------------------
    def cancel(self, run_id: str, user_id: str, *, caller: Principal | None = None) -> str:
        """Stop a run; its open cards say so. From Slack its requester or an approver may;
        through the API, the caller that started it, an API approver, or a delegate for a
        Slack user who may (``user_id`` is then that user; else the caller's id)."""
        run = self.store.get_run(run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id!r}")
        refusal = self._cancel_refusal(run, user_id, caller)
        if refusal is not None:
            raise CancelRefused(refusal)
        if run.get("status") != "running":
            return f"Run {run_id} already ended ({run.get('status')})."
        try:
            self.lambda_client.stop_durable_execution(
                DurableExecutionArn=run["execution_arn"],
                Error={"ErrorType": "Cancelled", "ErrorMessage": f"cancelled by {user_id}"},
            )
        except ClientError as err:
            if not callback_closed(err):
                raise
        at = _now_iso()
        run = self.store.update_run(
            run_id, status="cancelled", phase="stopped", cancelled_by=user_id, cancelled_at=at
        )
        self._show_progress(run)
        closed = []
        for approval_id in run.get("approval_ids", []):
            record = self.store.get_approval(approval_id)
            if record is not None and record.state in ("pending", "claimed"):
                record = self.store.settle_approval(approval_id, state="cancelled")
                if record.state == "cancelled":
                    closed.append(approval_id)
                    self._show(record, cards.cancelled_card(record, by=user_id, at=at))
        name = caller.name if caller is not None and caller.id == user_id else user_id
        via = {"via": caller.name} if caller is not None and caller.id != user_id else {}
        audit_by = {"id": user_id, "name": name} | via
        audit.record(self.store, audit.cancelled(run_id, by=audit_by, closed=closed))
        return f"Run {run_id} cancelled."

    def _show_progress(self, run: dict[str, Any]) -> None:
        try:
            progress.render(
                self.slack, run, status_hint=f"{self.slash_command} status {run['run_id']}"
            )
        except (SlackApiError, SlackClientError, OSError):  # the table says it; Slack may lag
            _logger.warning("could not update progress of %s", run["run_id"])

    def _cancel_refusal(
        self, run: dict[str, Any], user_id: str, caller: Principal | None, *, verb: str = "cancel"
    ) -> str | None:
        slack_user_may = user_id == run["requester"] or user_id in self._approver_ids()
        if caller is None or user_id != caller.id:  # a Slack user, or a delegate acting for one
            if caller is not None and (reason := delegate_refusal(caller, self.api_delegates)):
                return reason
            if not slack_user_may:
                return f"Only the requester or an approver may {verb} this run"
            return None
        if run.get("started_by") == caller.id:
            return None
        if self.api_approvers and not caller.is_named(self.api_approvers):
            return "You are not one of the API approvers (API_APPROVERS)"
        return None

    def _approver_ids(self) -> set[str]:
        users = {a for a in self.approvers if not a.startswith("S")}
        for group in (a for a in self.approvers if a.startswith("S")):
            users.update(self.group_members(group))
        return users

    def _show(self, record: ApprovalRecord, message: Message) -> None:
        show_on_card(self.slack, self.store, record, message, service=CONTROL_SERVICE)
        if self.slack is not None and record.approvers:
            refresh_homes(self.slack, self.store, deciders(record), self.group_members)


def send_under_claim(send: Callable[[], Any], *, release: Callable[[], None]) -> bool:
    """Send a durable callback while holding the claim to send it: True when sent, False when
    the callback was closed already (it timed out, or another send won). Any other failure
    gives the claim back, so the sender may try again at once, and is raised."""
    try:
        send()
    except ClientError as err:
        if callback_closed(err):
            return False
        release()
        emit(CONTROL_SERVICE, {CALLBACK_SEND_FAILURES: (1, COUNT)})
        raise
    return True


def callback_closed(err: ClientError) -> bool:
    """AWS's CallbackTimeoutException and the local runner's 404 both mean "already closed"."""
    code = err.response.get("Error", {}).get("Code")
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("CallbackTimeoutException", "ResourceNotFoundException", "404") or status == 404


def _unfit(record: ApprovalRecord, decision: Decision) -> str | None:
    if isinstance(decision, Approve) and decision.standing and not record.sticky:
        return "this call cannot be allowed for the rest of the run: approve it alone"
    if record.kind == "budget" and isinstance(decision, Edit | Revise):
        return "a budget card takes only continue (approve) or stop (reject)"
    if isinstance(decision, Revise) and not record.can_request_changes:
        return "the revision limit is reached: approve, edit or reject"
    if isinstance(decision, Edit):
        if decision.arguments is not None and record.kind != "tool":
            return "only a tool call's arguments can be edited as JSON"
        if decision.text is not None and record.kind != "draft":
            return "a tool call is edited through its arguments"
    return None


def _quorum_decision(
    record: ApprovalRecord, votes: Tally, *, decider: Decider, at: str
) -> Decision:
    """What resumes the run when the quorum is met: an approval of the content as it stands
    (edited, if someone edited it), naming everyone whose approval counted."""
    approvals = tuple(
        Decider(id=voter, name=name, via=record.votes[voter].get("via"))
        for voter, name in zip(votes.approved_by, votes.names, strict=True)
    )
    edited = record.edited or {}
    if "arguments" in edited or "text" in edited:
        return Edit(
            decider=decider,
            at=at,
            arguments=edited.get("arguments"),
            text=edited.get("text"),
            approvals=approvals,
        )
    return Approve(decider=decider, at=at, approvals=approvals)


def _decider_name(record: ApprovalRecord) -> str:
    decider = (record.decision or {}).get("decider") or {}
    return str(decider.get("name") or decider.get("id") or "someone else")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
