"""The tool registry and the built-in tools."""

from agent.tools import aws_logs, http_job, pause, slack
from agent.tools.registry import (
    AUTO,
    REQUIRE,
    ApprovalPolicy,
    Tool,
    ToolContext,
    ToolRegistry,
)

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
