"""The local Slack of ``signoff dev``: the Web API the app calls, and a page people use.

Whatever a person does on the page becomes the request Slack would send the app: a slash
command (form), an @mention (Events API JSON), a button click or a modal submission (form with
a ``payload``), signed with the signing secret and posted to the app's Request URL. Whatever
the app sends back through the Web API (posts, updates, ephemerals, modals) changes the
workspace, which is kept on disk, and the page shows it on its next poll.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

from agent.json_limits import loads
from localdev.apigw import StartResponse, answer, answer_json
from localdev.slack_workspace import APP_ID, BOT_USER, TEAM_ID, SlackError, Workspace, parse_args

JsonObject = dict[str, Any]

BOT_NAME = "signoff"
READ_ONLY_METHODS = frozenset(
    {"auth.test", "conversations.history", "conversations.replies", "users.info"}
    | {"usergroups.users.list"}
)
STATIC_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript")}
APP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str


# Who you can act as on the page: the approver is in APPROVERS (see localdev.stack).
PEOPLE = (
    Person("UALICE", "alice", "asks for work"),
    Person("UBOB", "bob", "approver"),
    Person("UCAROL", "carol", "not an approver"),
)
REVIEWERS_GROUP = "SREVIEWERS"
ANYONE = "*"  # among a policy's deciders: a gate with no approvers (any member decides)
GROUP_HANDLES = {REVIEWERS_GROUP: "reviewers"}
CHANNELS = {"CGENERAL": "general", "COPS": "ops"}
# What #ops says when a fresh workspace opens (minutes before now): something to summarise.
OPS_HISTORY = (
    (50, "UCAROL", "Deploy 1.4 is out on staging. Smoke tests pass."),
    (42, "UBOB", "Thanks. I'll watch the error rate for an hour before we go to prod."),
    (15, "UALICE", "Reminder: the payments migration window is Thursday 06:00-08:00 UTC."),
)
# A name typed after @ or # (not inside a word, an address or an entity).
_TYPED_MENTION = re.compile(r"(?<![\w<|&])([@#])([a-z0-9][a-z0-9._-]*)")


def seeded_workspace(clock: Callable[[], float] = time.time) -> Workspace:
    """A fresh workspace: the people, the channels (with a little history in #ops), and a
    reviewers group holding the approver."""
    workspace = Workspace(
        channels={channel: [] for channel in CHANNELS},
        usergroups={REVIEWERS_GROUP: ["UBOB"]},
        users={p.id: {"name": p.name, "real_name": p.name.title()} for p in PEOPLE},
        channel_names=dict(CHANNELS),
        clock=clock,
    )
    workspace.users[BOT_USER] = {"name": BOT_NAME, "is_bot": True}
    now = clock()
    for minutes_ago, user, text in OPS_HISTORY:
        ts = f"{now - minutes_ago * 60:.6f}"
        workspace.store("COPS", {"type": "message", "user": user, "text": text, "ts": ts})
    return workspace


def slack_escaped(text: str, workspace: Workspace, *, names: bool) -> str:
    """Text as Slack sends it to an app: ``&``, ``<`` and ``>`` escaped, and each ``@person``
    and ``#channel`` it knows as an entity: ``<@U…|name>`` and ``<#C…|name>`` with ``names``
    (a slash command with ``should_escape``), ``<@U…>`` and ``<#C…|name>`` in a message."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def entity(match: re.Match[str]) -> str:
        sign, name = match.group(1), match.group(2)
        if sign == "#":
            channel = workspace.channel_named(name)
            return f"<#{channel}|{name}>" if channel else match.group(0)
        user = next(
            (p.id for p in PEOPLE if p.name == name), BOT_USER if name == BOT_NAME else None
        )
        if user is None:
            return match.group(0)
        return f"<@{user}|{name}>" if names else f"<@{user}>"

    return _TYPED_MENTION.sub(entity, escaped)


class AppError(Exception):
    """The app's Request URL did not answer as Slack expects; the page shows the message."""


class LocalSlack:
    """The workspace, its Web API, the page's own JSON API, and the signed calls to the app."""

    def __init__(
        self,
        state_file: Path,
        *,
        events_url: str,
        public_url: str,
        signing_secret: str,
        bot_token: str,
        slash_command: str,
        deciders: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self.state_file = state_file
        self.deciders = deciders
        self.events_url = events_url
        self.public_url = public_url
        self.bot_token = bot_token
        self.slash_command = slash_command
        self._signer = SignatureVerifier(signing_secret)
        self._lock = threading.RLock()
        self._triggers: dict[str, tuple[str, float]] = {}
        self.version = 0
        self.workspace, self.view_owners = self._load()
        self.workspace.permalink_base = public_url  # a card's link opens it on this page

    # State on disk -----------------------------------------------------------------------
    def _load(self) -> tuple[Workspace, dict[str, str]]:
        if not self.state_file.exists():
            return seeded_workspace(), {}
        data = json.loads(self.state_file.read_text())
        workspace = Workspace.from_json(data["workspace"], clock=time.time)
        workspace.channel_names = {**CHANNELS, **workspace.channel_names}
        return workspace, dict(data.get("view_owners", {}))

    def _changed(self) -> None:
        """Bump the version the page polls and write the state (atomically) to disk."""
        with self._lock:
            self.version += 1
            data = {"workspace": self.workspace.to_json(), "view_owners": self.view_owners}
            scratch = self.state_file.with_suffix(".partial")
            scratch.write_text(json.dumps(data))
            scratch.replace(self.state_file)

    # The Web API the app calls -----------------------------------------------------------
    def web_api(self, method: str, args: JsonObject, token: str | None) -> JsonObject:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not secrets.compare_digest(token, self.bot_token):
            return {"ok": False, "error": "invalid_auth"}
        with self._lock:
            try:
                if method in ("views.open", "views.push"):
                    owner = self._trigger_owner(str(args.get("trigger_id") or ""))
                    reply = self.workspace.call(method, args)
                    self.view_owners[reply["view"]["id"]] = owner
                else:
                    reply = self.workspace.call(method, args)
            except SlackError as err:
                return {"ok": False, "error": err.error}
            if method not in READ_ONLY_METHODS:
                self._changed()
            return {"ok": True, **reply}

    def _trigger_owner(self, trigger_id: str) -> str:
        """Who the trigger was made for; Slack refuses triggers older than 3 seconds."""
        owner, issued = self._triggers.get(trigger_id, ("", 0.0))
        if not owner:
            raise SlackError("invalid_trigger_id")
        if time.monotonic() - issued > 3:
            raise SlackError("expired_trigger_id")
        return owner

    def respond(self, channel: str, user: str, payload: JsonObject, thread_ts: str | None) -> None:
        """A post to a response_url: ephemeral for ``user`` unless sent ``in_channel``; in
        the thread of the message whose button made the URL, if it was in one."""
        with self._lock:
            if payload.get("response_type") == "in_channel":
                where = {"thread_ts": thread_ts} if thread_ts else {}
                self.workspace.call("chat.postMessage", {"channel": channel, **payload, **where})
            else:
                text, blocks = payload.get("text", ""), payload.get("blocks")
                self._ephemeral(channel, user, text, blocks, thread_ts)
            self._changed()

    def _ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: Any = None,
        thread_ts: str | None = None,
    ) -> None:
        args = {"channel": channel, "user": user, "text": text, "blocks": blocks or []}
        if thread_ts:
            args["thread_ts"] = thread_ts
        self.workspace.call("chat.postEphemeral", args)

    def _role(self, person: Person) -> str:
        """What the page says a person is: with a policy file, whether any of its gates
        lists them (or a group they are in) among who may decide."""
        if self.deciders is None:
            return person.role
        named = self.deciders()
        groups = {g for g in named if g.startswith("S")}
        members = {m for g in groups for m in self.workspace.usergroups.get(g, [])}
        if person.id in named or person.id in members or ANYONE in named:
            return "approver"
        return "asks for work" if person.id == PEOPLE[0].id else "not an approver"

    # What the page reads -----------------------------------------------------------------
    def state_for(self, user: str) -> JsonObject:
        """What ``user`` sees: every channel, their own ephemerals, their open modal."""
        with self._lock:
            ws = self.workspace
            views = [v for v in ws.views if self.view_owners.get(v["id"]) == user]
            return copy.deepcopy(
                {
                    "version": self.version,
                    "me": user,
                    "people": [p.__dict__ | {"role": self._role(p)} for p in PEOPLE],
                    "bot": {"id": BOT_USER, "name": BOT_NAME},
                    "groups": [{"id": g, "handle": h} for g, h in GROUP_HANDLES.items()],
                    "command": self.slash_command,
                    "channels": [
                        {"id": c, "name": ws.channel_name(c), "messages": ws.channels[c]}
                        for c in ws.channels
                        if c not in ws.ims
                    ],
                    "dms": [
                        {"id": c, "with": BOT_USER, "messages": ws.channels.get(c, [])}
                        for c, person in ws.ims.items()
                        if person == user
                    ],
                    "home": ws.homes.get(user),
                    "ephemerals": [e for e in ws.ephemerals if e["user"] == user],
                    "view": views[-1] if views else None,
                }
            )

    # What people do on the page ----------------------------------------------------------
    def send(self, user: str, channel: str, text: str, thread_ts: str | None) -> JsonObject:
        """The composer: a slash command, or a message (an @mention of the bot if it has one)."""
        text = text.strip()
        if not text:
            raise AppError("Type a message or a command.")
        if channel not in self.workspace.channels:
            raise AppError(f"There is no channel {channel!r} here.")
        if channel in self.workspace.ims:
            raise AppError("The app's Messages tab is read only: the app writes there.")
        if text.startswith("/"):
            return self._command(user, channel, text)
        escaped = slack_escaped(text, self.workspace, names=False)
        message = {"type": "message", "user": user, "text": escaped, "ts": self.workspace.next_ts()}
        mentioned = f"<@{BOT_USER}>" in escaped
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            self.workspace.store(channel, message)
            self._changed()
        if mentioned:
            self._mention(message, channel)
        return {"ok": True, "ts": message["ts"]}

    def _command(self, user: str, channel: str, text: str) -> JsonObject:
        command, _, rest = text.partition(" ")
        if command != self.slash_command:
            self._say(channel, user, f"{command} is not a valid command here.")
            return {"ok": False}
        form = {
            "token": "local",
            "team_id": TEAM_ID,
            "team_domain": "local",
            "channel_id": channel,
            "channel_name": self.workspace.channel_name(channel),
            "user_id": user,
            "user_name": self._name(user),
            "command": command,
            "text": slack_escaped(rest.strip(), self.workspace, names=True),
            "api_app_id": APP_ID,
            "response_url": f"{self.public_url}/respond/{channel}/{user}",
            "trigger_id": self._trigger(user),
        }
        reply = self._post(urlencode(form), "application/x-www-form-urlencoded")
        acked = _ack_text(reply)
        if acked:
            self._say(channel, user, acked)
        return {"ok": True}

    def _mention(self, message: JsonObject, channel: str) -> None:
        event = {
            "type": "app_mention",
            "user": message["user"],
            "text": message["text"],
            "ts": message["ts"],
            "channel": channel,
            "event_ts": message["ts"],
        }
        if message.get("thread_ts"):
            event["thread_ts"] = message["thread_ts"]
        self._post(json.dumps(self._event_body(event)), "application/json")

    @staticmethod
    def _event_body(event: JsonObject) -> JsonObject:
        """An Events API callback around ``event``, as Slack posts it."""
        return {
            "token": "local",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(8).upper(),
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True}],
        }

    def click(self, user: str, channel: str, ts: str, action: JsonObject) -> JsonObject:
        """A button on a message: a ``block_actions`` interaction."""
        message = self.workspace.find(channel, ts)
        if message is None:
            raise AppError("That message is gone.")
        container: JsonObject = {"type": "message", "message_ts": ts, "channel_id": channel}
        container["is_ephemeral"] = False
        thread_ts = message.get("thread_ts")
        if thread_ts:
            container["thread_ts"] = thread_ts
        respond_to = f"{self.public_url}/respond/{channel}/{user}"
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": self._name(user), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "local",
            "container": container,
            "trigger_id": self._trigger(user),
            "team": {"id": TEAM_ID, "domain": "local"},
            "channel": {"id": channel, "name": self.workspace.channel_name(channel)},
            "message": copy.deepcopy(message),
            "response_url": respond_to + (f"/{thread_ts}" if thread_ts else ""),
            "actions": [_clicked(action)],
        }
        self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        return {"ok": True}

    def open_home(self, user: str) -> JsonObject:
        """The person opens the app's Home tab: Slack tells the app (``app_home_opened``)."""
        with self._lock:
            channel = self.workspace.im_with(user)
            home = copy.deepcopy(self.workspace.homes.get(user))
            self._changed()
        event: JsonObject = {
            "type": "app_home_opened",
            "user": user,
            "channel": channel,
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if home is not None:
            event["view"] = home
        self._post(json.dumps(self._event_body(event)), "application/json")
        return {"ok": True}

    def click_home(self, user: str, view_id: str, action: JsonObject) -> JsonObject:
        """A button on the Home tab: a ``block_actions`` whose container is the view, with
        no channel, message or response_url (as Slack sends it)."""
        home = self.workspace.homes.get(user)
        if home is None or home["id"] != view_id:
            raise AppError("That Home tab is not open for you.")
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": self._name(user), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "local",
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": self._trigger(user),
            "team": {"id": TEAM_ID, "domain": "local"},
            "view": copy.deepcopy(home),
            "actions": [_clicked(action)],
        }
        self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        return {"ok": True}

    def submit(self, user: str, view_id: str, values: JsonObject) -> JsonObject:
        """A modal's Submit: a ``view_submission``; field errors come back in the ack."""
        view = self._view(user, view_id)
        state = {
            block_id: {
                action_id: {"type": "plain_text_input", "value": value}
                for action_id, value in inputs.items()
            }
            for block_id, inputs in values.items()
        }
        submitted = {**view, "state": {"values": state}}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "local"},
            "user": {"id": user, "username": self._name(user), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "local",
            "trigger_id": self._trigger(user),
            "view": submitted,
            "response_urls": [],
        }
        reply = self._post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        response = _json_or_none(reply)
        if response and response.get("response_action") == "errors":
            return {"ok": False, "errors": response.get("errors", {})}
        self.close(user, view_id)
        return {"ok": True}

    def close(self, user: str, view_id: str) -> None:
        with self._lock:
            self._view(user, view_id)
            self.workspace.views[:] = [v for v in self.workspace.views if v["id"] != view_id]
            self.view_owners.pop(view_id, None)
            self._changed()

    def _view(self, user: str, view_id: str) -> JsonObject:
        with self._lock:
            for view in self.workspace.views:
                if view["id"] == view_id and self.view_owners.get(view_id) == user:
                    return copy.deepcopy(view)
        raise AppError("That modal is not open for you.")

    # Helpers -----------------------------------------------------------------------------
    def _trigger(self, user: str) -> str:
        trigger = f"{int(time.time())}.{secrets.token_hex(6)}"
        with self._lock:
            now = time.monotonic()
            self._triggers = {t: v for t, v in self._triggers.items() if now - v[1] < 60}
            self._triggers[trigger] = (user, now)
        return trigger

    def _say(self, channel: str, user: str, text: str) -> None:
        with self._lock:
            self._ephemeral(channel, user, text)
            self._changed()

    def _name(self, user: str) -> str:
        return next((p.name for p in PEOPLE if p.id == user), user.lower())

    def _post(self, body: str, content_type: str) -> bytes:
        """POST a signed request to the app's Request URL, as Slack does; its answer's body."""
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            self.events_url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": str(
                    self._signer.generate_signature(timestamp=timestamp, body=body)
                ),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=APP_TIMEOUT_SECONDS) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as err:
            raise AppError(f"The app answered {err.code}: {err.read()[:200]!r}") from None
        except OSError as err:
            raise AppError(f"The app did not answer: {err}") from None

    # WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            if path.startswith("/api/"):
                args = parse_args(raw, environ.get("CONTENT_TYPE", ""), environ["QUERY_STRING"])
                auth = environ.get("HTTP_AUTHORIZATION", "")
                token = auth.removeprefix("Bearer ") if auth else args.pop("token", None)
                return answer_json(start_response, 200, self.web_api(path[5:], args, token))
            if path.startswith("/respond/") and method == "POST":
                channel, user, *thread = path.split("/")[2:5]
                self.respond(channel, user, _object(raw), thread[0] if thread else None)
                return answer_json(start_response, 200, {"ok": True})
            if path.startswith("/workspace/"):
                return self._page_api(path, method, environ, raw, start_response)
            if (path in STATIC_FILES or path.startswith("/archives/")) and method == "GET":
                # A permalink (/archives/C…/p…) is the page, opened at that message.
                name, content_type = STATIC_FILES.get(path, STATIC_FILES["/"])
                body = resources.files("localdev.web").joinpath(name).read_bytes()
                headers = {"content-type": content_type + "; charset=utf-8"}
                return answer(start_response, 200, headers, body)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
            return answer_json(start_response, 400, {"ok": False, "error": f"bad request: {err}"})
        return answer_json(start_response, 404, {"ok": False, "error": "not_found"})

    def _page_api(
        self,
        path: str,
        method: str,
        environ: dict[str, Any],
        raw: bytes,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        if path == "/workspace/state" and method == "GET":
            query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
            return answer_json(start_response, 200, self.state_for(query.get("user", PEOPLE[0].id)))
        if method != "POST":
            return answer_json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
        body = _object(raw)
        user = str(body.get("user") or "")
        if user not in {p.id for p in PEOPLE}:
            return answer_json(
                start_response, 400, {"ok": False, "error": f"unknown user {user!r}"}
            )
        try:
            if path == "/workspace/send":
                result = self.send(user, body["channel"], body["text"], body.get("thread_ts"))
            elif path == "/workspace/click" and "view_id" in body:
                result = self.click_home(user, body["view_id"], body["action"])
            elif path == "/workspace/click":
                result = self.click(user, body["channel"], body["ts"], body["action"])
            elif path == "/workspace/home":
                result = self.open_home(user)
            elif path == "/workspace/submit":
                result = self.submit(user, body["view_id"], body.get("values") or {})
            elif path == "/workspace/close":
                self.close(user, body["view_id"])
                result = {"ok": True}
            else:
                return answer_json(start_response, 404, {"ok": False, "error": "not_found"})
        except AppError as err:
            return answer_json(start_response, 200, {"ok": False, "error": str(err)})
        except KeyError as err:
            return answer_json(
                start_response, 400, {"ok": False, "error": f"missing {err.args[0]}"}
            )
        return answer_json(start_response, 200, result)


def _object(raw: bytes) -> JsonObject:
    """A request's JSON object body; ``ValueError`` (a 400) for anything else."""
    parsed = loads(raw or b"{}", "the body")
    if not isinstance(parsed, dict):
        raise ValueError("the body must be a JSON object")
    return parsed


def _ack_text(body: bytes) -> str:
    """What Slack shows the user for a command's ack: its text, or the body as is."""
    parsed = _json_or_none(body)
    if parsed is not None:
        return str(parsed.get("text") or "")
    return body.decode(errors="replace").strip()


def _json_or_none(body: bytes) -> JsonObject | None:
    try:
        parsed = loads(body, "the answer") if body.strip() else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _clicked(action: JsonObject) -> JsonObject:
    """A clicked button as a ``block_actions`` payload names it."""
    return {
        "type": "button",
        "action_id": action.get("action_id"),
        "block_id": action.get("block_id"),
        "value": action.get("value"),
        "text": action.get("text"),
        "action_ts": f"{time.time():.6f}",
    }
