"""Showing a gate's outcome on its card, without letting Slack decide the outcome.

The gate's state lives in the table; the card only shows it. If Slack refuses the update (the
bot was removed from the channel, the card was deleted), the refusal is logged, counted and
noted on the approval record, and the run or the decision goes on as if it had worked.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from agent.approvals.batch_cards import batch_card
from agent.models import ApprovalRecord
from agent.mrkdwn import Message
from agent.storage.store import Store
from agent.telemetry import COUNT, emit

_logger = logging.getLogger(__name__)
CARD_UPDATE_FAILURES = "CardUpdateFailures"


def show_on_card(
    slack: Any, store: Store, record: ApprovalRecord, message: Message, *, service: str
) -> bool:
    """Update the card of ``record`` (and its copy in an escalation channel) to ``message``;
    False (and noted) when Slack refused."""
    if slack is None or not record.channel or not record.message_ts:
        return False
    if record.batch_id is not None:  # one call of a batch card: the card shows them all
        message = _batch_part(store, record)
    shown = _update(slack, store, record, message, record.channel, record.message_ts, service)
    if record.escalation_channel and record.escalation_ts:
        copy = (record.escalation_channel, record.escalation_ts)
        _update(slack, store, record, message, *copy, service)
    return shown


def _batch_part(store: Store, record: ApprovalRecord) -> Message:
    """The batch card's part that shows ``record``, as its calls stand now."""
    calls = [
        r
        for r in store.batch_records(record.run_id, record.batch_id or "")
        if r.batch_part == record.batch_part
    ]
    return batch_card(
        calls or [record],
        part=record.batch_part,
        parts=record.batch_parts,
        status_hint=record.status_hint or "",
    )


def _update(
    slack: Any,
    store: Store,
    record: ApprovalRecord,
    message: Message,
    channel: str,
    ts: str,
    service: str,
) -> bool:
    try:
        slack.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
    except (SlackApiError, SlackClientError, OSError) as err:
        reason = _reason(err)
        _logger.warning("could not update the card of %s: %s", record.approval_id, reason)
        emit(service, {CARD_UPDATE_FAILURES: (1, COUNT)})
        store.note_card_error(record.approval_id, reason)
        return False
    return True


def _reason(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or "slack_api_error")
    return type(err).__name__
