"""Tools Claude may call: the registry, the kinds of tool (quick or long-running), running a
turn's calls and waiting for long-running ones, their results, and the built-in tools.

What a tool author needs is exported here: ``ToolRegistry``, ``Tool``, ``ToolContext`` and the
approval policies ``AUTO``, ``REQUIRE`` and ``ApprovalPolicy``.
"""

from agent.approvals.policy import AUTO, REQUIRE, ApprovalPolicy
from agent.tools import aws_logs, http_job, pause, slack
from agent.tools.context import ToolContext
from agent.tools.registry import Tool, ToolRegistry

__all__ = [
    "AUTO",
    "REQUIRE",
    "ApprovalPolicy",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "default_registry",
]


def default_registry() -> ToolRegistry:
    """A registry holding every built-in tool."""
    registry = ToolRegistry()
    for tools in (slack, http_job, aws_logs, pause):
        tools.register(registry)
    return registry
