"""A fake Slack Web API on loopback that keeps channels, threads and ephemerals like Slack.

The real slack_sdk WebClient talks to it (``base_url=fake.api_url``). Every call is recorded;
tests read the resulting state (``messages``, ``thread``) the way a user would see it.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes._http import LoopbackServer

BOT_USER = "UBOT"
JSON_FIELDS = ("blocks", "metadata", "view", "attachments")


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    times: int


@dataclass
class FakeSlack:
    """Slack's Web API, in memory."""

    usergroups: dict[str, list[str]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        self._server = LoopbackServer(_Handler, self)
        self.api_url = self._server.url + "/api/"

    def __enter__(self) -> FakeSlack:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    # What tests use --------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            return [
                m for m in self.channels.get(channel, []) if m.get("thread_ts") in (None, m["ts"])
            ]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """A thread, root first."""
        with self._lock:
            return [
                m
                for m in self.channels.get(channel, [])
                if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
            ]

    def seed_message(
        self,
        channel: str,
        text: str,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        with self._lock:
            message = {"type": "message", "ts": ts or self._next_ts(), "text": text, "user": user}
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.channels.setdefault(channel, []).append(message)
            return str(message["ts"])

    def fail_next(
        self,
        method: str,
        error: str = "internal_error",
        status: int = 500,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(error, status, retry_after, times)
            )

    def response_url(self, channel: str, user: str) -> str:
        """A response_url for a slash command; what is posted there shows to that user."""
        return f"{self._server.url}/respond/{channel}/{user}"

    def respond(self, channel: str, user: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(Call("response_url", payload))
            self.ephemerals.append(
                {"channel": channel, "user": user, "text": payload.get("text", "")}
            )

    # The API ---------------------------------------------------------------------------
    def handle(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.calls.append(Call(method, args))
            if not token or not token.startswith(("xoxb-", "xoxp-")):
                return 200, {"ok": False, "error": "not_authed"}, {}
            failure = self._take_failure(method)
            if failure is not None:
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                return failure.status, {"ok": False, "error": failure.error}, headers
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            return 200, {"ok": True, **handler(args)}, {}

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method) or []
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1", "user": "signoff"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args["channel"]
        if channel == "C_NOT_IN":
            raise _SlackError("not_in_channel")
        message = {
            "type": "message",
            "ts": self._next_ts(),
            "user": BOT_USER,
            "text": args.get("text", ""),
            "blocks": args.get("blocks") or [],
        }
        for key in ("thread_ts", "metadata"):
            if args.get(key):
                message[key] = args[key]
        self.channels.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        for message in self.channels.get(args["channel"], []):
            if message["ts"] == args["ts"]:
                message["text"] = args.get("text", message["text"])
                message["blocks"] = args.get("blocks") or []
                message["edited"] = True
                return {"channel": args["channel"], "ts": args["ts"]}
        raise _SlackError("message_not_found")

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        ephemeral = {
            "channel": args["channel"],
            "user": args["user"],
            "text": args.get("text", ""),
            "blocks": args.get("blocks") or [],
        }
        self.ephemerals.append(ephemeral)
        return {"message_ts": self._next_ts()}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        found = list(reversed(self.messages(args["channel"])))[: int(args.get("limit", 100))]
        return {"messages": [self._public(m, args) for m in found], "has_more": False}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.thread(args["channel"], args["ts"])[: int(args.get("limit", 100))]
        if not found:
            raise _SlackError("thread_not_found")
        return {"messages": [self._public(m, args) for m in found], "has_more": False}

    def _public(self, message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        include = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        return {k: v for k, v in message.items() if k != "metadata" or include}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = {
            **args["view"],
            "id": f"V{len(self.views) + 1:04d}",
            "trigger_id": args.get("trigger_id"),
        }
        self.views.append(view)
        return {"view": view}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = {**args["view"], "id": args.get("view_id", "V0000")}
        self.views.append(view)
        return {"view": view}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if args["usergroup"] not in self.usergroups:
            raise _SlackError("no_such_subteam")
        return {"users": self.usergroups[args["usergroup"]]}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args["user"]
        name = self.users.get(user, user)
        return {
            "user": {"id": user, "name": name, "real_name": name, "profile": {"display_name": name}}
        }


class _SlackError(Exception):
    def __init__(self, error: str) -> None:
        self.error = error


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """Slack methods take a form or JSON; form fields like ``blocks`` hold JSON strings."""
    if "json" in content_type:
        args: dict[str, Any] = json.loads(raw or b"{}")
    else:
        args = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    for name in JSON_FIELDS:
        if isinstance(args.get(name), str) and args[name]:
            args[name] = json.loads(args[name])
    return args


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        return

    def do_POST(self) -> None:
        owner: FakeSlack = self.server.owner  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.startswith("/respond/"):
            _, _, channel, user = self.path.split("/")[:4]
            owner.respond(channel, user, json.loads(raw or b"{}"))
            self._reply(200, {"ok": True}, {})
            return
        method = self.path.split("/api/", 1)[-1].split("?", 1)[0]
        args = parse_body(raw, self.headers.get("content-type", ""))
        auth = self.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        try:
            status, payload, headers = owner.handle(method, args, token)
        except _SlackError as err:
            status, payload, headers = 200, {"ok": False, "error": err.error}, {}
        except KeyError as err:
            status, payload, headers = 200, {"ok": False, "error": f"invalid_arguments: {err}"}, {}
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(encoded)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)

    do_GET = do_POST
