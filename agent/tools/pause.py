"""``pause``: wait durably for a while ("check again tomorrow"), at no cost while waiting."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import ToolInputError
from agent.tools.context import ToolContext
from agent.tools.jobs import Sleep
from agent.tools.registry import ToolRegistry


class PauseArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=1, description="How long to wait, in seconds")
    reason: str = Field(min_length=1, max_length=300, description="Why, shown to the team")


def register(registry: ToolRegistry) -> None:
    """Add ``pause`` to a registry."""

    @registry.tool(args=PauseArgs, completion=Sleep())
    def pause(ctx: ToolContext, args: PauseArgs) -> dict[str, Any]:
        """Wait before going on, for example to check again tomorrow whether something
        finished. The run sleeps at no cost and resumes by itself; the deployment caps how
        long one pause may be."""
        cap = ctx.settings.max_pause_seconds
        if args.seconds > cap:
            raise ToolInputError(f"a pause may last at most {cap} seconds in this deployment")
        return {"seconds": args.seconds, "reason": args.reason}
