"""A Slack workspace's state and the Web API methods the app calls, with no HTTP in sight.

Shared by the local Slack of ``signoff dev`` and the tests' fake Slack, so both keep Slack's
rules the same way.

Each method takes the request's arguments (already decoded: ``blocks``/``metadata``/``view`` are
lists and dicts whatever the encoding) and returns the response fields after ``"ok": true``, or
raises ``SlackError`` with the error code Slack would answer. The rules kept are the ones code
relies on: replies stay out of channel history, ``chat.update`` keeps or drops blocks the way
Slack documents, metadata comes back only when asked for, a post may name its channel
(``#ops``) where Slack accepts that, and timestamps only increase (and follow the clock, when
the workspace is given one, so a person reads real times).
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from agent.json_limits import loads
from agent.mrkdwn import USER_ID

BOT_USER = "UBOT"
BOT_ID = "BBOT"
APP_ID = "ALOCAL"
HOME_BLOCK_LIMIT = 100
TEAM_ID = "T1"
NOT_IN_CHANNEL = "C_NOT_IN"  # a channel the bot was never invited to
_FIRST_TS = Decimal("1700000000.000100")
_TS_STEP = Decimal("0.000100")

Message = dict[str, Any]
Args = dict[str, Any]


class SlackError(Exception):
    """A method's ``{"ok": false, "error": code}`` answer (HTTP 200, as Slack sends it)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def truthy(value: Any) -> bool:
    """Slack booleans arrive as True, "true" or "1" (slack_sdk turns bools into "0"/"1")."""
    return str(value).lower() in ("1", "true")


def _required(args: Args, name: str) -> Any:
    if not args.get(name):
        raise SlackError("invalid_arguments" if name != "channel" else "channel_not_found")
    return args[name]


@dataclass
class Workspace:
    """Channels (messages oldest first) and their names, ephemerals, open views, users and
    user groups; ``clock`` (seconds since the epoch) makes timestamps follow real time."""

    channels: dict[str, list[Message]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    users: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    channel_names: dict[str, str] = field(default_factory=dict)
    # Private channels and who is in them; every other channel is public.
    private_members: dict[str, list[str]] = field(default_factory=dict)
    # Direct messages: each DM channel (D…) and the person the app talks to there.
    ims: dict[str, str] = field(default_factory=dict)
    # Each person's published Home tab (views.publish).
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    permalink_base: str = "https://fake.slack.test"
    clock: Callable[[], float] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._last_ts = _FIRST_TS - _TS_STEP
        self._view_ids = itertools.count(1)

    # Timestamps and storage ------------------------------------------------------------
    def next_ts(self) -> str:
        """A fresh ts, later than every ts seen so far (Slack's ts are unique per channel)."""
        with self.lock:
            self._last_ts += _TS_STEP
            if self.clock is not None:
                self._last_ts = max(self._last_ts, Decimal(f"{self.clock():.6f}"))
            return f"{self._last_ts:.6f}"

    def channel_name(self, channel: str) -> str:
        return self.channel_names.get(channel, channel.lower())

    def channel_named(self, ref: str) -> str | None:
        """The id of the channel called ``ref`` (``#ops`` or ``ops``), if there is one."""
        name = ref.removeprefix("#")
        return next((c for c, n in self.channel_names.items() if n == name), None)

    def store(self, channel: str, message: Message) -> Message:
        """Insert in ts order, so seeded messages with explicit ts land where they belong."""
        with self.lock:
            ts = Decimal(message["ts"])
            self._last_ts = max(self._last_ts, ts)
            messages = self.channels.setdefault(channel, [])
            position = sum(1 for m in messages if Decimal(m["ts"]) <= ts)
            messages.insert(position, message)
            return message

    def find(self, channel: str, ts: str) -> Message | None:
        with self.lock:
            return next((m for m in self.channels.get(channel, []) if m["ts"] == ts), None)

    def top_level(self, channel: str) -> list[Message]:
        """What the channel shows: roots and plain messages, not thread replies."""
        with self.lock:
            return [
                m for m in self.channels.get(channel, []) if m.get("thread_ts") in (None, m["ts"])
            ]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """A thread, root first (the root may be absent if it was never seen by the fake)."""
        with self.lock:
            return [
                m
                for m in self.channels.get(channel, [])
                if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
            ]

    def public(self, channel: str, message: Message, *, metadata: bool) -> Message:
        """A message as the read APIs return it: thread counters on roots, metadata on request."""
        shown = copy.deepcopy(message)
        if not metadata:
            shown.pop("metadata", None)
        replies = [m for m in self.thread(channel, message["ts"]) if m["ts"] != message["ts"]]
        if replies:
            shown["thread_ts"] = message["ts"]
            shown["reply_count"] = len(replies)
            shown["reply_users"] = sorted({m.get("user", "") for m in replies})
            shown["latest_reply"] = replies[-1]["ts"]
        return shown

    def im_with(self, user: str) -> str:
        """The app's DM channel with ``user``, opened on first use (``conversations.open``)."""
        if not USER_ID.fullmatch(user) or (self.users and user not in self.users):
            raise SlackError("user_not_found")
        if user == BOT_USER:
            raise SlackError("cannot_dm_bot")
        channel = "D" + user
        self.ims[channel] = user
        self.channels.setdefault(channel, [])
        return channel

    def new_view_id(self) -> str:
        return f"VFAKE{next(self._view_ids):04d}"

    # Persistence -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Everything but the lock, as plain JSON (``signoff dev`` keeps it on disk)."""
        with self.lock:
            return copy.deepcopy(
                {
                    "channels": self.channels,
                    "ephemerals": self.ephemerals,
                    "views": self.views,
                    "usergroups": self.usergroups,
                    "users": self.users,
                    "channel_names": self.channel_names,
                    "ims": self.ims,
                    "homes": self.homes,
                    "last_ts": str(self._last_ts),
                }
            )

    @classmethod
    def from_json(
        cls, data: dict[str, Any], *, clock: Callable[[], float] | None = None
    ) -> Workspace:
        workspace = cls(
            channels=data.get("channels", {}),
            ephemerals=data.get("ephemerals", []),
            views=data.get("views", []),
            usergroups=data.get("usergroups", {}),
            users=data.get("users", {}),
            channel_names=data.get("channel_names", {}),
            ims=data.get("ims", {}),
            homes=data.get("homes", {}),
            clock=clock,
        )
        workspace._last_ts = max(workspace._last_ts, Decimal(data.get("last_ts", "0")))
        workspace._view_ids = itertools.count(len(workspace.views) + len(workspace.homes) + 1)
        return workspace

    # Methods ---------------------------------------------------------------------------
    def call(self, method: str, args: Args) -> dict[str, Any]:
        handler = METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        with self.lock:
            return handler(self, args)


JSON_FIELDS = ("blocks", "metadata", "view", "attachments")


def parse_args(raw: bytes, content_type: str, query: str = "") -> Args:
    """A method's arguments from the query string and a form or JSON body.

    slack_sdk sends JSON for some methods (chat.postMessage, views.open), a form for others and
    a query string for GET ones; in a form, ``blocks``/``metadata``/``view`` are JSON strings.
    """
    args: Args = dict(parse_qsl(query, keep_blank_values=True))
    if "json" in content_type:
        body = loads(raw or b"{}", "the body")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        args.update(body)
    elif raw:
        args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for name in JSON_FIELDS:
        if isinstance(args.get(name), str) and args[name]:
            args[name] = loads(args[name], name)
    return args


def _bot_message(args: Args, ts: str) -> Message:
    message: Message = {
        "type": "message",
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "team": TEAM_ID,
        "text": args.get("text") or "",
        "ts": ts,
        "blocks": args.get("blocks") or [],
    }
    if args.get("thread_ts"):
        message["thread_ts"] = str(args["thread_ts"])
    if args.get("metadata"):
        message["metadata"] = _metadata(args["metadata"])
    return message


def _metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or "event_type" not in value or "event_payload" not in value:
        raise SlackError("invalid_metadata_format")
    return value


def _member_channel(args: Args) -> str:
    """The channel argument, for a bot that is a member of every channel but one."""
    channel = str(_required(args, "channel"))
    if channel == NOT_IN_CHANNEL:
        raise SlackError("not_in_channel")
    return channel


def _post_channel(ws: Workspace, args: Args) -> str:
    """A post's channel: an id, or a name (``#ops``, ``ops``) as chat.postMessage accepts."""
    channel = _member_channel(args)
    if USER_ID.fullmatch(channel):  # a user id posts in the app's DM with them
        return ws.im_with(channel)
    if channel.startswith("#") or channel.islower():
        named = ws.channel_named(channel)
        if named is None:
            raise SlackError("channel_not_found")
        return named
    return channel


def _auth_test(_: Workspace, __: Args) -> dict[str, Any]:
    return {
        "url": "https://fake.slack.test/",
        "team": "Fake",
        "user": "signoff",
        "team_id": TEAM_ID,
        "user_id": BOT_USER,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


# Slack refuses a message whose blocks hold more text than this in all (msg_blocks_too_long),
# well below 50 blocks of 3,000 characters; the limit is not documented, 12,000 is observed.
BLOCKS_TEXT_LIMIT = 12_000


def _chat_post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _post_channel(ws, args)
    if not (args.get("text") or args.get("blocks") or args.get("attachments")):
        raise SlackError("no_text")
    _check_blocks(args.get("blocks"))
    message = ws.store(channel, _bot_message(args, ws.next_ts()))
    return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}


def _check_blocks(blocks: Any) -> None:
    if blocks and sum(len(text) for text in _texts(blocks)) > BLOCKS_TEXT_LIMIT:
        raise SlackError("msg_blocks_too_long")


def _texts(value: Any) -> list[str]:
    """Every ``text`` string inside blocks (what Slack's total counts)."""
    if isinstance(value, dict):
        own = [value["text"]] if isinstance(value.get("text"), str) else []
        return own + [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def _chat_update(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _member_channel(args)
    _check_blocks(args.get("blocks"))
    message = ws.find(channel, str(_required(args, "ts")))
    if message is None:
        raise SlackError("message_not_found")
    if message.get("user") != BOT_USER:
        raise SlackError("cant_update_message")
    if "blocks" in args:
        message["blocks"] = args["blocks"] or []
    elif "text" in args:
        message["blocks"] = []  # Slack drops old blocks when only text is sent
        message["edited"] = {"user": BOT_USER, "ts": ws.next_ts()}
    if "text" in args:
        message["text"] = args["text"] or ""
    if args.get("metadata"):
        message["metadata"] = _metadata(args["metadata"])
    return {
        "channel": channel,
        "ts": message["ts"],
        "text": message["text"],
        "message": copy.deepcopy(message),
    }


def _chat_post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _post_channel(ws, args)
    ephemeral = {
        "channel": channel,
        "user": str(_required(args, "user")),
        "text": args.get("text") or "",
        "blocks": args.get("blocks") or [],
        "thread_ts": args.get("thread_ts"),
        "message_ts": ws.next_ts(),
    }
    ws.ephemerals.append(ephemeral)
    return {"message_ts": ephemeral["message_ts"]}


def _page(items: list[Any], args: Args) -> tuple[list[Any], dict[str, Any]]:
    """Slack's cursor pagination: ``limit`` per page, an opaque ``next_cursor`` while more."""
    start = int(args.get("cursor") or 0)
    limit = int(args.get("limit") or 100)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, {
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _conversations_history(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _member_channel(args)
    inclusive = truthy(args.get("inclusive", False))
    oldest, latest = Decimal(str(args.get("oldest") or 0)), args.get("latest")

    def in_window(message: Message) -> bool:
        ts = Decimal(message["ts"])
        after = ts >= oldest if inclusive else ts > oldest
        before = latest is None or (
            ts <= Decimal(str(latest)) if inclusive else ts < Decimal(str(latest))
        )
        return after and before

    newest_first = [m for m in reversed(ws.top_level(channel)) if in_window(m)]
    page, paging = _page(newest_first, args)
    metadata = truthy(args.get("include_all_metadata", False))
    return {"messages": [ws.public(channel, m, metadata=metadata) for m in page], **paging}


def _conversations_replies(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _member_channel(args)
    ts = str(_required(args, "ts"))
    asked = ws.find(channel, ts)
    root_ts = str(asked.get("thread_ts", ts)) if asked else ts  # a reply's ts finds its thread
    thread = ws.thread(channel, root_ts)
    if not thread:
        raise SlackError("thread_not_found")
    page, paging = _page(thread, args)
    metadata = truthy(args.get("include_all_metadata", False))
    return {"messages": [ws.public(channel, m, metadata=metadata) for m in page], **paging}


def _views_open(ws: Workspace, args: Args) -> dict[str, Any]:
    _required(args, "trigger_id")
    view_id = ws.new_view_id()
    view = {
        **args["view"],
        "id": view_id,
        "team_id": TEAM_ID,
        "state": {"values": {}},
        "hash": f"{view_id}.1",
        "root_view_id": view_id,
        "previous_view_id": None,
        "bot_id": BOT_ID,
        "trigger_id": args["trigger_id"],
    }
    ws.views.append(view)
    return {"view": copy.deepcopy(view)}


def _views_update(ws: Workspace, args: Args) -> dict[str, Any]:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not (view_id or external_id):
        raise SlackError("invalid_arguments")
    for index, view in enumerate(ws.views):
        if (view_id and view["id"] == view_id) or (
            external_id and view.get("external_id") == external_id
        ):
            if args.get("hash") and args["hash"] != view["hash"]:
                raise SlackError("hash_conflict")
            version = int(view["hash"].rsplit(".", 1)[1]) + 1
            keep = {k: view[k] for k in ("id", "team_id", "state", "root_view_id", "bot_id")}
            ws.views[index] = {**args["view"], **keep, "hash": f"{view['id']}.{version}"}
            return {"view": copy.deepcopy(ws.views[index])}
    raise SlackError("not_found")


def _views_publish(ws: Workspace, args: Args) -> dict[str, Any]:
    """A person's Home tab: the view replaces the one published before (same id)."""
    user, view = str(_required(args, "user_id")), args.get("view")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise SlackError("invalid_arguments")
    if len(view.get("blocks") or []) > HOME_BLOCK_LIMIT:
        raise SlackError("invalid_blocks")
    if ws.users and user not in ws.users:
        raise SlackError("user_not_found")
    before = ws.homes.get(user)
    if before and args.get("hash") and args["hash"] != before["hash"]:
        raise SlackError("hash_conflict")
    view_id = before["id"] if before else ws.new_view_id()
    version = int(before["hash"].rsplit(".", 1)[1]) + 1 if before else 1
    ws.homes[user] = {
        **view,
        "id": view_id,
        "team_id": TEAM_ID,
        "state": {"values": {}},
        "hash": f"{view_id}.{version}",
        "root_view_id": view_id,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
    }
    return {"view": copy.deepcopy(ws.homes[user])}


def _conversations_open(ws: Workspace, args: Args) -> dict[str, Any]:
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if len(users) != 1:  # a group DM is not something the app opens
        raise SlackError("invalid_arguments" if not users else "not_supported")
    channel = ws.im_with(users[0])
    return {"channel": {"id": channel, "is_im": True, "user": users[0]}}


def _chat_get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _member_channel(args)
    ts = str(_required(args, "message_ts"))
    message = ws.find(channel, ts)
    if message is None:
        raise SlackError("message_not_found")
    link = f"{ws.permalink_base}/archives/{channel}/p{ts.replace('.', '')}"
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != ts:  # a reply's link opens its thread, as Slack's do
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


def _usergroups_users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    group = str(_required(args, "usergroup"))
    if group not in ws.usergroups:
        raise SlackError("no_such_subteam")
    return {"users": list(ws.usergroups[group])}


def _conversations_list(ws: Workspace, args: Args) -> dict[str, Any]:
    ids = [c for c in dict.fromkeys([*ws.channel_names, *ws.channels]) if c not in ws.ims]
    channels = [
        {
            "id": channel,
            "name": ws.channel_name(channel),
            "is_channel": True,
            "is_private": channel in ws.private_members,
            "is_archived": False,
            "is_member": channel != NOT_IN_CHANNEL,
        }
        for channel in ids
    ]
    page, paging = _page(channels, args)
    return {"channels": page, "response_metadata": paging["response_metadata"]}


def _conversations_info(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = str(_required(args, "channel"))
    if channel not in ws.channels and channel not in ws.channel_names:
        raise SlackError("channel_not_found")
    private, im = channel in ws.private_members, channel in ws.ims
    return {
        "channel": {
            "id": channel,
            "name": ws.channel_name(channel),
            "is_channel": not (private or im),
            "is_group": private,
            "is_im": im,
            "is_mpim": False,
            "is_private": private,
            "is_archived": False,
        }
    }


def _conversations_members(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = str(_required(args, "channel"))
    if channel not in ws.channels and channel not in ws.channel_names:
        raise SlackError("channel_not_found")
    members = ws.private_members.get(channel, list(ws.users))
    page, paging = _page(members, args)
    return {"members": page, "response_metadata": paging["response_metadata"]}


def _users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    members = [_user(ws, user_id) for user_id in ws.users]
    page, paging = _page(members, args)
    return {"members": page, "response_metadata": paging["response_metadata"]}


def _users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    return {"user": _user(ws, str(_required(args, "user")))}


def _user(ws: Workspace, user_id: str) -> dict[str, Any]:
    known = ws.users.get(user_id, user_id)
    fields: dict[str, Any] = {"name": known} if isinstance(known, str) else dict(known)
    name = str(fields.get("name", user_id))
    user = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": fields.get("real_name", name),
        "deleted": False,
        "is_bot": False,
        "profile": {"display_name": name, "real_name": fields.get("real_name", name)},
        **fields,
    }
    return user


METHODS: dict[str, Callable[[Workspace, Args], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.getPermalink": _chat_get_permalink,
    "chat.postEphemeral": _chat_post_ephemeral,
    "conversations.history": _conversations_history,
    "conversations.info": _conversations_info,
    "conversations.list": _conversations_list,
    "conversations.members": _conversations_members,
    "conversations.open": _conversations_open,
    "conversations.replies": _conversations_replies,
    "views.open": _views_open,
    "views.push": _views_open,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "usergroups.users.list": _usergroups_users_list,
    "users.info": _users_info,
    "users.list": _users_list,
}
