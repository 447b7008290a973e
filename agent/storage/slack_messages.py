"""Idempotent Slack posts: a retried step updates the message it posted, never posts twice.

Each message the agent posts carries a key in Slack message metadata. A step that knows the
message's ts updates it; a step that may have posted before it was cut off (no ts saved yet)
first looks the key up in the channel or thread, and only posts when nothing is found.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError

from agent.mrkdwn import Message, plain_text

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


# Slack's refusals of a message's blocks: the same text then goes as plain text.
BLOCKS_REFUSED = frozenset({"msg_blocks_too_long", "invalid_blocks", "msg_too_long"})


def post_parts(
    slack: Any,
    *,
    channel: str,
    parts: list[Message],
    key: str,
    thread_ts: str | None,
    maybe_posted: bool,
) -> str:
    """Post a text cut into ``parts`` once each (keys ``key``, ``key-2``...); a part whose
    blocks Slack refuses is posted again as plain text, so no part is ever lost. Returns the
    first part's ts."""
    first = ""
    for number, part in enumerate(parts, start=1):
        part_key = key if number == 1 else f"{key}-{number}"
        post = partial(post_or_update, slack, channel=channel, key=part_key, thread_ts=thread_ts)
        try:
            ts = post(message=part, maybe_posted=maybe_posted)
        except SlackApiError as err:
            if err.response.get("error") not in BLOCKS_REFUSED:
                raise
            ts = post(message=plain_text(part), maybe_posted=False)
        first = first or ts
    return first


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
