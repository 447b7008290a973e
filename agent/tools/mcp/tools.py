"""A run's MCP tools: listed once per run in a step, then made into ``Tool``s.

The listing is the step's result, so a replay builds exactly the tools the run started with;
a server that adds or drops tools later changes only runs that start later. A server that
does not answer is left out of this run (the thread says so) and tried again by the next.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_durable_execution_sdk_python.retries import RetryPresets
from pydantic import BaseModel

from agent.approvals.policy import AUTO, REQUIRE
from agent.tools.context import ToolContext
from agent.tools.mcp.client import McpConnector, McpFailure
from agent.tools.mcp.config import McpServer, tool_name_problem
from agent.tools.mcp.results import result_text
from agent.tools.mcp.schema import arguments_model
from agent.tools.registry import Tool, ToolRegistry

HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
DESCRIPTION_LIMIT = 4000


class McpToolError(Exception):
    """The server ran the tool and said it failed (``isError``); the message is its text."""


def list_run_tools(connector: McpConnector) -> dict[str, Any]:
    """The step body: each server's tools as the run keeps them, or why it has none."""
    servers: list[dict[str, Any]] = []
    for server in connector.servers:
        try:
            listed = connector.list_tools(server)
        except McpFailure as err:
            servers.append({"name": server.name, "tools": [], "error": str(err)})
            continue
        tools, skipped = [], []
        for tool in listed:
            name = str(tool.get("name", ""))
            why = tool_name_problem(server.name, name)
            if why is not None:
                skipped.append(why)
            elif server.allows(name):
                tools.append(_kept(tool))
        servers.append({"name": server.name, "tools": tools, "skipped": skipped})
    return {"servers": servers}


def _kept(tool: dict[str, Any]) -> dict[str, Any]:
    """What the run needs of a listed tool (no server metadata, bounded description)."""
    annotations = tool.get("annotations") or {}
    description = tool.get("description") or tool.get("title") or ""
    return {
        "name": tool["name"],
        "description": str(description)[:DESCRIPTION_LIMIT],
        "input_schema": tool.get("inputSchema") or {"type": "object"},
        "annotations": {k: annotations[k] for k in HINTS if isinstance(annotations.get(k), bool)},
    }


def listing_problems(listing: dict[str, Any]) -> list[str]:
    """What the thread should hear about the listing: servers down, tools refused."""
    lines = []
    for server in listing["servers"]:
        if "error" in server:
            lines.append(f"{server['error']}: its tools are not available in this run")
        lines += [
            f"MCP server {server['name']}: left out {why}" for why in server.get("skipped", [])
        ]
    return lines


def with_mcp_tools(
    registry: ToolRegistry, listing: dict[str, Any], connector: McpConnector
) -> ToolRegistry:
    """A new registry: ``registry``'s tools, then the listed MCP tools (the order Claude sees)."""
    combined = ToolRegistry()
    for tool in registry.all():
        combined.add(tool)
    for entry in listing["servers"]:
        server = connector.server(entry["name"])
        if server is None:  # removed from the file since the run started: its tools are gone
            continue
        for listed in entry["tools"]:
            made = mcp_tool(server, listed, connector)
            if made is not None and combined.get(made.name) is None:
                combined.add(made)
    return combined


def mcp_tool(server: McpServer, listed: dict[str, Any], connector: McpConnector) -> Tool | None:
    """The listed tool as a ``Tool`` (None when its schema is unusable)."""
    name, annotations = listed["name"], listed["annotations"]
    try:
        args = arguments_model(server.tool_name(name), listed["input_schema"])
    except ValueError:
        return None
    read_only = annotations.get("readOnlyHint") is True

    def run(context: ToolContext, arguments: BaseModel) -> str:
        result = connector.call_tool(
            server,
            name,
            arguments.model_dump(mode="json", exclude_unset=True),
            idempotency_key=context.idempotency_key,
        )
        text = result_text(result)
        if result.is_error:
            raise McpToolError(text)
        return text

    description = listed["description"] or f"{name} (a tool of the MCP server {server.name})"
    tool = Tool(
        name=server.tool_name(name),
        description=description,
        args_model=args,
        run=run,
        approval=AUTO if read_only else REQUIRE,
        side_effect=not read_only,
        mcp={"server": server.name, "tool": name, "annotations": annotations}
        | {"input_schema": listed["input_schema"]},
    )
    # A call the server may have accepted is never sent again: an interrupted side effect
    # goes back to Claude as an error instead of running twice.
    return tool if read_only else replace(tool, retry=RetryPresets.none())
