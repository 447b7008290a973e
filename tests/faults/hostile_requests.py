"""Hypothesis strategies for requests to ``POST /slack/events`` that must never do harm.

Each example is a ``Hostile``: one API Gateway v2 event, maybe replayed, and the statuses it
may get. Bodies (``slack_payloads``) are wrapped the way API Gateway does it
(``localdev.apigw.http_api_event``: lowercased headers, base64 for bodies that are not UTF-8),
then signed, or mis-signed, exactly as Slack signs: a wrong secret, a stale or future or
unreadable timestamp, no signature, a body changed after signing. Signed ones come with
other content types, other methods, replays, Slack's retry headers, and the headers Bolt adds
to its own lazy invocations sent from outside.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from hypothesis import strategies as st

from localdev.apigw import http_api_event
from tests.faults.hostile_values import usually
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
