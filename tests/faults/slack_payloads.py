"""Every payload kind Bolt routes, with hostile values, and bodies Slack never sends.

Payloads aim at ``Targets``: a run waiting on its gate, a decided gate, the people. None may
legitimately decide or start anything: an approver never clicks Approve on (or submits a modal
for) the waiting gate, only strangers name the waiting run in ``cancel``, and no slash command
or mention carries a task. Strategies that depend on the targets are cached per ``Targets``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from agent.approvals.cards import ACTION_APPROVE, ACTION_EDIT, ACTION_REJECT, ACTION_REVISE
from slack_app.commands import MAX_TASK
from slack_app.modals import EDIT_VIEW, FIELD_ACTION, FIELD_BLOCK, REJECT_VIEW, REVISE_VIEW
from tests.faults.hostile_values import (
    DEEP_JSON,
    EDITS,
    JSON_VALUES,
    NOT_STRINGS,
    STRINGS,
    damage,
    usually,
)
from tests.slack_app.slack_requests import TEAM

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BUTTONS = (ACTION_APPROVE, ACTION_EDIT, ACTION_REVISE, ACTION_REJECT)
MODALS = (EDIT_VIEW, REVISE_VIEW, REJECT_VIEW)
UNHEARD_INTERACTIONS = (
    "shortcut",
    "message_action",
    "view_closed",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
)
UNHEARD_EVENTS = ("message", "reaction_added", "app_home_opened", "member_joined_channel")


@dataclass(frozen=True)
class Targets:
    """What hostile requests aim at: a run waiting on its gate, a decided gate, the people."""

    waiting_approval: str
    decided_approval: str
    waiting_run: str
    channel: str
    card_ts: str
    requester: str
    approvers: tuple[str, ...]
    response_url: str  # where slash command answers go (the fake Slack records them)


ACTION_IDS = st.sampled_from(BUTTONS) | STRINGS
MODAL_IDS = st.sampled_from(MODALS) | STRINGS


@cache
def strangers(targets: Targets) -> st.SearchStrategy[str]:
    people = {targets.requester, *targets.approvers}
    id_characters = st.text(alphabet=ID_ALPHABET, min_size=2, max_size=11)
    return id_characters.map(lambda rest: "U" + rest).filter(lambda user: user not in people)


@cache
def clickers(targets: Targets) -> st.SearchStrategy[Any]:
    """Who clicks: a stranger, the requester, an approver, or not a user id at all."""
    return st.one_of(
        strangers(targets),
        st.just(targets.requester),
        st.sampled_from(targets.approvers),
        JSON_VALUES,
    )


@cache
def approval_ids(targets: Targets, *, may_decide: bool) -> st.SearchStrategy[Any]:
    """Ids a click carries; the waiting gate's own only where the click cannot decide it."""
    real = targets.waiting_approval
    forged = st.one_of(
        st.just(targets.decided_approval),
        st.binary(min_size=16, max_size=16).map(lambda raw: "ap_" + raw.hex()),
        st.sampled_from([real.upper(), f" {real}", f"{real}\n", real[:-1], real + "0"]),
        STRINGS,
        JSON_VALUES,
    )
    return forged if may_decide else st.just(real) | forged


# Payloads Bolt routes to a listener --------------------------------------------------------
@st.composite
def block_actions(draw: st.DrawFn, targets: Targets) -> Any:
    user = draw(clickers(targets))
    action = draw(ACTION_IDS)
    may_decide = user in targets.approvers and action == ACTION_APPROVE
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user, "name": draw(usually("mallory")), "team_id": TEAM},
        "api_app_id": "A1",
        "trigger_id": draw(usually("trig-hostile")),
        "channel": {"id": draw(usually(targets.channel))},
        "container": {
            "type": "message",
            "channel_id": targets.channel,
            "message_ts": targets.card_ts,
        },
        "message": {"ts": targets.card_ts, "type": "message"},
        "actions": [
            {
                "action_id": action,
                "block_id": "signoff_actions",
                "value": draw(approval_ids(targets, may_decide=may_decide)),
                "type": "button",
                "action_ts": str(time.time()),
            }
        ],
    }
    return damage(payload, draw(EDITS))


@st.composite
def view_submissions(draw: st.DrawFn, targets: Targets) -> Any:
    user = draw(clickers(targets))
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": user, "name": draw(usually("mallory")), "team_id": TEAM},
        "api_app_id": "A1",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": draw(MODAL_IDS),
            "private_metadata": draw(approval_ids(targets, may_decide=user in targets.approvers)),
            "state": {
                "values": {
                    FIELD_BLOCK: {FIELD_ACTION: {"value": draw(usually("looks fine", JSON_VALUES))}}
                }
            },
        },
    }
    return damage(payload, draw(EDITS))


@cache
def command_texts(targets: Targets, *, may_cancel_the_waiting_run: bool) -> st.SearchStrategy[str]:
    """help, pending, usage, status or cancel of anything, or a task too long to start.

    Only words that parse as a command: anything else is a task, and would start a run.
    """
    one_word = STRINGS.map(lambda text: "".join(text.split()) or "nothing")
    usage = ["usage", "usage 7", f"usage <@{targets.requester}>", f"usage <#{targets.channel}> 90"]
    texts = [
        st.sampled_from(["", "help", "HELP", "pending", "status", "cancel", *usage]),
        one_word.map(lambda word: f"status {word}"),
        one_word.map(lambda word: f"cancel {word}"),
        st.builds(
            lambda char, size: char * size,
            st.sampled_from(["x", "é", "👍"]),
            st.integers(min_value=MAX_TASK + 1, max_value=MAX_TASK + 5_000),
        ),
    ]
    if not may_cancel_the_waiting_run:
        texts.append(st.just(f"cancel {targets.waiting_run}"))
    return st.one_of(texts)


SLASH_FIELDS = (
    "token",
    "team_id",
    "channel_id",
    "user_id",
    "user_name",
    "command",
    "text",
    "trigger_id",
    "response_url",
)
# Forms carry only strings: damage here is a missing field.
FORM_FIELDS_DROPPED = st.sets(st.sampled_from(SLASH_FIELDS), max_size=3)


@cache
def command_users(targets: Targets) -> st.SearchStrategy[str]:
    return strangers(targets) | st.sampled_from((targets.requester, *targets.approvers))


@st.composite
def slash_commands(draw: st.DrawFn, targets: Targets) -> dict[str, str]:
    user = draw(command_users(targets))
    may_cancel = user == targets.requester or user in targets.approvers
    form = {
        "token": "legacy",
        "team_id": TEAM,
        "channel_id": draw(usually(targets.channel)),
        "user_id": user,
        "user_name": draw(usually("mallory")),
        "command": draw(usually("/agent")),
        "text": draw(command_texts(targets, may_cancel_the_waiting_run=may_cancel)),
        "trigger_id": draw(usually("trig-hostile")),
        "response_url": targets.response_url,
    }
    dropped = draw(FORM_FIELDS_DROPPED)
    return {key: value for key, value in form.items() if key not in dropped}


EVENT_KINDS = st.sampled_from(["app_mention", "unheard", "url_verification", "other"])
UNHEARD_EVENT_TYPES = st.sampled_from(UNHEARD_EVENTS)


@cache
def mention_texts(targets: Targets) -> st.SearchStrategy[Any]:
    """Only mentions (a mention with words would start a run), or not text at all."""
    mentions = st.lists(strangers(targets).map(lambda user: f"<@{user}>"), max_size=3)
    return mentions.map(" ".join) | NOT_STRINGS


@st.composite
def events(draw: st.DrawFn, targets: Targets) -> Any:
    """Events API callbacks: mentions with no task, events nobody listens to, verification."""
    kind = draw(EVENT_KINDS)
    if kind == "url_verification":
        return {"token": "legacy", "type": "url_verification", "challenge": draw(JSON_VALUES)}
    if kind == "other":
        return {"type": draw(STRINGS), "team_id": TEAM, "event": draw(JSON_VALUES)}
    event = {
        "type": "app_mention" if kind == "app_mention" else draw(UNHEARD_EVENT_TYPES),
        "user": draw(clickers(targets)),
        "text": draw(mention_texts(targets)),
        "ts": "1700000000.000100",
        "channel": targets.channel,
        "event_ts": "1700000000.000100",
    }
    payload = {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": draw(usually("Ev1")),
        "event_time": int(time.time()),
        "event": event,
    }
    # A mention's text is its task: kept as drawn (no task), damage cannot start a run.
    return damage(payload, draw(EDITS), keep="event.text")


UNHEARD_INTERACTION_PAYLOADS = st.builds(
    lambda kind, rest: {**rest, "type": kind},
    st.sampled_from(UNHEARD_INTERACTIONS) | STRINGS,
    st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4),
)


# Bodies: (kind, body, content type) --------------------------------------------------------
def interaction_body(payload: Any) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


def form_body(form: dict[str, str]) -> tuple[bytes, str]:
    encoded = {key: value.encode("utf-8", "surrogatepass") for key, value in form.items()}
    return urlencode(encoded).encode(), FORM


def json_body(payload: Any) -> tuple[bytes, str]:
    return json.dumps(payload).encode(), JSON


@cache
def routed_bodies(targets: Targets) -> st.SearchStrategy[tuple[str, bytes, str]]:
    """Every payload kind Bolt routes to a listener, or to nobody."""
    return st.one_of(
        block_actions(targets).map(lambda p: ("block_actions", *interaction_body(p))),
        view_submissions(targets).map(lambda p: ("view_submission", *interaction_body(p))),
        slash_commands(targets).map(lambda form: ("slash_command", *form_body(form))),
        events(targets).map(lambda p: ("event", *json_body(p))),
        UNHEARD_INTERACTION_PAYLOADS.map(lambda p: ("unheard_interaction", *interaction_body(p))),
    )


# Bodies Slack never sends: random bytes, random forms, payloads that are not objects, JSON
# nested deeper than a parser can follow.
JUNK_BODIES = st.one_of(
    st.binary(max_size=300).map(lambda raw: ("random_bytes", raw, "application/octet-stream")),
    st.text(max_size=300).map(
        lambda text: ("random_text", text.encode("utf-8", "surrogatepass"), "text/plain")
    ),
    st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=5).map(
        lambda form: ("random_form", *form_body(form))
    ),
    JSON_VALUES.map(lambda value: ("payload_any_json", *interaction_body(value))),
    JSON_VALUES.map(lambda value: ("body_any_json", *json_body(value))),
    st.text(max_size=100).map(lambda text: ("payload_not_json", *form_body({"payload": text}))),
    DEEP_JSON.map(lambda text: ("body_deep_json", text.encode(), JSON)),
    DEEP_JSON.map(lambda text: ("payload_deep_json", *form_body({"payload": text}))),
    DEEP_JSON.map(
        lambda text: (
            "block_actions_deep_json",
            *form_body({"payload": '{"type": "block_actions", "actions": ' + text + "}"}),
        )
    ),
)
