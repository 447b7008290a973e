"""Every byte a card could not show, posted under it, so a reviewer reads all they approve."""

from __future__ import annotations

from agent import messages
from agent.approvals import batch_cards, cards
from agent.deps import AgentDeps
from agent.models import ApprovalRecord
from agent.storage.slack_messages import post_parts


def show_in_full(deps: AgentDeps, record: ApprovalRecord, *, maybe_posted: bool) -> None:
    """Post every byte of what the card could not show, under the card, so the reviewer
    reads all of what they approve (the card names the same content hash)."""
    assert deps.slack is not None and record.channel is not None
    content = cards.content_of(record)
    if batch_cards.fits_on_row(record) if record.batch_id else cards.fits_on_card(record):
        return
    post_parts(
        deps.slack,
        channel=record.channel,
        parts=messages.full_content_messages(content, title=record.title),
        key=f"{record.approval_id}-full",
        thread_ts=record.thread_ts,
        maybe_posted=maybe_posted,
    )
