"""Idempotent Slack posts: a retried step updates the message it posted, never posts twice.

Each message the agent posts carries a key in Slack message metadata. A step that knows the
message's ts updates it; a step that may have posted before it was cut off (no ts saved yet)
first looks the key up in the channel or thread, and only posts when nothing is found.
"""

from __future__ import annotations

from typing import Any

from agent.mrkdwn import Message

METADATA_EVENT = "signoff_message"
LOOKUP_LIMIT = 200


def post_or_update(
    slack: Any,
    *,
    channel: str,
    message: Message,
    key: str,
    thread_ts: str | None = None,
    known_ts: str | None = None,
    maybe_posted: bool = False,
) -> str:
    """Post ``message`` once under ``key`` (or update the one already posted); returns its ts."""
    ts = known_ts
    if ts is None and maybe_posted:
        ts = find_message_by_key(slack, channel, key, thread_ts=thread_ts)
    if ts is not None:
        slack.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
        return ts
    response = slack.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=message.text,
        blocks=message.blocks,
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
        unfurl_links=False,
    )
    return str(response["ts"])


def find_message_by_key(
    slack: Any, channel: str, key: str, *, thread_ts: str | None = None
) -> str | None:
    """The ts of the message whose metadata carries ``key`` (latest messages only)."""
    if thread_ts is None:
        response = slack.conversations_history(
            channel=channel, limit=LOOKUP_LIMIT, include_all_metadata=True
        )
    else:
        response = slack.conversations_replies(
            channel=channel, ts=thread_ts, limit=LOOKUP_LIMIT, include_all_metadata=True
        )
    for found in response.get("messages", []):
        payload = (found.get("metadata") or {}).get("event_payload") or {}
        if payload.get("key") == key:
            return str(found["ts"])
    return None
