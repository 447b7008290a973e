"""Tools are data: a name, a description, an argument model, a function and a policy.

The loop asks ``tool.approval.needs_approval(args)``, ``tool.side_effect`` and
``tool.completion_for(args)``; it never compares tool names. Adding a tool is one decorated
function (see ``agent/tools/slack.py``); a long-running one also says how it completes
(``agent/tools/jobs.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.approvals.policy import AUTO, ApprovalPolicy
from agent.errors import ToolInputError
from agent.models import describe_validation_error
from agent.tools.context import ToolContext
from agent.tools.jobs import Completion, CompletionRule

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

ToolFunction = Callable[[ToolContext, Any], Any]


@dataclass(frozen=True, kw_only=True)
class Tool:
    """One tool Claude may call."""

    name: str
    description: str
    args_model: type[BaseModel]
    run: ToolFunction
    approval: ApprovalPolicy = AUTO
    side_effect: bool = False
    completion: CompletionRule | None = None
    # The call step's retry strategy (None: the turn's, agent.tools.turn.TOOL_RETRY).
    retry: Callable[[Exception, int], Any] | None = None
    # An MCP server's tool: {"server", "tool", "annotations", "input_schema"} (the card shows
    # them; an Edit is checked against the schema where the tool is not registered).
    mcp: Mapping[str, Any] | None = None

    @property
    def read_only(self) -> bool:
        """Read-only tools never change anything outside the run."""
        return not self.side_effect

    @property
    def long_running(self) -> bool:
        """Whether a call waits for outside work to finish (see agent.tools.jobs)."""
        return self.completion is not None

    def completion_for(self, args: BaseModel) -> Completion | None:
        """How this call completes (None: when its function returns)."""
        rule = self.completion
        if rule is None or isinstance(rule, Completion):
            return rule
        return rule(args)

    def schema(self) -> dict[str, Any]:
        """The tool as the Messages API wants it."""
        input_schema = self.args_model.model_json_schema()
        input_schema.pop("title", None)
        return {"name": self.name, "description": self.description, "input_schema": input_schema}

    def parse_args(self, arguments: Mapping[str, Any]) -> BaseModel:
        """Validate Claude's arguments; the error names each bad field for Claude to fix."""
        try:
            return self.args_model.model_validate(dict(arguments))
        except ValidationError as err:
            raise ToolInputError(
                describe_validation_error(err, f"arguments for {self.name}")
            ) from None


@dataclass
class ToolRegistry:
    """The tools a run may use, in registration order (the order Claude sees)."""

    _tools: dict[str, Tool] = field(default_factory=dict)
    # Every model turn sends the schemas; pydantic builds them once per registry.
    _schemas: list[dict[str, Any]] | None = field(default=None, repr=False)

    def add(self, tool: Tool) -> Tool:
        """Register a tool; names must be unique and valid for the Messages API."""
        if not TOOL_NAME.match(tool.name):
            raise ValueError(f"tool name {tool.name!r} must match {TOOL_NAME.pattern}")
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is registered twice")
        if tool.side_effect and tool.approval.mode == "auto":
            raise ValueError(f"side-effecting tool {tool.name!r} needs an approval policy")
        self._tools[tool.name] = tool
        self._schemas = None
        return tool

    def tool(
        self,
        *,
        args: type[BaseModel],
        approval: ApprovalPolicy = AUTO,
        side_effect: bool = False,
        name: str | None = None,
        completion: CompletionRule | None = None,
    ) -> Callable[[ToolFunction], Tool]:
        """Decorator: the function's name and docstring become the tool's name and description."""

        def register(function: ToolFunction) -> Tool:
            description = (function.__doc__ or "").strip()
            if not description:
                raise ValueError(f"tool {function.__name__!r} needs a docstring (its description)")
            return self.add(
                Tool(
                    name=name or function.__name__,
                    description=description,
                    args_model=args,
                    run=function,
                    approval=approval,
                    side_effect=side_effect,
                    completion=completion,
                )
            )

        return register

    def get(self, name: str) -> Tool | None:
        """The tool of that name, if registered."""
        return self._tools.get(name)

    def all(self) -> list[Tool]:
        """Every tool, in registration order."""
        return list(self._tools.values())

    def approvals(self) -> dict[str, ApprovalPolicy]:
        """What each tool's code says about its gate, by tool name (the policy file's
        ``[gates.tools.<name>]`` names these tools)."""
        return {name: tool.approval for name, tool in self._tools.items()}

    def schemas(self) -> list[dict[str, Any]]:
        """Tool definitions for the Messages API (the same objects each call: do not modify)."""
        if self._schemas is None:
            self._schemas = [tool.schema() for tool in self._tools.values()]
        return self._schemas
