"""What a run stores outside its checkpoints, metered at the boto3 clients it uses.

DynamoDB: every item request asks for ``ReturnConsumedCapacity`` (so the table's own
metering, as DynamoDB bills it, comes back with each answer) and the bytes of each item
written are counted by DynamoDB's item-size rules (attribute names plus values). S3: PUTs
and GETs are counted; the bytes stored are read from the bucket at the end.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any

WRITES = ("PutItem", "UpdateItem", "DeleteItem")
READS = ("GetItem", "Query", "Scan")


@dataclass
class TableMeter:
    """DynamoDB traffic of one client: request units as the table metered them, and bytes."""

    write_units: float = 0.0
    read_units: float = 0.0
    writes: int = 0
    reads: int = 0
    bytes_written: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> TableMeter:
        events = client.meta.events
        for operation in (*WRITES, *READS):
            events.register(f"before-parameter-build.dynamodb.{operation}", _ask_for_capacity)
            events.register(f"after-call.dynamodb.{operation}", self._after_call)
        events.register("before-call.dynamodb.PutItem", self._put_item)
        events.register("before-call.dynamodb.UpdateItem", self._update_item)
        return self

    def _put_item(self, params: dict[str, Any], **_: Any) -> None:
        item = json.loads(params["body"])["Item"]
        with self._lock:
            self.bytes_written += item_bytes(item)

    def _update_item(self, params: dict[str, Any], **_: Any) -> None:
        """An update that returns the item is counted whole on its answer; one that does not
        is counted as the values it sets."""
        request = json.loads(params["body"])
        if request.get("ReturnValues") == "ALL_NEW":
            return
        values = request.get("ExpressionAttributeValues") or {}
        with self._lock:
            self.bytes_written += sum(value_bytes(v) for v in values.values())

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        body = json.loads(http_response.content or b"{}")
        units = float((body.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0))
        with self._lock:
            if model.name in WRITES:
                self.writes += 1
                self.write_units += units
                if model.name == "UpdateItem":
                    self.bytes_written += item_bytes(body.get("Attributes") or {})
            else:
                self.reads += 1
                self.read_units += units


def _ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
    params.setdefault("ReturnConsumedCapacity", "TOTAL")


@dataclass
class BucketMeter:
    """S3 requests of one client."""

    puts: int = 0
    gets: int = 0
    bytes_put: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> BucketMeter:
        client.meta.events.register("before-parameter-build.s3.PutObject", self._put)
        client.meta.events.register("before-call.s3.GetObject", self._get)
        return self

    def _put(self, params: dict[str, Any], **_: Any) -> None:
        body = params.get("Body") or b""
        with self._lock:
            self.puts += 1
            self.bytes_put += len(body) if isinstance(body, bytes | bytearray | str) else 0

    def _get(self, **_: Any) -> None:
        with self._lock:
            self.gets += 1


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules: each attribute's name plus its value."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def value_bytes(value: dict[str, Any]) -> int:
    """One typed attribute value (``{"S": ...}``, ``{"M": {...}}``...), in bytes."""
    kind, inner = next(iter(value.items()))
    match kind:
        case "S":
            return len(str(inner).encode())
        case "N":
            digits = len(str(inner).lstrip("-").replace(".", "").lstrip("0")) or 1
            return math.ceil(digits / 2) + 1
        case "B":
            return len(inner)
        case "BOOL" | "NULL":
            return 1
        case "SS" | "NS" | "BS":
            return sum(value_bytes({kind[0]: element}) for element in inner)
        case "L":
            return 3 + sum(1 + value_bytes(element) for element in inner)
        case "M":
            return 3 + sum(1 + len(k.encode()) + value_bytes(v) for k, v in inner.items())
    return len(json.dumps(inner))


def bucket_bytes(s3: Any, bucket: str) -> int:
    """Bytes stored in a bucket now."""
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        total += sum(int(obj["Size"]) for obj in page.get("Contents", []))
    return total
