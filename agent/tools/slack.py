"""Built-in Slack tools: read a channel's recent history, post a message (needs approval)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.approvals.policy import REQUIRE
from agent.errors import ToolInputError
from agent.models import SLACK_ID
from agent.storage.slack_messages import find_message_by_key
from agent.tools.context import ToolContext
from agent.tools.registry import ToolRegistry


class ReadHistoryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=SLACK_ID, description="Slack channel id, e.g. C0123456789")
    limit: int = Field(default=20, ge=1, le=200, description="How many recent messages")


class PostMessageArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=SLACK_ID, description="Slack channel id, e.g. C0123456789")
    text: str = Field(min_length=1, max_length=4000, description="Message text (Slack mrkdwn)")


def register(registry: ToolRegistry) -> None:
    """Add the Slack tools to a registry."""

    @registry.tool(args=ReadHistoryArgs)
    def read_slack_history(ctx: ToolContext, args: ReadHistoryArgs) -> list[dict[str, Any]]:
        """Read the most recent messages of a Slack channel, newest first."""
        slack = _client(ctx)
        response = slack.conversations_history(channel=args.channel, limit=args.limit)
        return [
            {"ts": message.get("ts"), "user": message.get("user"), "text": message.get("text", "")}
            for message in response.get("messages", [])
        ]

    @registry.tool(args=PostMessageArgs, approval=REQUIRE, side_effect=True)
    def post_slack_message(ctx: ToolContext, args: PostMessageArgs) -> dict[str, Any]:
        """Post a message to a Slack channel. A reviewer approves each post before it is sent."""
        slack = _client(ctx)
        if ctx.attempt > 1:
            # An earlier attempt may have posted before it was cut off: find it, don't repost.
            ts = find_message_by_key(slack, args.channel, ctx.idempotency_key)
            if ts is not None:
                return {"channel": args.channel, "ts": ts, "posted": "earlier attempt"}
        response = slack.chat_postMessage(
            channel=args.channel,
            text=args.text,
            metadata={
                "event_type": "signoff_tool_post",
                "event_payload": {"key": ctx.idempotency_key},
            },
        )
        return {"channel": args.channel, "ts": response["ts"]}


def _client(ctx: ToolContext) -> Any:
    if ctx.slack is None:
        raise ToolInputError("Slack is not configured for this deployment (no bot token)")
    return ctx.slack
