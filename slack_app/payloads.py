"""What Slack always sends, checked before any listener runs (Bolt middleware).

Listeners read these fields as Slack documents them. A lazy listener has no error handler (a
failure there is only logged, and the clicker never hears back), so a payload without them is
refused at the door with a 400 naming the fields. Bolt's signature check comes first.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

from agent.models import SLACK_ID, SLACK_TS


def malformed(fields: list[str] | None = None) -> BoltResponse:
    """A 400 for a Slack request we cannot use, naming the fields that were wrong."""
    named = f": {', '.join(fields)}" if fields else ""
    return BoltResponse(status=400, body=json.dumps({"error": f"malformed request{named}"}))


Fits = Callable[[Any], bool]
_ABSENT = object()
_SLACK_ID = re.compile(SLACK_ID)
_SLACK_TS = re.compile(SLACK_TS)
# Far longer than any Slack id, token, response URL or user name; a decider's name holds 256.
MAX_SHORT = 256


def _slack_id(value: Any) -> bool:
    return isinstance(value, str) and _SLACK_ID.fullmatch(value) is not None


def _slack_ts(value: Any) -> bool:
    return isinstance(value, str) and _SLACK_TS.fullmatch(value) is not None


def _short(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_SHORT


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _name(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_SHORT


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _actions(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(a, dict) for a in value)


def _input_values(value: Any) -> bool:
    """A modal's ``state.values``: block id -> action id -> the input's state."""
    return isinstance(value, dict) and all(
        isinstance(block, dict) and all(isinstance(field, dict) for field in block.values())
        for block in value.values()
    )


def _is_unicode(body: dict[str, Any]) -> bool:
    """Slack sends UTF-8: a ``\\ud800`` escape (half a surrogate pair) is not from Slack."""
    try:
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _optional(fits: Fits) -> Fits:
    return lambda value: value is _ABSENT or fits(value)


_CLICKER: tuple[tuple[str, Fits], ...] = (
    ("user.id", _slack_id),
    ("user.name", _optional(_name)),
    ("user.username", _optional(_name)),
)
_SHAPES: dict[str, tuple[tuple[str, Fits], ...]] = {
    "slash_command": (
        ("user_id", _slack_id),
        ("channel_id", _slack_id),
        ("trigger_id", _short),
        ("response_url", _short),
        ("text", _optional(_text)),
    ),
    "block_actions": (
        *_CLICKER,
        ("trigger_id", _short),
        ("actions", _actions),
        ("channel", _optional(_object)),
        ("channel.id", _optional(_slack_id)),
        ("container", _optional(_object)),
        ("container.channel_id", _optional(_slack_id)),
    ),
    "view_submission": (
        *_CLICKER,
        ("view.private_metadata", _text),
        ("view.state.values", _input_values),
    ),
    "app_mention": (
        ("event_id", _optional(_short)),
        ("event.user", _slack_id),
        ("event.channel", _slack_id),
        ("event.ts", _slack_ts),
        ("event.thread_ts", _optional(_slack_ts)),
        ("event.text", _text),
    ),
    "app_home_opened": (
        ("event.user", _slack_id),
        ("event.tab", _optional(_short)),
    ),
}


def _kind(body: dict[str, Any]) -> str | None:
    """Which of the payloads our listeners take this is, if any."""
    if "command" in body:
        return "slash_command"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
        return kind if kind in ("app_mention", "app_home_opened") else None
    return kind if isinstance(kind, str) and kind in _SHAPES else None


def _at(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def refuse_what_slack_never_sends(
    body: dict[str, Any], next: Callable[[], None], logger: logging.Logger
) -> BoltResponse | None:
    """A 400 for a payload without the fields Slack always sends; the rest goes on."""
    shape = _SHAPES.get(_kind(body) or "", ())
    wrong = [path for path, fits in shape if not fits(_at(body, path))]
    if shape and not _is_unicode(body):
        wrong.append("text that is not Unicode")
    if not wrong:
        next()
        return None
    logger.warning("malformed Slack payload: %s", ", ".join(wrong))
    return malformed(wrong)
