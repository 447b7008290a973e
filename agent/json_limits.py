"""JSON from outside, bounded: how deep it nests is checked before anything parses it.

Python's parser recurses once per level, so a body of a few thousand ``[`` raises
``RecursionError`` (a 5xx) wherever it is parsed: Bolt, Powertools, our own modals. Every
front door measures the nesting first, in linear time without recursion, and refuses what
is deeper than ``MAX_JSON_DEPTH``: as deep as DynamoDB stores nested maps and lists, so a
value within the limit can always be kept, and far deeper than anything Slack or a caller
of the API sends.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 32

# A JSON string (escapes included), and everything that is not a bracket: what to drop
# before counting brackets.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class TooDeep(ValueError):
    """JSON nested deeper than the limit; the message says what and how deep."""


def nesting_depth(text: str) -> int:
    """How many levels of arrays and objects ``text`` opens at its deepest (0: none).

    Brackets inside strings do not count; text that is not JSON is measured all the same,
    so junk with many opening brackets is refused as too deep before a parser sees it.
    """
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)), default=0))


def check_depth(text: str, what: str) -> None:
    """Raise ``TooDeep`` naming ``what`` when ``text`` nests deeper than the limit."""
    depth = nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise TooDeep(
            f"{what}: JSON nested {depth} levels deep, deeper than the {MAX_JSON_DEPTH} allowed"
        )


def loads(text: str | bytes, what: str) -> Any:
    """``json.loads``, after ``check_depth``; both failures are ``ValueError``s."""
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    check_depth(decoded, what)
    return json.loads(decoded)
