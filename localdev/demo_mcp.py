"""``signoff dev --demo-mcp``: a small MCP server on loopback (the ``mcp`` package's, over
Streamable HTTP) with one read-only and one side-effecting tool, so a newcomer sees an MCP
call run at once and another wait for approval in the local Slack page.

Without a policy file of one's own, the stack writes one into the data dir that points at
the demo server; with one, add the ``[mcp.servers.demo]`` table of signoff.toml.example.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

DEMO_TOKEN_VARIABLE = "DEMO_MCP_TOKEN"
DEMO_POLICY = """# Written by signoff dev --demo-mcp: the demo MCP server, its tools gated as usual.
[mcp.servers.demo]
url = "{url}"
headers = {{ Authorization = "Bearer ${{{variable}}}" }}
timeout = "10s"
"""


def demo_server(token: str) -> MCPServer:
    """Tickets kept in memory: ``list_tickets`` reads them, ``create_ticket`` opens one."""
    server = MCPServer("demo", instructions="A demo ticket tracker for signoff dev.")
    tickets = ["T-1 printer on fire", "T-2 coffee machine empty"]

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def list_tickets(status: str = "open") -> str:
        """List the demo tracker's tickets with a status."""
        return f"{len(tickets)} {status} tickets: " + "; ".join(tickets)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def create_ticket(title: str, ctx: Context, priority: int = 3) -> str:
        """Open a ticket in the demo tracker (a person approves it first)."""
        tickets.append(f"T-{len(tickets) + 1} {title} (priority {priority})")
        return f"created {tickets[-1]}"

    return server


class DemoMcp:
    """The demo server on ``127.0.0.1:port``, behind a bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        app = demo_server(token).streamable_http_app(stateless_http=True, json_response=True)
        expected = f"Bearer {token}".encode()

        async def guarded(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
            headers = dict(scope.get("headers") or [])
            if scope["type"] == "http" and headers.get(b"authorization") != expected:
                await send({"type": "http.response.start", "status": 401, "headers": []})  # type: ignore[operator]
                await send({"type": "http.response.body", "body": b"a bearer token is needed"})  # type: ignore[operator]
                return
            await app(scope, receive, send)  # type: ignore[arg-type]

        config = uvicorn.Config(guarded, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="demo-mcp", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> DemoMcp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise OSError(f"the demo MCP server could not listen on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def write_policy(self, path: Path) -> Path:
        path.write_text(DEMO_POLICY.format(url=self.url, variable=DEMO_TOKEN_VARIABLE))
        return path
