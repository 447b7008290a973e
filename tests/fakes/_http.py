"""A threaded HTTP server on an ephemeral loopback port, and the handler plumbing the fakes share.

The fakes speak real HTTP so the real clients (anthropic on httpx2, slack_sdk on urllib, boto3
on urllib3) run unchanged: their retries, timeouts and parsing are part of what tests exercise.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class _OwnedServer(ThreadingHTTPServer):
    """A server that carries the fake it serves, so handlers can reach its state."""

    daemon_threads = True  # a keep-alive connection left open must not block interpreter exit
    request_queue_size = 128  # a burst of clients queues, as at a real service (default: 5)

    def __init__(self, handler_class: type[BaseHTTPRequestHandler], owner: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler_class)
        self.owner = owner


class LoopbackServer:
    """Serve ``handler_class`` on 127.0.0.1:<ephemeral> in a daemon thread.

    The socket is bound in the constructor, so ``url`` is known before ``start()``: a fake can
    hand its URL to the code under test before it starts answering.
    """

    def __init__(self, handler_class: type[BaseHTTPRequestHandler], owner: Any) -> None:
        self._server = _OwnedServer(handler_class, owner)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # shutdown() waits for the loop's next poll: a short interval keeps teardown fast.
            kwargs={"poll_interval": 0.02},
            name=handler_class.__qualname__,
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port (idempotent; safe if never started)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (as the real APIs), quiet logs, and body/answer helpers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines; the fakes record calls instead."""

    @property
    def owner(self) -> Any:
        """The fake this server belongs to."""
        server: _OwnedServer = self.server  # type: ignore[assignment]
        return server.owner

    def lower_headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def read_body(self) -> bytes:
        """The request body, whether sent with Content-Length or chunked."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def send_bytes(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def start_chunked(
        self, status: int, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Begin a streamed answer: each ``write_chunk`` reaches the client as it is written."""
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop_connection(self) -> None:
        """Close the socket with no answer at all: what a client sees as a connection error."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may already have gone
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()
