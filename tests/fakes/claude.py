"""A fake Anthropic Messages API on loopback: the real anthropic client talks to it unchanged.

Scripted like pydantic-ai's FunctionModel: a function from the request body to a ``Reply``
(answered as SSE when the request streams, as JSON otherwise), a ``Fault`` (an API error with
its status and headers) or ``Disconnect`` (the connection drops with no answer). Real HTTP
rather than a mock transport, so the SDK's retries, header handling and stream accumulation are
exercised as in production.

``hold_stream`` keeps a streamed answer waiting part-way (the moment a caller is inside an
LLM stream, to kill it there); the request is dropped when the hold is released.

Routes: ``POST /v1/messages`` (first-party) and Bedrock's ``POST /model/{id}/invoke`` and
``/model/{id}/invoke-with-response-stream`` (binary event stream), for ``AnthropicBedrock``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from tests.fakes import _claude_wire as wire
from tests.fakes._http import FakeHandler, LoopbackServer
from tests.fakes.slack import Hold

MODEL = "claude-sonnet-5-5"
_BEDROCK_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>invoke|invoke-with-response-stream)$")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """A successful answer. ``usage`` entries override the computed defaults key by key."""

    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"
    usage: dict[str, Any] | None = None
    model: str | None = None  # default: the model the request asked for
    stop_sequence: str | None = None


@dataclass(frozen=True)
class Fault:
    """An API error: ``{"type": "error", "error": {...}}`` with this status and headers."""

    status: int
    error_type: str
    message: str = "the fake was told to fail"
    headers: dict[str, str] | None = field(default=None)


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without answering: the client sees a connection error."""


Answer = Reply | Fault | Disconnect
Script = Callable[[dict[str, Any]], Answer]


def scripted(*answers: Answer) -> Script:
    """A script answering requests with ``answers`` in order; one request too many fails."""
    queue = list(answers)
    lock = threading.Lock()

    def script(_: dict[str, Any]) -> Answer:
        with lock:
            if not queue:
                raise AssertionError("Claude was asked more often than the test scripted")
            return queue.pop(0)

    return script


def text(value: str) -> dict[str, Any]:
    """A text content block."""
    return {"type": "text", "text": value}


def tool_use(name: str, arguments: dict[str, Any], call_id: str | None = None) -> dict[str, Any]:
    """A tool_use content block (``call_id`` is generated when not given)."""
    call_id = call_id or f"toolu_fake{next(_ids):04d}"
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def overloaded(retry_after: str = "1") -> Fault:
    return Fault(529, "overloaded_error", "Overloaded", {"retry-after": retry_after})


def rate_limited(retry_after: str = "2") -> Fault:
    return Fault(429, "rate_limit_error", "Rate limited", {"retry-after": retry_after})


def default_usage(body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
    """Token counts that grow with the conversation, so cost/size accounting has signal."""
    return {
        "input_tokens": len(json.dumps(body)) // 4,
        "output_tokens": max(1, len(json.dumps(content)) // 4),
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }


class FakeClaude:
    """Records every request (``requests``, ``headers``, ``paths``) and answers from the script.

    An exception raised by the script is answered as a 500 with ``x-should-retry: false`` (so
    the SDK does not retry it) and re-raised when the fake stops, so a test bug cannot be
    swallowed by the code under test's error handling.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.script_errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stream_holds: list[tuple[Hold, int]] = []
        self._server = LoopbackServer(_Handler, self)
        self.base_url = self._server.url

    def start(self) -> FakeClaude:
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving; raise the first script error, if any."""
        self._server.stop()
        if self.script_errors:
            raise self.script_errors[0]

    def __enter__(self) -> FakeClaude:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.stop()
        else:
            self._server.stop()  # the test's own failure is the one to report

    def hold_stream(
        self, matches: Callable[[dict[str, Any]], bool] = lambda _: True, *, after_events: int = 3
    ) -> Hold:
        """Stop the next streamed reply to a request that ``matches`` after ``after_events``
        server-sent events until the hold is released, then drop the connection (a Slack
        ``Hold``; ``apply_first`` has no meaning here)."""
        hold = Hold(matches)
        with self._lock:
            self._stream_holds.append((hold, after_events))
        return hold

    def take_stream_hold(self, body: dict[str, Any]) -> tuple[Hold, int] | None:
        """The stream hold this request falls into, if any (each is taken once)."""
        with self._lock:
            taken = next(
                ((hold, after) for hold, after in self._stream_holds if hold.matches(body)), None
            )
            if taken is not None:
                self._stream_holds.remove(taken)
            return taken

    def answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        """Record a request and ask the script what to answer."""
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.paths.append(path)
        try:
            return self.script(body)
        except Exception as err:  # noqa: BLE001 - the script is test code; report it at stop()
            with self._lock:
                self.script_errors.append(err)
            message = f"the fake's script failed: {err!r}"
            return Fault(500, "api_error", message, {"x-should-retry": "false"})


class _Handler(FakeHandler):
    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        bedrock = _BEDROCK_PATH.match(path)
        if path != "/v1/messages" and bedrock is None:
            self._fault(Fault(404, "not_found_error", f"no route for POST {path}"))
            return
        headers = self.lower_headers()
        if not (headers.get("x-api-key") or headers.get("authorization")):
            self._fault(Fault(401, "authentication_error", "x-api-key header is required"))
            return
        try:
            body = json.loads(self.read_body() or b"{}")
        except json.JSONDecodeError as err:
            self._fault(Fault(400, "invalid_request_error", f"body is not JSON: {err}"))
            return
        if not isinstance(body, dict) or "messages" not in body:
            # As the API answers a request with no messages (a client killed mid-request
            # sends one): never a model turn, so the script is not asked.
            self._fault(Fault(400, "invalid_request_error", "messages: Field required"))
            return
        owner: FakeClaude = self.owner
        answer = owner.answer(path, body, headers)
        match answer:
            case Disconnect():
                self.drop_connection()
            case Fault():
                self._fault(answer)
            case Reply():
                self._reply(answer, body, bedrock)

    def _reply(self, reply: Reply, body: dict[str, Any], bedrock: re.Match[str] | None) -> None:
        """Answer as the route does: JSON, SSE (``"stream": true``) or Bedrock's event stream."""
        model = unquote(bedrock["model"]) if bedrock else body.get("model", MODEL)
        message = wire.message_json(
            message_id=f"msg_fake{next(_ids):04d}",
            model=reply.model or model,
            content=reply.content,
            stop_reason=reply.stop_reason,
            stop_sequence=reply.stop_sequence,
            usage={**default_usage(body, reply.content), **(reply.usage or {})},
        )
        if bedrock is not None:
            if bedrock["op"] == "invoke-with-response-stream":
                self._stream(message, "application/vnd.amazon.eventstream", _bedrock_frame)
            else:
                self.send_json(200, message, self._request_id())
        elif body.get("stream") is True:
            held = self.owner.take_stream_hold(body)
            self._stream(message, "text/event-stream", wire.sse, held)
        else:
            self.send_json(200, message, self._request_id())

    def _stream(
        self,
        message: dict[str, Any],
        content_type: str,
        encode: Callable[[str, dict[str, Any]], bytes],
        held: tuple[Hold, int] | None = None,
    ) -> None:
        hold, stop_at = held if held is not None else (None, -1)
        self.start_chunked(200, content_type, {"cache-control": "no-cache", **self._request_id()})
        for index, (name, data) in enumerate(wire.stream_events(message)):
            if hold is not None and index == stop_at:
                hold.block()
                self.drop_connection()
                return
            self.write_chunk(encode(name, data))
        self.end_chunked()

    def _fault(self, fault: Fault) -> None:
        headers = {**self._request_id(), **(fault.headers or {})}
        self.send_json(fault.status, wire.error_json(fault.error_type, fault.message), headers)

    @staticmethod
    def _request_id() -> dict[str, str]:
        return {"request-id": f"req_fake{next(_ids):04d}"}


def _bedrock_frame(_: str, data: dict[str, Any]) -> bytes:
    return wire.bedrock_chunk(data)
