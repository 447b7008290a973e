"""Slack names and ids: ``#ops`` to a channel id, ``@bob`` to a user id, ids to names.

People and Claude write names; Slack's read APIs want ids (``chat.postMessage`` takes a name
too, ``conversations.history`` does not). Lookups page through ``conversations.list`` and
``users.list`` as Slack documents, and stop at the first match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from slack_sdk.errors import SlackApiError

# Ids are upper case (C0123…, U0123…), names lower case: the two never look alike.
SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
# Slack's channel names: lowercase letters, digits, hyphens, underscores and periods.
CHANNEL_NAME = re.compile(r"#?([a-z0-9][a-z0-9._-]{0,79})")
# An id (C0123…) or a name (#ops, ops), as a tool argument accepts it.
CHANNEL_REF = r"^(?:[A-Z0-9]{2,32}|#?[a-z0-9][a-z0-9._-]{0,79})$"
PAGE = 200


def pages(call: Any, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a cursor-paginated Web API list."""
    cursor = None
    while True:
        paging: dict[str, str] = {"cursor": cursor} if cursor else {}
        response = call(limit=PAGE, **paging, **kwargs)
        yield from response.get(key, [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def channel_id(slack: Any, ref: str) -> str | None:
    """The id of a channel given as an id (returned as is) or a name (``#ops`` or ``ops``)."""
    if SLACK_ID.fullmatch(ref):
        return ref
    named = CHANNEL_NAME.fullmatch(ref)
    if named is None:
        return None
    channels = pages(
        slack.conversations_list,
        "channels",
        types="public_channel,private_channel",
        exclude_archived=True,
    )
    return next((str(c["id"]) for c in channels if c.get("name") == named.group(1)), None)


def user_id(slack: Any, name: str) -> str | None:
    """The id of the person whose handle, display name or real name is ``name`` (``@`` or
    not, case-insensitive); deleted users and bots are left out."""
    wanted = name.removeprefix("@").casefold()
    for user in pages(slack.users_list, "members"):
        if user.get("deleted") or user.get("is_bot"):
            continue
        if wanted in {n.casefold() for n in _user_names(user)}:
            return str(user["id"])
    return None


def _user_names(user: dict[str, Any]) -> list[str]:
    profile = user.get("profile") or {}
    names = [user.get("name"), profile.get("display_name"), user.get("real_name")]
    return [str(n) for n in names if n]


def display_names(slack: Any, ids: Iterable[str]) -> dict[str, str]:
    """What Slack shows for each user id (display name, else handle); best effort: an id
    Slack cannot look up is left out."""
    names: dict[str, str] = {}
    for user in dict.fromkeys(ids):
        try:
            found = slack.users_info(user=user).get("user") or {}
        except SlackApiError:  # a name is a nicety: the id still says who it was
            continue
        profile = found.get("profile") or {}
        name = profile.get("display_name") or found.get("name") or found.get("real_name")
        if name:
            names[user] = str(name)
    return names
