"""A fake Slack Web API on loopback that keeps channels, threads and ephemerals like Slack.

The real slack_sdk WebClient talks to it (``base_url=fake.api_url``; the trailing slash matters
because the SDK builds URLs with ``urljoin``). Every call is recorded as a ``Call``; tests read
the resulting state (``messages``, ``thread``, ``ephemerals``) the way a user would see it, and
make methods fail with ``fail_next`` (a 429 with Retry-After, a 500...), and keep a call
waiting with ``hold`` (a ``Hold``: the moment a process is inside that call, to kill it there).

Slash-command ``response_url``s are served too (``response_url(channel, user)``): what is
posted there is recorded as an ephemeral for that user, as Slack shows it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from localdev.slack_workspace import BOT_USER, SlackError, Workspace, parse_args
from tests.fakes._http import FakeHandler, LoopbackServer

__all__ = ["BOT_USER", "Call", "FakeSlack", "Hold", "parse_args"]
# A held request is let go after this long even if nobody releases it, so no thread hangs.
HOLD_LIMIT_SECONDS = 120.0


@dataclass(frozen=True)
class Call:
    """One Web API call as received: the method and its decoded arguments."""

    method: str
    args: dict[str, Any]
    token: str | None = None


@dataclass
class Hold:
    """One request a fake keeps waiting: the caller is inside it until ``release()``.

    ``reached`` is set when the request arrives. With ``apply_first`` the call takes effect
    first and only its answer waits; without, it never takes effect (the request is dropped on
    release, as if it never arrived). Used once, by the first request that ``matches``.
    """

    matches: Callable[[dict[str, Any]], bool]
    apply_first: bool = False
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def wait_reached(self, timeout: float) -> bool:
        """Whether the request arrived within ``timeout`` seconds."""
        return self.reached.wait(timeout)

    def release(self) -> None:
        self.released.set()

    def block(self) -> None:
        """Called by the fake's handler thread: mark the request reached, wait for release."""
        self.reached.set()
        self.released.wait(HOLD_LIMIT_SECONDS)


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    times: int


class FakeSlack:
    """Slack's Web API, in memory, served over HTTP.

    State is public and may be seeded directly: ``usergroups`` (group id -> user ids), ``users``
    (user id -> name, or a dict of user fields), ``channels`` (channel -> messages, oldest
    first), ``ephemerals`` and ``views``.
    """

    def __init__(self) -> None:
        self.workspace = Workspace()
        self.calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._holds: dict[str, list[Hold]] = {}
        self._server = LoopbackServer(_Handler, self)
        self.url = self._server.url
        self.api_url = f"{self.url}/api/"

    # State (shared with the workspace, so seeding either works) --------------------------
    @property
    def channels(self) -> dict[str, list[dict[str, Any]]]:
        return self.workspace.channels

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return self.workspace.ephemerals

    @property
    def views(self) -> list[dict[str, Any]]:
        return self.workspace.views

    @property
    def usergroups(self) -> dict[str, list[str]]:
        return self.workspace.usergroups

    @property
    def users(self) -> dict[str, str | dict[str, Any]]:
        return self.workspace.users

    @property
    def private_members(self) -> dict[str, list[str]]:
        return self.workspace.private_members

    @property
    def _lock(self) -> threading.RLock:
        return self.workspace.lock

    # Lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # What tests use ----------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel (no thread replies), oldest first."""
        return copy.deepcopy(self.workspace.top_level(channel))

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """A thread, root first, then replies oldest first."""
        return copy.deepcopy(self.workspace.thread(channel, thread_ts))

    def seed_message(
        self,
        channel: str,
        text: str,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Put a message in a channel as if ``user`` had posted it; returns its ts."""
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts or self.workspace.next_ts(),
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if metadata:
            message["metadata"] = metadata
        return str(self.workspace.store(channel, message)["ts"])

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``.

        A 429 carries ``Retry-After`` (``retry_after``, default 1 s) as Slack's rate limiter
        does; other statuses carry it only when ``retry_after`` is given. Failed calls are
        recorded but change no state.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(error, status, retry_after, times)
            )

    def hold(
        self,
        method: str,
        matches: Callable[[dict[str, Any]], bool] = lambda _: True,
        *,
        apply_first: bool = False,
    ) -> Hold:
        """Keep the next call to ``method`` whose arguments ``matches`` waiting (see ``Hold``)."""
        hold = Hold(matches, apply_first)
        with self._lock:
            self._holds.setdefault(method, []).append(hold)
        return hold

    def take_hold(self, method: str, args: dict[str, Any]) -> Hold | None:
        """The hold this call falls into, if any (each hold is taken once)."""
        with self._lock:
            holds = self._holds.get(method) or []
            hold = next((h for h in holds if h.matches(args)), None)
            if hold is not None:
                holds.remove(hold)
            return hold

    def response_url(self, channel: str, user: str) -> str:
        """A slash command's response_url; what is posted there shows to that user."""
        return f"{self.url}/respond/{channel}/{user}"

    def respond(self, channel: str, user: str, payload: dict[str, Any]) -> None:
        """Record a response_url post as an ephemeral for ``user``."""
        with self._lock:
            self.calls.append(Call("response_url", payload))
            self.ephemerals.append(
                {
                    "channel": channel,
                    "user": user,
                    "text": payload.get("text", ""),
                    "blocks": payload.get("blocks") or [],
                    "response_type": payload.get("response_type", "ephemeral"),
                }
            )

    # The API -----------------------------------------------------------------------------
    def handle(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Record a call and answer it: (HTTP status, JSON body, extra headers)."""
        with self._lock:
            self.calls.append(Call(method, args, token))
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            if not token.startswith("xox"):
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            failure = self._take_failure(method)
            if failure is not None:
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
                )
                return failure.status, {"ok": False, "error": failure.error}, headers
            try:
                return 200, {"ok": True, **self.workspace.call(method, args)}, {}
            except SlackError as err:
                return 200, {"ok": False, "error": err.error}, {}

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method) or []
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure


class _Handler(FakeHandler):
    def do_POST(self) -> None:
        owner: FakeSlack = self.owner
        url = urlsplit(self.path)
        raw = self.read_body()
        if url.path.startswith("/respond/"):
            _, _, channel, user = url.path.split("/")[:4]
            owner.respond(channel, user, json.loads(raw or b"{}"))
            self.send_json(200, {"ok": True})
            return
        if not url.path.startswith("/api/"):
            self.send_json(404, {"ok": False, "error": "not_found"})
            return
        try:
            args = parse_args(raw, self.headers.get("content-type", ""), url.query)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.send_json(200, {"ok": False, "error": "invalid_json"})
            return
        auth = self.headers.get("authorization", "")
        token = (
            auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
        )
        method = url.path.removeprefix("/api/")
        hold = owner.take_hold(method, args)
        if hold is not None and not hold.apply_first:
            hold.block()
            self.drop_connection()
            return
        status, body, headers = owner.handle(method, args, token)
        if hold is not None:
            hold.block()
        try:
            self.send_bytes(
                status, json.dumps(body).encode(), "application/json; charset=utf-8", headers
            )
        except OSError:
            if hold is None:
                raise
            self.close_connection = True  # the held caller is gone (killed, as intended)

    do_GET = do_POST
