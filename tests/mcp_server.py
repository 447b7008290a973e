"""A real MCP server (the ``mcp`` package's) on loopback, over Streamable HTTP, for tests.

It records what reached it: each JSON-RPC method, and each ``create_ticket`` call with its
``_meta`` idempotency key, so a test can say what the server saw and when. It refuses any
request without the bearer token, and can be stopped and started again on the same port.
``hold_creates`` keeps each ``create_ticket`` call, once recorded (the server has accepted
it), from answering until it is cleared: a test can kill its caller in between.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

TOKEN = "mcp-test-token"
BIG_RESULT_BYTES = 400 * 1024


class TestMcpServer:
    """Tools: list_tickets (read-only), create_ticket (side-effecting), slow_report
    (read-only, sleeps), broken (read-only, answers isError), big_export (read-only, 400 KB),
    and not_allowed (read-only, for allowlists)."""

    __test__ = False

    def __init__(self, slow_seconds: float = 5) -> None:
        self.methods: list[str] = []
        self.created: list[dict[str, Any]] = []
        self.slow_seconds = slow_seconds
        self.hold_creates = threading.Event()
        self.port = _free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._guarded(
            self._mcp().streamable_http_app(stateless_http=True, json_response=True)
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def list_requests(self) -> int:
        return self.methods.count("tools/list")

    def _mcp(self) -> MCPServer:
        server = MCPServer("tickets")
        read_only = ToolAnnotations(read_only_hint=True)

        @server.tool(annotations=read_only)
        def list_tickets(status: str = "open") -> str:
            """List the tickets with a status."""
            return f"2 {status} tickets: T-1 printer on fire, T-2 coffee machine empty"

        @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
        async def create_ticket(title: str, priority: int, ctx: Context) -> str:
            """Open a ticket."""
            meta = dict(ctx.request_context.meta or {})
            self.created.append({"title": title, "priority": priority, "meta": meta})
            number = len(self.created) + 2
            while self.hold_creates.is_set():
                await asyncio.sleep(0.05)
            return f"created T-{number}: {title}"

        @server.tool(annotations=read_only)
        async def slow_report() -> str:
            """A report that takes a while."""
            await asyncio.sleep(self.slow_seconds)
            return "the report"

        @server.tool(annotations=read_only)
        def broken() -> str:
            """A tool that always fails."""
            raise ValueError("the ticket database is read-only today")

        @server.tool(annotations=read_only)
        def big_export() -> str:
            """Every ticket, ever."""
            return "x" * BIG_RESULT_BYTES

        @server.tool(annotations=read_only)
        def not_allowed() -> str:
            """A tool an allowlist leaves out."""
            return "should not run"

        return server

    def _guarded(self, app: Any) -> Any:
        """The app behind a bearer token, recording each JSON-RPC method that reaches it."""

        async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await app(scope, receive, send)
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {TOKEN}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                return await send({"type": "http.response.body", "body": b"no token"})
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            try:
                method = json.loads(body).get("method") if body else None
            except ValueError:
                method = None
            if method:
                self.methods.append(method)
            sent = False

            async def replay() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            return await app(scope, replay, send)

        return guarded

    def start(self) -> TestMcpServer:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
