"""Prompt caching: where the ``cache_control`` breakpoints go, and for how long (pure).

A request is read as tools, then system, then messages. Four breakpoints, Anthropic's limit:
1. the last tool and 2. the system prompt: the same for every run, kept an hour;
3. the last block of the previous request's final message: the previous request wrote its
   cache entry there, so this request reads everything up to it, however many blocks the
   newest turn added (a lookup only searches 20 blocks back from a breakpoint);
4. the last block of this request's final message: the entry the next request reads.

History breakpoints live 5 minutes inside a burst of turns. After a reviewer's feedback the
run is in a review loop: the revised draft goes back to the reviewer, the wait is likely
short, and the 1-hour entry (written once at twice the base price) outlives it where a
5-minute one would be rewritten after every review.

The messages themselves are never changed, only annotated, so a run's history stays byte
identical from turn to turn and each request extends the previous one's prefix.
"""

from __future__ import annotations

from typing import Any, Literal

Ttl = Literal["5m", "1h"]
STATIC_TTL: Ttl = "1h"


def history_ttl(transcript: list[dict[str, Any]]) -> Ttl:
    """1 hour when the newest input is a reviewer's feedback (a review loop), else 5 minutes."""
    return "1h" if transcript and transcript[-1].get("feedback") else "5m"


def with_breakpoints(
    system: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    *,
    ttl: Ttl,
    explicit_ttl: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Copies of the three parts with breakpoints set; the inputs are not touched.

    Only what gets a marker is copied (the lists, the marked messages and their last block):
    the history is shared with the run's transcript, and copying all of it each turn would
    grow with the run.
    ``explicit_ttl=False`` leaves the TTL out (for providers that only offer the default).
    """
    static = _marker(STATIC_TTL, explicit_ttl)
    system, tools, messages = _marked_last(system, static), _marked_last(tools, static), [*messages]
    for index in _history_breakpoints(messages):
        message = messages[index]
        marked = _marked_last(message["content"], _marker(ttl, explicit_ttl))
        messages[index] = {**message, "content": marked}
    return system, tools, messages


def _marked_last(blocks: list[dict[str, Any]], marker: dict[str, str]) -> list[dict[str, Any]]:
    """A copy of the list whose last block (itself a copy) carries ``marker``."""
    if not blocks:
        return list(blocks)
    return [*blocks[:-1], {**blocks[-1], "cache_control": marker}]


def _history_breakpoints(messages: list[dict[str, Any]]) -> list[int]:
    """The last message, and the last one of the previous request (two messages earlier:
    the previous request ended with a user message, then came its reply and our answer)."""
    last = len(messages) - 1
    return [i for i in (last - 2, last) if i >= 0]


def _marker(ttl: Ttl, explicit: bool) -> dict[str, str]:
    return {"type": "ephemeral", "ttl": ttl} if explicit else {"type": "ephemeral"}


def strip_breakpoints(value: Any) -> Any:
    """The request without its ``cache_control`` markers (what the prefix comparison reads)."""
    if isinstance(value, dict):
        return {k: strip_breakpoints(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [strip_breakpoints(v) for v in value]
    return value
