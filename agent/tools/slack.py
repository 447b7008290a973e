"""Built-in Slack tools: read a channel's recent history, post a message (needs approval).

Both take a channel as an id or a name (``#ops``), as people and Claude write it; a name is
looked up once per call (``agent.slack_names``) and the id is what the Web API gets.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from slack_sdk.errors import SlackApiError

from agent.approvals.policy import REQUIRE
from agent.errors import ToolInputError
from agent.slack_names import CHANNEL_REF, channel_id, display_names, pages
from agent.storage.slack_messages import find_message_by_key
from agent.tools.context import ToolContext
from agent.tools.registry import ToolRegistry

CHANNEL_HELP = "Slack channel id (C0123456789) or name (#general)"


class ReadHistoryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=CHANNEL_REF, description=CHANNEL_HELP)
    limit: int = Field(default=20, ge=1, le=200, description="How many recent messages")


class PostMessageArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=CHANNEL_REF, description=CHANNEL_HELP)
    text: str = Field(min_length=1, max_length=4000, description="Message text (Slack mrkdwn)")


def register(registry: ToolRegistry) -> None:
    """Add the Slack tools to a registry."""

    @registry.tool(args=ReadHistoryArgs)
    def read_slack_history(ctx: ToolContext, args: ReadHistoryArgs) -> list[dict[str, Any]]:
        """Read the most recent messages of a Slack channel, newest first: who wrote each
        (user id and name; ``bot`` for an app's message) and its text (Slack mrkdwn)."""
        slack = _client(ctx)
        channel = _channel(slack, args.channel)
        _may_read(slack, ctx, channel, shown=args.channel)
        found = slack.conversations_history(channel=channel, limit=args.limit).get("messages", [])
        names = display_names(slack, [m["user"] for m in found if m.get("user")])
        return [_message(message, names) for message in found]

    @registry.tool(args=PostMessageArgs, approval=REQUIRE, side_effect=True)
    def post_slack_message(ctx: ToolContext, args: PostMessageArgs) -> dict[str, Any]:
        """Post a message to a Slack channel. A reviewer approves each post before it is sent."""
        slack = _client(ctx)
        channel = _channel(slack, args.channel)
        if ctx.attempt > 1:
            # An earlier attempt may have posted before it was cut off: find it, don't repost.
            ts = find_message_by_key(slack, channel, ctx.idempotency_key)
            if ts is not None:
                return {"channel": channel, "ts": ts, "posted": "earlier attempt"}
        response = slack.chat_postMessage(
            channel=channel,
            text=args.text,
            metadata={
                "event_type": "signoff_tool_post",
                "event_payload": {"key": ctx.idempotency_key},
            },
        )
        return {"channel": channel, "ts": response["ts"]}


def _channel(slack: Any, ref: str) -> str:
    found = channel_id(slack, ref)
    if found is None:
        name = ref.removeprefix("#")
        raise ToolInputError(f"there is no channel named #{name} (or signoff cannot see it)")
    return found


def _message(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    user = message.get("user")
    shown: dict[str, Any] = {"ts": message.get("ts"), "user": user}
    if user in names:
        shown["name"] = names[user]
    if message.get("bot_id"):
        shown["bot"] = True
    return {**shown, "text": message.get("text", "")}


def _may_read(slack: Any, ctx: ToolContext, channel: str, *, shown: str) -> None:
    """A run reads its own channel and public ones; a private conversation only when the
    person who asked for the run is in it (the bot may be in channels they are not)."""
    if channel == ctx.channel:
        return
    try:
        info = slack.conversations_info(channel=channel)["channel"]
        private = any(info.get(key) for key in ("is_private", "is_im", "is_mpim"))
        if not private or ctx.requester in _members(slack, channel):
            return
    except SlackApiError as err:
        raise ToolInputError(f"{shown} cannot be read: {err.response.get('error')}") from None
    raise ToolInputError(
        f"{shown} is a private conversation that the person who asked for this run is not in: "
        "a run may read its own channel, public channels, and private ones its requester is in"
    )


def _members(slack: Any, channel: str) -> set[str]:
    return {
        str(member) for member in pages(slack.conversations_members, "members", channel=channel)
    }


def _client(ctx: ToolContext) -> Any:
    if ctx.slack is None:
        raise ToolInputError("Slack is not configured for this deployment (no bot token)")
    return ctx.slack
