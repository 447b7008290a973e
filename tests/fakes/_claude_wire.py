"""Wire encodings of a Claude answer: the Message JSON, its SSE stream, and Bedrock's event stream.

Pure functions with no server state, so the byte-level shapes can be read (and tested) apart from
the HTTP plumbing. The shapes follow the Messages API: the anthropic SDK's ``MessageStream``
accumulator rebuilds the final message from exactly these events.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

Event = tuple[str, dict[str, Any]]


def message_json(
    *,
    message_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    stop_sequence: str | None,
    usage: dict[str, Any],
) -> dict[str, Any]:
    """The complete ``Message`` object, as a non-streaming call returns it."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


def stream_events(message: dict[str, Any]) -> list[Event]:
    """The server-sent events the API emits while producing ``message``.

    ``message_start`` carries the input-side usage (incl. cache counts) and an almost-zero
    ``output_tokens``; ``message_delta`` carries the stop reason and the final output count.
    """
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[Event] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        events += _block_events(index, block)
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": message["stop_reason"],
                    "stop_sequence": message["stop_sequence"],
                },
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _block_events(index: int, block: dict[str, Any]) -> list[Event]:
    kind = block["type"]
    deltas: list[dict[str, Any]]
    if kind == "text":
        opening: dict[str, Any] = {**block, "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in split(block["text"])]
    elif kind == "tool_use":
        opening = {**block, "input": {}}
        encoded = json.dumps(block["input"])
        # The API opens every tool input with an empty partial_json before the real pieces.
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *split(encoded)]]
    elif kind == "thinking":
        opening = {**block, "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
    else:  # redacted_thinking, server tool blocks...: sent whole in the start event
        opening, deltas = block, []
    events: list[Event] = [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opening},
        )
    ]
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        for delta in deltas
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def split(text: str, pieces: int = 3) -> list[str]:
    """Cut ``text`` into up to ``pieces`` non-empty chunks (2+ whenever it has 2+ characters).

    Clients must concatenate deltas; one chunk per block would hide bugs that take a delta for
    the whole value.
    """
    if len(text) < 2:
        return [text]
    size = -(-len(text) // min(pieces, len(text)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse(name: str, data: dict[str, Any]) -> bytes:
    """One server-sent event; the SDK ignores events without an ``event:`` line."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def error_json(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def bedrock_chunk(data: dict[str, Any]) -> bytes:
    """One ``application/vnd.amazon.eventstream`` frame of InvokeModelWithResponseStream.

    Bedrock wraps each Messages API event as ``{"bytes": base64(json(event))}`` in a binary
    frame: total length, headers length, prelude CRC, headers, payload, message CRC (CRC32).
    """
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(data).encode()).decode()}).encode()
    headers = b"".join(
        _string_header(name, value)
        for name, value in (
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        )
    )
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    frame = prelude + headers + payload
    return frame + struct.pack(">I", zlib.crc32(frame))


def _string_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # header value type 7 is "string": a 2-byte length, then UTF-8.
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", 7, len(raw_value))
        + (raw_value)
    )
