"""The audit log on dynalite: chained in order, exactly once per event, under concurrency,
and exported day by day through its index."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent.storage.audit import AuditLog, ExportPosition, audit_pk, seq_key
from agent.storage.audit_chain import GENESIS, AuditEvent, digest, seal, verify
from agent.storage.store import create_table
from tests.fakes.aws import Dynalite


@pytest.fixture
def log(dynalite: Dynalite, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynalite.endpoint_url)
    name = f"audit-{uuid.uuid4().hex[:8]}"
    create_table(boto3.client("dynamodb"), name)
    return AuditLog(boto3.resource("dynamodb").Table(name))


def event(run_id: str, n: int, **data: Any) -> AuditEvent:
    return AuditEvent(run_id, "vote", f"ap_x:vote:U{n}", {"id": f"U{n}", "name": f"u{n}"}, data)


def test_entries_chain_from_genesis_in_order(log: AuditLog) -> None:
    for n in range(3):
        log.append(event("run-a", n, note="", nested={"empty": [], "none": None}))
    entries = log.entries("run-a")
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS
    assert [e["prev"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert all(e["hash"] == digest(e) for e in entries)
    assert entries[0]["data"] == {"note": "", "nested": {"empty": [], "none": None}}
    assert verify(entries).ok


def test_a_retried_append_does_not_duplicate(log: AuditLog) -> None:
    first = log.append(event("run-b", 1))
    assert first is not None
    assert log.append(event("run-b", 1)) is None  # the same event id: a retried step
    log.append(event("run-b", 2))
    assert log.append(event("run-b", 1)) is None
    assert [e["event_id"] for e in log.entries("run-b")] == ["ap_x:vote:U1", "ap_x:vote:U2"]


def test_concurrent_appends_never_lose_or_reorder_entries(log: AuditLog) -> None:
    ids = [f"ev-{n}" for n in range(24)]
    start = threading.Barrier(8)

    def append_some(mine: list[str]) -> None:
        start.wait()
        for event_id in mine:
            # Each event twice (a click delivered twice), from different threads.
            log.append(AuditEvent("run-c", "vote", event_id, {"id": "U1", "name": "u"}))

    threads = [threading.Thread(target=append_some, args=(ids[i % 4 :: 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = log.entries("run-c")
    assert sorted(e["event_id"] for e in entries) == sorted(ids)  # each exactly once
    assert [e["seq"] for e in entries] == list(range(1, 25))
    assert verify(entries).ok


def test_an_entry_whose_writer_crashed_after_the_head_is_written_by_the_next_reader(
    log: AuditLog,
) -> None:
    log.append(event("run-d", 1))
    log.append(event("run-d", 2))
    # The second append's own put never happened: only the head knows entry 2.
    log.table.delete_item(Key={"pk": audit_pk("run-d"), "sk": seq_key(2)})
    assert log.append(event("run-d", 2)) is None  # its retry finds it recorded...
    entries = log.entries("run-d")  # ...and it is in the log again, from the head
    assert [e["seq"] for e in entries] == [1, 2] and verify(entries).ok


def test_verify_names_the_entry_that_was_altered_in_the_table(log: AuditLog) -> None:
    for n in range(4):
        log.append(event("run-e", n, count=n))
    log.table.update_item(
        Key={"pk": audit_pk("run-e"), "sk": seq_key(3)},
        UpdateExpression="SET #d.#c = :forged",
        ExpressionAttributeNames={"#d": "data", "#c": "count"},
        ExpressionAttributeValues={":forged": 99},
    )
    verdict = verify(log.entries("run-e"))
    assert not verdict.ok and verdict.bad_seq == 3
    assert "entry 3" in (verdict.problem or "") and "altered" in (verdict.problem or "")


def test_verify_names_a_removed_entry() -> None:
    chain: list[dict[str, Any]] = []
    for n in range(3):
        prev = chain[-1]["hash"] if chain else GENESIS
        chain.append(seal(event("run-f", n), seq=n + 1, prev=prev, at="2026-01-01T00:00:00"))
    verdict = verify([chain[0], chain[2]])
    assert verdict.bad_seq == 2 and "entry 2 is missing" in (verdict.problem or "")


def test_the_export_pages_through_days_in_time_order(log: AuditLog) -> None:
    for n in range(5):
        log.append(event("run-g", n))
    for n in range(3):
        log.append(event("run-h", n))
    now = datetime.now(UTC)
    since, until = now - timedelta(days=2), now + timedelta(minutes=1)
    pages: list[list[dict[str, Any]]] = []
    position: ExportPosition | None = None
    while True:
        found, position = log.export(since=since, until=until, start=position, limit=3)
        pages.append(found)
        if position is None:
            break
    exported = [e for page in pages for e in page]
    assert [len(p) for p in pages[:-1]] == [3] * (len(pages) - 1)
    assert sorted((e["run_id"], e["seq"]) for e in exported) == sorted(
        [("run-g", s) for s in range(1, 6)] + [("run-h", s) for s in range(1, 4)]
    )
    assert [e["at"] for e in exported] == sorted(e["at"] for e in exported)
    later, _ = log.export(since=until, until=until + timedelta(days=1), start=None, limit=10)
    assert later == []
