"""Each run's audit log in the table: append-only, hash-chained, exactly once per event.

    AUDIT#<run_id> / 000000000001 …   the entries, in order (``agent.storage.audit_chain``)
    AUDIT#<run_id> / HEAD             the chain's head: last seq and hash, the last entry,
                                      and the (hashed) event ids recorded so far

DynamoDB's transactions would guard an entry and an event-id marker together, but dynalite
(the local table) has none, so the head is the one item every append changes: a conditional
update on its ``seq`` (``seq = n``: nobody appended since we read it) moves it to n+1 and adds
the event's id in the same write. Whoever loses that race (a concurrent click) reads the head
again and retries, so entries are never reordered; an event whose id the head holds already (a
retried step, a click delivered twice) is not appended again. The entry item is then written
with a conditional put on its sequence number (``attribute_not_exists``): the head keeps the
last entry in full, so if that put never happened (a crash between the two writes) the next
append, or the next read, writes it from the head. Entries are never updated or deleted.

Entries carry ``audit_day`` (``2026-08-01``) and ``audit_at`` for the ``audit_by_day`` index:
an export reads one day's partition at a time, in time order, without a scan.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from agent.storage.audit_chain import ENTRY_FIELDS, GENESIS, AuditEvent, seal
from agent.storage.store import AUDIT_INDEX

HEAD = "HEAD"
FIRST_SEQ_KEY, LAST_SEQ_KEY = "0" * 12, "9" * 12
MAX_ATTEMPTS = 64  # concurrent appenders to one run: each loss means another got in first
DAY = "%Y-%m-%d"


class AuditContention(RuntimeError):
    """Other appends kept winning the race for the run's head (the step or click retries)."""


def audit_pk(run_id: str) -> str:
    return f"AUDIT#{run_id}"


def seq_key(seq: int) -> str:
    """The entry's sort key: zero-padded, so the table's order is the chain's."""
    return f"{seq:012d}"


def event_token(event_id: str) -> str:
    """What the head keeps of an event id (fixed size, however long the id)."""
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:32]


def now_at() -> str:
    """An entry's time: UTC, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ExportPosition:
    """Where an export page starts: a day's partition, and the index key after which to read
    (None: from the day's start)."""

    day: str
    after: dict[str, str] | None = None


@dataclass(frozen=True)
class AuditLog:
    """The audit logs in ``table`` (a boto3 DynamoDB Table resource)."""

    table: Any

    def append(self, event: AuditEvent) -> dict[str, Any] | None:
        """Append ``event`` to its run's log: the new entry, or None when the log holds it
        already."""
        token = event_token(event.event_id)
        for attempt in range(MAX_ATTEMPTS):
            head = self._head(event.run_id)
            if head is not None:
                self._write_entry(head["last"])  # in case its own writer crashed before this
                if token in head.get("events", set()):
                    return None
            seq = int(head["seq"]) + 1 if head else 1
            entry = seal(event, seq=seq, prev=str(head["hash"]) if head else GENESIS, at=now_at())
            if self._advance(event.run_id, head, entry, token):
                self._write_entry(entry)
                return entry
            time.sleep(
                random.uniform(0, 0.005 * (attempt + 1))
            )  # jitter: racing appenders spread out
        raise AuditContention(f"could not append to the audit log of run {event.run_id!r}")

    def entries(self, run_id: str) -> list[dict[str, Any]]:
        """Every entry of a run, in order (a tail entry the head holds is written first)."""
        head = self._head(run_id)
        if head is not None:
            self._write_entry(head["last"])
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": audit_pk(run_id),
                ":first": FIRST_SEQ_KEY,
                ":last": LAST_SEQ_KEY,
            },
            "ConsistentRead": True,
        }
        found: list[dict[str, Any]] = []
        while True:
            response = self.table.query(**kwargs)
            found += [entry_of(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def export(
        self, *, since: datetime, until: datetime, start: ExportPosition | None, limit: int
    ) -> tuple[list[dict[str, Any]], ExportPosition | None]:
        """Up to ``limit`` entries of every run with ``since <= at < until``, in time order
        day by day, and where the next page starts (None: this was the last)."""
        days = export_days(since, until)
        position = start if start is not None else (ExportPosition(days[0]) if days else None)
        low = since.astimezone(UTC).isoformat(timespec="milliseconds")
        high = (until.astimezone(UTC) - timedelta(milliseconds=1)).isoformat(
            timespec="milliseconds"
        )
        found: list[dict[str, Any]] = []
        while position is not None and len(found) < limit:
            kwargs: dict[str, Any] = {
                "IndexName": AUDIT_INDEX,
                "KeyConditionExpression": "audit_day = :d AND audit_at BETWEEN :low AND :high",
                "ExpressionAttributeValues": {":d": position.day, ":low": low, ":high": high},
                "Limit": limit - len(found),
            }
            if position.after:
                kwargs["ExclusiveStartKey"] = position.after
            response = self.table.query(**kwargs)
            found += [entry_of(item) for item in response.get("Items", [])]
            after = response.get("LastEvaluatedKey")
            if after:
                position = ExportPosition(position.day, dict(after))
            else:
                later = [d for d in days if d > position.day]
                position = ExportPosition(later[0]) if later else None
        return found, position

    def _head(self, run_id: str) -> dict[str, Any] | None:
        key = {"pk": audit_pk(run_id), "sk": HEAD}
        item: dict[str, Any] | None = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return item

    def _advance(
        self, run_id: str, head: dict[str, Any] | None, entry: dict[str, Any], token: str
    ) -> bool:
        """Move the head from ``head`` to ``entry``; False when another append got there first."""
        try:
            if head is None:
                self.table.put_item(
                    Item={
                        "pk": audit_pk(run_id),
                        "sk": HEAD,
                        "seq": entry["seq"],
                        "hash": entry["hash"],
                        "last": entry,
                        "events": {token},
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
            else:
                self.table.update_item(
                    Key={"pk": audit_pk(run_id), "sk": HEAD},
                    UpdateExpression="SET seq = :next, #h = :hash, #l = :last ADD events :token",
                    ConditionExpression="seq = :seq",
                    ExpressionAttributeNames={"#h": "hash", "#l": "last"},
                    ExpressionAttributeValues={
                        ":next": entry["seq"],
                        ":hash": entry["hash"],
                        ":last": entry,
                        ":token": {token},
                        ":seq": head["seq"],
                    },
                )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _write_entry(self, entry: dict[str, Any]) -> None:
        """Write an entry's own item once (an entry already written is left as it is)."""
        plain = entry_of(entry)
        item = {
            **plain,
            "pk": audit_pk(plain["run_id"]),
            "sk": seq_key(plain["seq"]),
            "audit_day": plain["at"][:10],
            "audit_at": plain["at"],
        }
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def export_days(since: datetime, until: datetime) -> list[str]:
    """The UTC days an export from ``since`` to just before ``until`` reads, in order."""
    first = since.astimezone(UTC).date()
    last = (until.astimezone(UTC) - timedelta(milliseconds=1)).date()
    return [(first + timedelta(days=i)).strftime(DAY) for i in range((last - first).days + 1)]


def entry_of(item: dict[str, Any]) -> dict[str, Any]:
    """The entry in a stored item (table keys and index attributes left out, numbers as int)."""
    return {key: _plain(item[key]) for key in ENTRY_FIELDS if key in item}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)  # entries hold integers only (agent.storage.audit_chain)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value
