"""A reviewer's edit of a tool call's arguments, checked as the tool and its policy see them.

The same check runs wherever an edit comes from (the Slack modal, the HTTP API), before
anything is claimed, so an edit that the tool would refuse never resumes a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.errors import ToolInputError
from agent.tools.mcp.schema import checked_arguments
from agent.tools.registry import ToolRegistry


def checked_edit(
    tools: ToolRegistry,
    tool_name: str,
    arguments: Mapping[str, Any],
    *,
    mcp_tool: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The edited arguments as the tool will run them; raises ToolInputError naming each bad
    field, or why the tool's policy will not take them. ``mcp_tool``: the gate's MCP tool as
    the run listed it (``ApprovalRecord.mcp_tool``): a process that does not list MCP servers
    checks the edit against the schema the run saw."""
    tool = tools.get(tool_name)
    if tool is None and mcp_tool is not None:
        return checked_arguments(tool_name, mcp_tool.get("input_schema") or {}, dict(arguments))
    if tool is None:
        raise ToolInputError(f"there is no tool named {tool_name!r} in this deployment")
    if tool.approval.mode == "deny":
        raise ToolInputError(f"{tool_name} is not allowed in this deployment")
    edited = tool.parse_args(arguments).model_dump(mode="json", exclude_unset=True)
    try:
        tool.approval.needs_approval(edited)
    # The predicate is the deployment's own code: whatever it raises, the edit is refused.
    except Exception as err:  # noqa: BLE001
        raise ToolInputError(
            f"the approval policy of {tool_name} cannot judge these arguments: {err}"
        ) from None
    return edited
