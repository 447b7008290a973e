"""The ladder's rungs: a reminder to the people who have not voted, or the escalation.

Each rung is one durable step (``agent.approvals.ladder``), so it runs once per retry and
never again on replay. A rung whose gate is no longer open does nothing: a decision may land
between the timer firing and the step running. Slack refusing a reminder never fails the gate.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError

from agent.approvals import audit, cards, notices
from agent.approvals.card_updates import show_on_card
from agent.approvals.ladder import Rung
from agent.approvals.quorum import is_group, not_voted
from agent.approvals.rules import Escalation, GateRule
from agent.clock import now_iso
from agent.deps import AgentDeps
from agent.models import ApprovalRecord, RunInfo
from agent.mrkdwn import Message, context, fit, mention, message, one_line, section, slack_date
from agent.storage.slack_messages import post_or_update
from agent.telemetry import AGENT_SERVICE, COUNT, emit

_logger = logging.getLogger(__name__)
SLACK_FAILURES = (SlackApiError, SlackClientError, OSError)


def climb(deps: AgentDeps, run: RunInfo, approval_id: str, rung: Rung, rule: GateRule) -> int:
    """Run one rung; returns how many people it reached (0 when the gate had closed)."""
    record = deps.store.get_approval(approval_id)
    if record is None or record.state != "pending":
        return 0
    if rung.kind == "escalate":
        assert rule.escalate is not None
        return escalate(deps, run, record, rule.escalate)
    return remind(deps, run, record, rung.index)


def remind(deps: AgentDeps, run: RunInfo, record: ApprovalRecord, index: int) -> int:
    """Mention who has not voted in the run's thread, and DM each of them a link."""
    waiting = not_voted(record, notices.members_of(deps.slack, _groups(record)) or ())
    deps.store.set_approval_fields(record.approval_id, reminders_sent=index + 1)
    audit.record(deps.store, audit.reminder_sent(record, index=index, waiting=waiting))
    emit(AGENT_SERVICE, {"ApprovalReminders": (1, COUNT)}, kind=record.kind)
    if deps.slack is None or not record.channel:
        return len(waiting)
    link = notices.permalink(deps.slack, record.channel, record.message_ts)
    _post(deps, record, reminder_message(record, waiting, link), key=f"remind-{index}")
    notices.send_dms(
        deps.slack,
        record,
        waiting,
        why="reminder",
        key=f"{record.approval_id}-remind-{index}",
        maybe_posted=True,
        dm=notices.dm_message(record, why="reminder", permalink=link),  # the link read above
    )
    return len(waiting)


def escalate(deps: AgentDeps, run: RunInfo, record: ApprovalRecord, escalation: Escalation) -> int:
    """Let the escalation's people decide too, say so on the card (and in its channel), and
    DM them."""
    record = deps.store.set_approval_fields(
        record.approval_id,
        escalated_to=list(escalation.to),
        escalated_at=now_iso(),
        escalation_channel=escalation.channel,
    )
    audit.record(deps.store, audit.escalated(record))
    emit(AGENT_SERVICE, {"ApprovalsEscalated": (1, COUNT)}, kind=record.kind)
    slack = deps.slack
    if slack is None:
        return len(escalation.to)
    card = cards.approval_card(record, status_hint=deps.settings.status_hint(run.run_id))
    show_on_card(slack, deps.store, record, card, service=AGENT_SERVICE)
    if escalation.channel:
        ts = _post_copy(deps, record, card, escalation.channel)
        if ts is not None:
            record = deps.store.set_approval_fields(record.approval_id, escalation_ts=ts)
    link = notices.permalink(slack, record.channel, record.message_ts)
    if record.channel:
        _post(deps, record, escalation_message(record, link), key="escalated")
    return notices.send_dms(
        slack,
        record,
        escalation.to,
        why="escalated",
        key=f"{record.approval_id}-escalated",
        maybe_posted=True,
        dm=notices.dm_message(record, why="escalated", permalink=link),  # the link read above
    )


def _groups(record: ApprovalRecord) -> list[str]:
    return [p for p in record.approvers + record.escalated_to if is_group(p)]


def _post(deps: AgentDeps, record: ApprovalRecord, note: Message, *, key: str) -> None:
    """A reply in the card's thread, once per rung (a retried step finds it by its key)."""
    assert deps.slack is not None and record.channel is not None
    try:
        post_or_update(
            deps.slack,
            channel=record.channel,
            message=note,
            key=f"{record.approval_id}-{key}",
            thread_ts=record.thread_ts or record.message_ts,
            maybe_posted=True,
        )
    except SLACK_FAILURES as err:
        _logger.warning("could not post the %s of %s: %s", key, record.approval_id, err)


def _post_copy(deps: AgentDeps, record: ApprovalRecord, card: Message, channel: str) -> str | None:
    """The card again in the escalation channel: the same approval, decided exactly once
    wherever it is clicked."""
    assert deps.slack is not None
    try:
        return post_or_update(
            deps.slack,
            channel=channel,
            message=card,
            key=f"{record.approval_id}-escalation-card",
            known_ts=record.escalation_ts,
            maybe_posted=True,
        )
    except SLACK_FAILURES as err:
        _logger.warning("could not post %s in %s: %s", record.approval_id, channel, err)
        return None


def reminder_message(
    record: ApprovalRecord, waiting: list[str] | tuple[str, ...], link: str | None
) -> Message:
    """A thread reply: who the gate still waits on, when it is due, and the votes so far."""
    who = ", ".join(mention(u) for u in waiting) or "its approvers"
    title = fit(one_line(record.title), 200)
    text = f":bell: Reminder: *{title}* is waiting on {who}. {notices.card_link(record, link)}"
    silence = cards.timeout_warning(record.kind, record.on_timeout)
    facts = [f"If nobody decides by {slack_date(record.expires_at)}, {silence}"]
    if record.required > 1:
        facts.append(cards.quorum_line(record))
    return message(
        f"Reminder: {title} is waiting for a decision", [section(text), context(" · ".join(facts))]
    )


def escalation_message(record: ApprovalRecord, link: str | None) -> Message:
    """A thread reply: who may decide now that the gate escalated, with a link to the card."""
    to = ", ".join(mention(p) for p in record.escalated_to) or "more people"
    title = fit(one_line(record.title), 200)
    text = f":rotating_light: Escalated to {to}: *{title}* has had no decision yet; "
    text += f"they may decide too. {notices.card_link(record, link)}"
    return message(f"Escalated: {title}", [section(text)])
