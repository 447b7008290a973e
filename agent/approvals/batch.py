"""One card for a turn's gated calls: who posts it, and how the calls are spread over parts.

Each gated call keeps its own gate (its own record, callback, quorum, ladder and deadline);
only the card is shared. The gates of a turn open together (the turn's map gives every gated
call a slot of its own), each saving its record; the gate of the batch's last call posts the
card once every record is saved, so a reviewer gets every call at once, on one card, or on
several when Slack's limits are reached ("part i of n").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import ApprovalRecord

# Slack refuses a message over 50 blocks, and about 12,000 characters of block text in all.
CALL_BLOCKS = 4  # a call's section, context, buttons and divider
FRAME_BLOCKS = 4  # the header, the facts, the actions for the lot and the status line
MAX_BLOCKS = 50
TEXT_BUDGET = 10_000
MAX_CALLS_PER_PART = (MAX_BLOCKS - FRAME_BLOCKS) // CALL_BLOCKS


@dataclass(frozen=True, kw_only=True)
class Batch:
    """Where a gated call sits among its turn's gated calls."""

    batch_id: str
    size: int  # how many gated calls the turn has
    position: int  # this call's place among them (0-based)

    @property
    def posts_the_card(self) -> bool:
        """The last call's gate posts the card, once every gate saved its record."""
        return self.position == self.size - 1


def batch_id_for(execution_arn: str, turn: int) -> str:
    """Opaque and stable across retries, like an approval id."""
    return "bt_" + hashlib.sha256(f"{execution_arn}|tools-{turn}".encode()).hexdigest()[:32]


def parts(records: Sequence[ApprovalRecord], sizes: Sequence[int]) -> list[list[ApprovalRecord]]:
    """The records in order, packed into cards: at most MAX_CALLS_PER_PART calls and about
    TEXT_BUDGET characters each (``sizes``: each call's text as the card shows it)."""
    packed: list[list[ApprovalRecord]] = [[]]
    used = 0
    for record, size in zip(records, sizes, strict=True):
        current = packed[-1]
        if current and (len(current) >= MAX_CALLS_PER_PART or used + size > TEXT_BUDGET):
            packed.append([])
            used = 0
        packed[-1].append(record)
        used += size
    return packed
