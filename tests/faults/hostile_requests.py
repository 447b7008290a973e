"""Hypothesis strategies for requests to ``POST /slack/events`` and to the HTTP API that
must never do harm.

Each example is a ``Hostile``: one API Gateway v2 event, maybe replayed, and the statuses it
may get. Bodies (``slack_payloads``) are wrapped the way API Gateway does it
(``localdev.apigw.http_api_event``: lowercased headers, base64 for bodies that are not UTF-8),
then signed, or mis-signed, exactly as Slack signs: a wrong secret, a stale or future or
unreadable timestamp, no signature, a body changed after signing. Signed ones come with
other content types, other methods, replays, Slack's retry headers, and the headers Bolt adds
to its own lazy invocations sent from outside.

API requests (``hostile_api_requests``) go to every route, with the local bearer token or as
an IAM caller with a long ARN: bodies nested past any parser's limit, bodies over the size
limit in bytes though not in characters, forged list cursors, and any JSON. None can start a
run or decide: run starts carry no object, decisions name a decided or made-up approval, and
completion URLs are made up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote_plus, urlencode

from hypothesis import strategies as st

from api.handler import MAX_BODY_BYTES
from localdev.apigw import http_api_event
from tests.faults.hostile_values import (
    DEEP_JSON,
    JSON_VALUES,
    LONG_PRINCIPALS,
    NOT_STRINGS,
    STRINGS,
    heavy_text,
    usually,
)
from tests.faults.slack_payloads import (
    FORM,
    JSON,
    JUNK_BODIES,
    Targets,
    routed_bodies,
)
from tests.slack_app.slack_requests import SIGNING_SECRET

SKEW_SECONDS = 10 * 60  # well past the five minutes Bolt allows between Slack's clock and ours
LAZY_LISTENERS = ("run_command", "run_mention", "decide_approve", "decide_submission", "other")


@dataclass(frozen=True)
class Hostile:
    """Requests to send in order, and the statuses they may get (None: anything but a 5xx)."""

    kind: str
    events: tuple[dict[str, Any], ...]
    allowed_statuses: frozenset[int] | None = None

    def __str__(self) -> str:
        """The kind and the start of the body, for a failure's message."""
        event = self.events[0]
        body = unquote_plus(event["body"] or "") if not event["isBase64Encoded"] else "(binary)"
        return f"{self.kind} x{len(self.events)}: {body[:400]}"


# Envelopes ---------------------------------------------------------------------------------
def signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature over the raw bytes (slack_sdk's helper wants a str body)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def gateway_event(body: bytes, headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    return http_api_event(method, "/slack/events", "", headers, body, "198.51.100.7")


@cache
def any_body(targets: Targets) -> st.SearchStrategy[tuple[str, bytes, str]]:
    """(kind, body, content type): a payload a listener takes, or one Slack never sends."""
    return routed_bodies(targets) | JUNK_BODIES


FORGERY_KINDS = st.sampled_from(
    ["wrong_secret", "stale", "future", "bad_timestamp", "missing", "tampered", "v1"]
)
BAD_TIMESTAMPS = st.sampled_from(["", "soon", "1e9", "-1"])


@st.composite
def forged(draw: st.DrawFn, targets: Targets) -> Hostile:
    """A routed or junk body whose signature is wrong, stale, from the future, or missing."""
    kind, body, content_type = draw(any_body(targets))
    how = draw(FORGERY_KINDS)
    now = int(time.time())
    timestamp = str({"stale": now - SKEW_SECONDS, "future": now + SKEW_SECONDS}.get(how, now))
    if how == "bad_timestamp":
        timestamp = draw(BAD_TIMESTAMPS)
    secret = "not-the-secret" if how == "wrong_secret" else SIGNING_SECRET
    signed = signature(body + b" " if how == "tampered" else body, timestamp, secret)
    headers = {"content-type": content_type}
    if how != "missing":
        headers["x-slack-request-timestamp"] = timestamp
        headers["x-slack-signature"] = signed.replace("v0=", "v1=") if how == "v1" else signed
    event = gateway_event(body, headers)
    return Hostile(f"forged:{how}:{kind}", (event,), _refusals(event))


def _refusals(event: dict[str, Any]) -> frozenset[int] | None:
    """401, or 400 for a body that cannot even be read; Slack's ssl_check precedes both."""
    if "ssl_check" in (event.get("body") or ""):
        return None
    return frozenset({400, 401})


EXTRA_HEADERS = st.sampled_from(
    [
        *[{}] * 8,
        {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
        {"X-Slack-Signature": "v0=0", "Content-Type": JSON},  # duplicates in another case
        # What Bolt adds to its own lazy self-invocation, sent from outside instead.
        *[
            {"x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": name}
            for name in LAZY_LISTENERS
        ],
    ]
)
CONTENT_TYPES = st.sampled_from([FORM, JSON, "text/plain", "multipart/form-data; boundary=x", ""])
METHODS = st.sampled_from(["POST"] * 8 + ["GET", "PUT"])
REPLAYS = st.integers(min_value=1, max_value=2)


@st.composite
def signed(draw: st.DrawFn, targets: Targets) -> Hostile:
    """A correctly signed request carrying a hostile payload, maybe replayed at once."""
    kind, body, content_type = draw(any_body(targets))
    timestamp = str(int(time.time()))
    headers = {
        "content-type": draw(usually(content_type, CONTENT_TYPES)),
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature(body, timestamp),
        **draw(EXTRA_HEADERS),
    }
    method = draw(METHODS)
    replays = draw(REPLAYS)
    return Hostile(f"signed:{kind}", (gateway_event(body, headers, method),) * replays)


def hostile_requests(targets: Targets) -> st.SearchStrategy[Hostile]:
    """Two signed requests for each forged one: the signed ones reach the listeners."""
    return st.one_of(forged(targets), signed(targets), signed(targets))


# The HTTP API -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiTargets:
    """What hostile API requests aim at: a finished run and its decided gate, and the bearer
    token."""

    decided_approval: str
    run_id: str
    token: str


def api_event(
    method: str, path: str, body: str, *, query: str = "", caller: str | None, token: str
) -> dict[str, Any]:
    """An API Gateway v2 event: as an IAM caller (``caller``), else with the bearer token."""
    headers = {"content-type": "application/json"}
    if caller is None:
        headers["authorization"] = f"Bearer {token}"
    event = http_api_event(method, path, query, headers, body.encode(), "198.51.100.7")
    if caller is not None:
        event["requestContext"]["authorizer"] = {"iam": {"userArn": caller}}
    return event


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode()


CURSOR_KEYS = st.sampled_from(["pk", "sk", "gsi_requester", "created_at", "other"])
FORGED_CURSORS = st.one_of(
    st.text(max_size=60),
    JSON_VALUES.map(lambda value: _b64(json.dumps(value))),
    st.dictionaries(CURSOR_KEYS, STRINGS | NOT_STRINGS, max_size=5).map(
        lambda key: _b64(json.dumps(key))
    ),
    DEEP_JSON.map(_b64),
)
MADE_UP_APPROVALS = st.binary(min_size=16, max_size=16).map(lambda raw: "ap_" + raw.hex()) | (
    STRINGS.map(lambda text: "ap_" + "".join(c for c in text if c.isalnum())[:40])
)
MADE_UP_TOKENS = st.builds(
    lambda raw, secret: f"jb_{raw.hex()}.{secret}",
    st.binary(min_size=16, max_size=16),
    st.text("abcdefXYZ0123456789-_", min_size=1, max_size=40),
)


@cache
def body_routes(targets: ApiTargets) -> st.SearchStrategy[str]:
    """Every route that takes a body, aimed where no body can decide or start anything."""
    return st.one_of(
        st.just("/runs"),
        st.just(f"/approvals/{targets.decided_approval}/decision"),
        MADE_UP_APPROVALS.map(lambda approval: f"/approvals/{approval}/decision"),
        st.just(f"/runs/{targets.run_id}/cancel"),
        MADE_UP_TOKENS.map(lambda token: f"/callbacks/{token}"),
        MADE_UP_TOKENS.map(lambda token: f"/callbacks/{token}/heartbeat"),
    )


CALLERS = st.none() | LONG_PRINCIPALS
NOT_OBJECTS = JSON_VALUES.filter(lambda value: not isinstance(value, dict))


@st.composite
def deep_bodies(draw: st.DrawFn, targets: ApiTargets) -> Hostile:
    """JSON nested past the limit, alone or inside an object: refused before parsing."""
    deep = draw(DEEP_JSON)
    body = draw(st.sampled_from([deep, '{"task": "t", "arguments": ' + deep + "}"]))
    event = api_event("POST", draw(body_routes(targets)), body, caller=None, token=targets.token)
    return Hostile("api:deep_json", (event,), frozenset({400}))


@st.composite
def heavy_bodies(draw: st.DrawFn, targets: ApiTargets) -> Hostile:
    """Over the size limit in bytes, under it in characters."""
    body = json.dumps({"task": draw(heavy_text(MAX_BODY_BYTES))}, ensure_ascii=False)
    event = api_event("POST", draw(body_routes(targets)), body, caller=None, token=targets.token)
    return Hostile("api:heavy_body", (event,), frozenset({413}))


@st.composite
def forged_cursors(draw: st.DrawFn, targets: ApiTargets) -> Hostile:
    """A page of runs from a cursor this API never returned (maybe for one requester)."""
    query = {"cursor": draw(FORGED_CURSORS)}
    if draw(st.booleans()):
        query["requester"] = draw(st.just("UREQUESTER") | LONG_PRINCIPALS)
    event = api_event(
        "GET", "/runs", "", query=urlencode(query), caller=draw(CALLERS), token=targets.token
    )
    return Hostile("api:forged_cursor", (event,))


@st.composite
def any_json_bodies(draw: st.DrawFn, targets: ApiTargets) -> Hostile:
    """Any JSON from any caller; never an object to ``POST /runs`` (it could start a run)."""
    path = draw(body_routes(targets))
    value = draw(NOT_OBJECTS if path == "/runs" else JSON_VALUES)
    event = api_event("POST", path, json.dumps(value), caller=draw(CALLERS), token=targets.token)
    return Hostile("api:any_json", (event,))


@st.composite
def long_callers(draw: st.DrawFn, targets: ApiTargets) -> Hostile:
    """IAM callers with long ARNs reading runs and usage."""
    caller = draw(LONG_PRINCIPALS)
    path, query = draw(
        st.sampled_from(
            [
                (f"/runs/{targets.run_id}", ""),
                ("/runs", urlencode({"requester": caller})),
                ("/usage", urlencode({"requester": caller})),
            ]
        )
    )
    event = api_event("GET", path, "", query=query, caller=caller, token=targets.token)
    return Hostile("api:long_caller", (event,))


def hostile_api_requests(targets: ApiTargets) -> st.SearchStrategy[Hostile]:
    """Every kind of hostile API request, evenly."""
    return st.one_of(
        deep_bodies(targets),
        heavy_bodies(targets),
        forged_cursors(targets),
        any_json_bodies(targets),
        long_callers(targets),
    )
