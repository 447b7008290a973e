"""The audit log's hash chain: canonical JSON, sealing an entry, verifying a run's entries.

Pure, shared by the store that appends (``agent.storage.audit``), the API, ``signoff audit
--verify`` and the tests. An entry is::

    {"run_id", "seq", "event_id", "kind", "at", "by", "data", "prev", "hash"}

``seq`` counts from 1 within a run; ``prev`` is the previous entry's ``hash`` (``GENESIS`` for
the first); ``hash`` is the SHA-256 (hex) of the entry's canonical JSON without ``hash``.
Canonical JSON is RFC 8785-like: keys sorted, no whitespace, UTF-8 (not ASCII-escaped), and
integers as the only numbers (an amount of money is a decimal string), so any language
serialises the same bytes without RFC 8785's float rules. Keys are ASCII, so sorting by code
point agrees with RFC 8785's UTF-16 order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
ENTRY_FIELDS = ("run_id", "seq", "event_id", "kind", "at", "by", "data", "prev", "hash")


@dataclass(frozen=True)
class AuditEvent:
    """Something that happened in a run: who (``by``: a Slack user, an API caller or
    ``{"id": "signoff"}`` for the run itself), what (``kind`` and ``data``), and an
    ``event_id`` that names it across retries (a step run twice, a click delivered twice)."""

    run_id: str
    kind: str
    event_id: str
    by: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value``; a float is refused (see the module docstring)."""
    _refuse_floats(value)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError(f"audit entries hold no floats (got {value!r}): write a decimal string")
    if isinstance(value, Mapping):
        for inner in value.values():
            _refuse_floats(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _refuse_floats(inner)


def digest(entry: Mapping[str, Any]) -> str:
    """The SHA-256 of an entry's canonical JSON without its ``hash``."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def seal(event: AuditEvent, *, seq: int, prev: str, at: str) -> dict[str, Any]:
    """Entry ``seq`` of the event's run, chained to ``prev``."""
    entry: dict[str, Any] = {
        "run_id": event.run_id,
        "seq": seq,
        "event_id": event.event_id,
        "kind": event.kind,
        "at": at,
        "by": event.by,
        "data": event.data,
        "prev": prev,
    }
    return {**entry, "hash": digest(entry)}


def content_hash(value: Any) -> str:
    """``sha256:<hex>`` of a text's UTF-8, or of a value's JSON with sorted keys and no
    whitespace (tool arguments, which may hold floats: Python writes them shortest-first)."""
    if isinstance(value, str):
        raw = value.encode("utf-8")
    else:
        raw = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """Whether a run's entries form an unbroken chain; if not, the first entry that does not
    match (its ``seq``, or where it should be) and why."""

    entries: int
    bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(entries: Iterable[Mapping[str, Any]]) -> Verdict:
    """Check every entry in order: sequence 1, 2, 3… of one run, each ``prev`` the hash before
    it, each ``hash`` its own content's."""
    prev, run_id, count = GENESIS, None, 0
    for count, entry in enumerate(entries, start=1):
        seq = entry.get("seq")
        name = f"entry {count} ({entry.get('kind', '?')}, event {entry.get('event_id', '?')!r})"
        if seq != count:
            return Verdict(count, count, f"entry {count} is missing: the next entry is {seq!r}")
        if run_id is not None and entry.get("run_id") != run_id:
            return Verdict(count, count, f"{name} belongs to run {entry.get('run_id')!r}")
        run_id = entry.get("run_id")
        if entry.get("hash") != _digest_or_none(entry):
            return Verdict(count, count, f"{name} was altered: its hash does not match it")
        if entry.get("prev") != prev:
            return Verdict(
                count, count, f"{name} does not follow entry {count - 1}: its prev does not match"
            )
        prev = str(entry["hash"])
    return Verdict(count)


def _digest_or_none(entry: Mapping[str, Any]) -> str | None:
    """The entry's digest, or None when it holds something no entry may (a float)."""
    try:
        return digest(entry)
    except TypeError:
        return None
