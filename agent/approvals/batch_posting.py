"""Posting a batch card: once every gate of the turn saved its record, one card (or its parts).

Runs in the submitter of the batch's last gate (a retried step): the card's parts are posted
under keys, so a retry finds and updates them instead of posting again. Each record then
points at the part that shows it, and every later change to one call re-renders that part
(``agent.approvals.card_updates``).
"""

from __future__ import annotations

import time

from agent.approvals import batch_cards, notices
from agent.approvals.batch import Batch, parts
from agent.approvals.full_content import show_in_full
from agent.approvals.quorum import deciders
from agent.deps import AgentDeps
from agent.models import ApprovalRecord, RunInfo
from agent.mrkdwn import Message, context, fit, message, one_line, section, slack_date
from agent.storage.slack_messages import post_or_update

# The gates of a turn open together; a gate that never saves a record (nobody can decide
# it) must not hold the others' card back longer than this.
GATHER_SECONDS = 20.0


def post_batch(
    deps: AgentDeps, run: RunInfo, batch: Batch, *, expected: int | None = None
) -> str | None:
    """Post the batch's card once its records are saved (``expected`` of them: fewer than
    the batch when a gate ended before saving one); the first part's ts."""
    assert deps.slack is not None and run.channel is not None
    records = _gathered(deps, run, batch, batch.size if expected is None else expected)
    if not records:
        return None
    packed = parts(records, [len(batch_cards.call_text(r)) for r in records])
    first_ts = None
    for number, part in enumerate(packed, start=1):
        card = batch_cards.batch_card(
            _placed(part, number, len(packed)),
            part=number,
            parts=len(packed),
            status_hint=deps.settings.status_hint(run.run_id),
        )
        ts = post_or_update(
            deps.slack,
            channel=run.channel,
            message=card,
            key=f"{batch.batch_id}-part-{number}",
            thread_ts=run.thread_ts,
            maybe_posted=True,
        )
        first_ts = first_ts or ts
        for record in part:
            deps.store.set_approval_fields(
                record.approval_id,
                channel=run.channel,
                message_ts=ts,
                batch_part=number,
                batch_parts=len(packed),
            )
    saved = deps.store.batch_records(run.run_id, batch.batch_id)
    _show_each_in_full(deps, saved)
    _tell_deciders(deps, saved, batch)
    return first_ts


def _gathered(deps: AgentDeps, run: RunInfo, batch: Batch, expected: int) -> list[ApprovalRecord]:
    deadline = time.monotonic() + GATHER_SECONDS
    while True:
        records = deps.store.batch_records(run.run_id, batch.batch_id)
        if len(records) >= expected or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def _placed(part: list[ApprovalRecord], number: int, count: int) -> list[ApprovalRecord]:
    return [r.model_copy(update={"batch_part": number, "batch_parts": count}) for r in part]


def _show_each_in_full(deps: AgentDeps, records: list[ApprovalRecord]) -> None:
    """Every byte of a call the card had to cut, under the card (as a lone card does)."""
    for record in records:
        show_in_full(deps, record, maybe_posted=True)


def _tell_deciders(deps: AgentDeps, records: list[ApprovalRecord], batch: Batch) -> None:
    """One DM per person for the whole card, not one per call."""
    first = records[0]
    people = list(dict.fromkeys(p for r in records for p in deciders(r)))
    link = notices.permalink(deps.slack, first.channel, first.message_ts)
    notices.send_dms(
        deps.slack,
        first,
        people,
        why="asked",
        key=f"{batch.batch_id}-asked",
        maybe_posted=True,
        dm=batch_dm(records, link),
    )


def batch_dm(records: list[ApprovalRecord], link: str | None) -> Message:
    """The DM about a batch card: how many calls, which tools, the deadline and the link."""
    first = records[0]
    tools = ", ".join(f"`{fit(one_line(r.tool_name or '?'), 100)}`" for r in records)
    asked = f":inbox_tray: *You are asked to decide {len(records)} tool calls:* {tools}"
    facts = f"Run `{fit(first.run_id, 64)}` · decide by {slack_date(first.expires_at)}"
    where = notices.card_link(first, link)
    text = f"Approval needed: {len(records)} tool calls"
    return message(
        text, [section(asked), context(facts), section(f"Decide each on the card. {where}")]
    )
