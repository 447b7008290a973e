"""Checkpoint payloads as plain, compact JSON.

The SDK's default serdes wraps every value, down to each string, in a type tag
(``{"t":"m","v":{"model":{"t":"s","v":"…"}}}``): about 40% more bytes for a model reply and
slower to decode on every replay. The agent's step results are JSON already (dicts, lists,
strings, numbers), so they are written as they are; a map's BatchResult goes through its own
``to_dict``/``from_dict``.
"""

from __future__ import annotations

import json
from typing import Any

from aws_durable_execution_sdk_python import BatchResult
from aws_durable_execution_sdk_python.serdes import SerDes, SerDesContext


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class CompactJson(SerDes[Any]):
    """JSON values, no type tags, no spaces."""

    def serialize(self, value: Any, _: SerDesContext) -> str:
        return _dumps(value)

    def deserialize(self, data: str, _: SerDesContext) -> Any:
        return json.loads(data)


class BatchJson(SerDes[BatchResult[Any]]):
    """A map's BatchResult whose items' results are JSON values."""

    def serialize(self, value: BatchResult[Any], _: SerDesContext) -> str:
        return _dumps(value.to_dict())

    def deserialize(self, data: str, _: SerDesContext) -> BatchResult[Any]:
        return BatchResult.from_dict(json.loads(data))


COMPACT_JSON = CompactJson()
BATCH_JSON = BatchJson()
