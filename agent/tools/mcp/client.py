"""The official MCP SDK's client over Streamable HTTP, driven from synchronous steps.

Each request opens its own connection (the 2026 protocol is stateless; older servers get the
handshake the SDK falls back to) and runs on its own event loop, so a step in any thread can
call it. A request that never reached the server (connection refused, DNS, TLS) or that got a
5xx answer is tried again a few times in place; nothing else is repeated, so a call the
server accepted runs once. What went wrong comes back as ``McpFailure`` naming it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, InputRequiredResult, RequestParamsMeta

from agent.tools.mcp.config import McpServer

T = TypeVar("T")

# The request's _meta key for the call's idempotency key (the same on every attempt).
IDEMPOTENCY_META = "idempotencyKey"
LIST_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5
RETRY_DELAYS = (0.5, 1.5)  # in place, after a request that never reached the server
LISTING_CACHE_SECONDS = 300  # a container keeps a server's listing between runs this long
TIMED_OUT = -32001  # JSON-RPC code of the SDK's request timeout


class McpFailure(Exception):
    """A request to an MCP server failed; the message says what happened, for Claude and the
    thread (never a header)."""


class McpUnreachable(McpFailure):
    """The server did not take the request: connection failed or a 5xx answer."""


@dataclass
class McpConnector:
    """Talks to the configured servers; keeps each listing for a few minutes per container."""

    servers: tuple[McpServer, ...]
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    cache_seconds: float = LISTING_CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _listings: dict[str, tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def server(self, name: str) -> McpServer | None:
        return next((s for s in self.servers if s.name == name), None)

    def list_tools(self, server: McpServer) -> list[dict[str, Any]]:
        """The server's tools as listed (``name``, ``description``, ``inputSchema``,
        ``annotations``), from this container's cache when fresh."""
        with self._lock:
            cached = self._listings.get(server.name)
        if cached is not None and self.clock() - cached[0] < self.cache_seconds:
            return cached[1]
        listed = self._retrying(server, lambda: _list(server))
        with self._lock:
            self._listings[server.name] = (self.clock(), listed)
        return listed

    def call_tool(
        self, server: McpServer, tool: str, arguments: dict[str, Any], *, idempotency_key: str
    ) -> CallToolResult:
        """One ``tools/call``; ``McpFailure`` when there is no result to give Claude."""
        return self._retrying(server, lambda: _call(server, tool, arguments, idempotency_key))

    def _retrying(self, server: McpServer, request: Callable[[], Awaitable[T]]) -> T:
        for delay in (*self.retry_delays, None):
            try:
                return _run_async(request, server)
            except McpUnreachable:
                if delay is None:
                    raise
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _run_async(request: Callable[[], Awaitable[T]], server: McpServer) -> T:
    async def guarded() -> T:
        try:
            return await request()
        except McpFailure:
            raise
        except Exception as err:  # noqa: BLE001 - every SDK failure becomes one named error
            raise _named(server, err) from None

    return asyncio.run(guarded())


class _Statuses:
    """The HTTP statuses a request got (the SDK reports a 5xx only as a generic error)."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def __call__(self, response: httpx2.Response) -> None:
        self.seen.append(response.status_code)


async def _connected(server: McpServer, statuses: _Statuses, read_seconds: float) -> Any:
    timeout = httpx2.Timeout(read_seconds, connect=CONNECT_TIMEOUT_SECONDS)
    return httpx2.AsyncClient(
        headers=dict(server.headers), timeout=timeout, event_hooks={"response": [statuses]}
    )


async def _list(server: McpServer) -> list[dict[str, Any]]:
    statuses = _Statuses()
    try:
        async with (
            await _connected(server, statuses, LIST_TIMEOUT_SECONDS) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            tools, cursor = [], None
            while True:
                page = await client.list_tools(cursor=cursor, cache_mode="refresh")
                tools += [
                    t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools
                ]
                cursor = page.next_cursor
                if cursor is None:
                    return tools
    except Exception as err:  # noqa: BLE001
        raise _named(server, err, statuses.seen) from None


async def _call(
    server: McpServer, tool: str, arguments: dict[str, Any], idempotency_key: str
) -> CallToolResult:
    statuses = _Statuses()
    seconds = server.timeout_seconds
    try:
        async with (
            await _connected(server, statuses, seconds + 5) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            result: CallToolResult | InputRequiredResult = await client.session.call_tool(
                tool,
                arguments,
                read_timeout_seconds=float(seconds),
                meta=cast(RequestParamsMeta, {IDEMPOTENCY_META: idempotency_key}),
                allow_input_required=True,
            )
    except Exception as err:  # noqa: BLE001
        raise _named(server, err, statuses.seen, seconds) from None
    if isinstance(result, InputRequiredResult):
        raise McpFailure(
            f"the MCP server {server.name} asked for interactive input during {tool}, "
            "which is not supported yet: the call did not complete"
        )
    return result


def _named(
    server: McpServer,
    err: BaseException,
    statuses: Sequence[int] = (),
    timeout: int | None = None,
) -> McpFailure:
    """The failure as one named error (the SDK nests them in exception groups)."""
    leaves = list(_leaves(err))
    where = f"the MCP server {server.name}"
    failed = [s for s in statuses if s >= 500]
    if failed:
        return McpUnreachable(f"{where} answered HTTP {failed[-1]}")
    if any(isinstance(e, httpx2.ConnectError | httpx2.ConnectTimeout) for e in leaves):
        return McpUnreachable(f"{where} is down or unreachable (the connection failed)")
    if any(isinstance(e, MCPError) and e.code == TIMED_OUT for e in leaves) or any(
        isinstance(e, TimeoutError | httpx2.TimeoutException) for e in leaves
    ):
        took = f" within {timeout}s" if timeout else ""
        return McpFailure(f"{where} did not answer{took}; the call may still have run there")
    client_errors = [s for s in statuses if 400 <= s < 500]
    if client_errors:
        return McpFailure(f"{where} refused the request (HTTP {client_errors[-1]})")
    first = leaves[0] if leaves else err
    detail = first.message if isinstance(first, MCPError) else type(first).__name__
    return McpFailure(f"{where} failed: {detail}")


def _leaves(err: BaseException) -> Iterator[BaseException]:
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            yield from _leaves(inner)
    else:
        yield err
