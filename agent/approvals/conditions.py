"""A tool table's ``when``: a CEL condition over the call (``args``, ``requester``, ``channel``).

CEL (Common Expression Language) is the usual language for policy conditions: side-effect
free, always terminating, the same in every implementation. The implementation here is
``common-expression-language`` (Rust bindings, ``import cel``), not ``cel-python``:

- the Lambda bundles are installed for ``manylinux2014_x86_64`` (``infra/bundles.py``);
  ``common-expression-language`` ships a wheel for that tag and CPython 3.13, while
  ``cel-python`` needs ``google-re2``, which has none (its CPython 3.13 wheels are
  manylinux_2_28 only), so the bundle would not build;
- it compiles a condition in about 0.1 ms and evaluates one in about 0.01 ms, where
  ``cel-python`` takes about 0.8 ms for each (``make bench`` is not needed for a number this
  far apart: measured once on this machine's CPython 3.11);
- a syntax error says where and what was expected (``<input>:1:16: Syntax error: mismatched
  input '<EOF>' expecting ...`` with a caret), and evaluation errors name the operation;
- both are maintained (releases this year).

Its cost: the package imports its command line tool (typer, rich, prompt_toolkit) with it,
about half a second. So ``cel`` is imported on first use, and a policy without a ``when``
never imports it.

Fail closed: a condition that raises at evaluation (a missing key, a type mismatch, a
division by zero) or yields something other than a bool means the gate APPLIES. A condition
decides only when a call may skip the people, never the other way round.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_logger = logging.getLogger(__name__)

# What a condition sees; anything else it names is a typo (caught when it compiles).
NAMES = ("args", "requester", "channel")
MAX_SOURCE_CHARS = 2000
# Names a macro binds (``args.items.exists(i, i > 3)``, ``m.all(k, v, ...)``) are not typos.
_BOUND = re.compile(
    r"\.\s*(?:all|exists|exists_one|existsOne|map|filter|transformList|transformMap)\s*\(\s*"
    r"([A-Za-z_]\w*)\s*,(?:\s*([A-Za-z_]\w*)\s*,)?"
)

_PARSER_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled ``when``; ``source`` is the text from the policy file."""

    source: str
    _program: Any

    def evaluate(self, *, args: Mapping[str, Any], requester: str, channel: str | None) -> bool:
        """Whether the gate applies to this call: the condition's value, or True when it
        fails or is not a bool (fail closed)."""
        context = {"args": dict(args), "requester": requester, "channel": channel}
        try:
            value = self._program.execute(context)
        except Exception as err:  # noqa: BLE001 - every failure means "ask the people"
            # The type only: a message may quote the call's arguments.
            _logger.warning(
                "condition %r failed (%s): the gate applies", self.source, type(err).__name__
            )
            return True
        if not isinstance(value, bool):
            _logger.warning(
                "condition %r gave a %s, not a bool: the gate applies",
                self.source,
                type(value).__name__,
            )
            return True
        return value


@lru_cache(maxsize=256)
def compile_condition(source: str) -> Condition:
    """Compile ``source`` once (cached by its text); ValueError says why it cannot be."""
    if not source.strip():
        raise ValueError("the condition is empty")
    if len(source) > MAX_SOURCE_CHARS:
        raise ValueError(f"the condition is {len(source)} characters; at most {MAX_SOURCE_CHARS}")
    import cel  # about half a second (see above): only once a policy has a condition

    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as err:
        raise ValueError(_syntax_error(str(err))) from None
    bound = {name for match in _BOUND.finditer(source) for name in match.groups() if name}
    unknown = sorted(set(program.variables()) - set(NAMES) - bound)
    if unknown:
        raise ValueError(
            f"unknown name {unknown[0]!r}: a condition sees {', '.join(NAMES)} "
            "(for example args.channel)"
        )
    return Condition(source=source, _program=program)


def _syntax_error(message: str) -> str:
    """The parser's report on one line: each error's position and reason, without the
    expression and caret it draws under them."""
    found = [
        f"column {column}: {reason}" if line == "1" else f"line {line}, column {column}: {reason}"
        for line, column, reason in _PARSER_ERROR.findall(message)
    ]
    return "; ".join(found) or " ".join(message.split())
