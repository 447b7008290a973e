"""A fake Anthropic Messages API on loopback: the real anthropic client talks to it.

Scripted like pydantic-ai's FunctionModel: a function from the request body to a ``Reply``
(answered as SSE when the request streams, as JSON otherwise), a ``Fault`` (an API error
with its status and headers) or ``Disconnect`` (the connection drops with no answer).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._http import LoopbackServer

MODEL = "claude-sonnet-5-5"


@dataclass(frozen=True)
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"
    usage: dict[str, int] | None = None


@dataclass(frozen=True)
class Fault:
    status: int
    error_type: str
    message: str = "the fake was told to fail"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Disconnect:
    pass


Answer = Reply | Fault | Disconnect
Script = Callable[[dict[str, Any]], Answer]


def scripted(*answers: Answer) -> Script:
    """Answer requests with ``answers`` in order."""
    queue = list(answers)
    lock = threading.Lock()

    def script(_: dict[str, Any]) -> Answer:
        with lock:
            assert queue, "Claude was asked more often than the test scripted"
            return queue.pop(0)

    return script


def overloaded(retry_after: str = "1") -> Fault:
    return Fault(529, "overloaded_error", "Overloaded", {"retry-after": retry_after})


def rate_limited(retry_after: str = "2") -> Fault:
    return Fault(429, "rate_limit_error", "Rate limited", {"retry-after": retry_after})


class FakeClaude:
    """Records every request; answers from the script."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(_Handler, self)
        self.base_url = self._server.url

    def __enter__(self) -> FakeClaude:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def record(self, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
        return self.script(body)


def message(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    """The complete message object for a reply."""
    usage = {
        "input_tokens": len(json.dumps(body)) // 4,
        "output_tokens": max(1, len(json.dumps(reply.content)) // 4),
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        **(reply.usage or {}),
    }
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", MODEL),
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def sse_events(reply: Reply, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The event stream the Messages API sends for this reply."""
    full = message(reply, body)
    start = {
        **full,
        "content": [],
        "stop_reason": None,
        "usage": {**full["usage"], "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(reply.content):
        events += _block_events(index, block)
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": full["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if block["type"] == "text":
        empty: dict[str, Any] = {"type": "text", "text": ""}
        text = block["text"]
        deltas = [{"type": "text_delta", "text": part} for part in _halves(text)]
    elif block["type"] == "tool_use":
        empty = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        encoded = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in _halves(encoded)]
    else:
        raise ValueError(f"the fake cannot stream {block['type']!r} blocks")
    events = [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": empty},
        )
    ]
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [part for part in (text[:middle], text[middle:]) if part] or [""]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        owner: FakeClaude = self.server.owner  # type: ignore[attr-defined]
        answer = owner.record(body, {k.lower(): v for k, v in self.headers.items()})
        match answer:
            case Disconnect():
                self.close_connection = True
                self.connection.close()
            case Fault():
                error = {
                    "type": "error",
                    "error": {"type": answer.error_type, "message": answer.message},
                }
                self._send(
                    answer.status, "application/json", json.dumps(error).encode(), answer.headers
                )
            case Reply() if body.get("stream"):
                stream = "".join(
                    f"event: {name}\ndata: {json.dumps(data)}\n\n"
                    for name, data in sse_events(answer, body)
                )
                self._send(200, "text/event-stream", stream.encode())
            case Reply():
                self._send(200, "application/json", json.dumps(message(answer, body)).encode())

    def _send(
        self, status: int, content_type: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.send_header("request-id", "req_fake")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
