"""What ``GET /healthz`` says about ``signoff dev``: each part it names, checked when asked.

A part that does not answer makes the whole stack unhealthy (503) with the part and the
reason named; a stack whose table is gone cannot serve a single request, whatever else is up.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# None when the part answers; otherwise what is wrong with it.
Check = Callable[[], str | None]
CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Health:
    """The parts of the stack, each with its check."""

    checks: Mapping[str, Check]

    def report(self) -> tuple[int, dict[str, Any]]:
        """200 with every part ``ok``, or 503 naming each part that is down and why."""
        parts = {name: _outcome(check) for name, check in self.checks.items()}
        down = [f"{name}: {state}" for name, state in parts.items() if state != "ok"]
        if down:
            return 503, {"ready": False, "parts": parts, "error": "; ".join(down)}
        return 200, {"ready": True, "parts": parts}


def _outcome(check: Check) -> str:
    try:
        problem = check()
    except Exception as err:  # noqa: BLE001 - a check that fails is a part that is down
        problem = f"{type(err).__name__}: {err}"
    return problem or "ok"


def answers_at(url: str) -> Check:
    """A part is up when its port takes a connection."""
    parts = urlsplit(url)

    def check() -> str | None:
        try:
            with socket.create_connection(
                (parts.hostname or "127.0.0.1", parts.port or 80), timeout=CHECK_TIMEOUT_SECONDS
            ):
                return None
        except OSError as err:
            return f"not answering at {url} ({err.strerror or type(err).__name__})"

    return check


def table_answers(dynamodb: Any, table: str, *, exited: Callable[[], int | None]) -> Check:
    """DynamoDB (dynalite) is up when its process runs and it describes the run table."""

    def check() -> str | None:
        try:
            dynamodb.describe_table(TableName=table)
            problem = None
        except Exception as err:  # noqa: BLE001 - whatever the client raises, it is down
            problem = f"the table {table!r} does not answer ({type(err).__name__})"
        code = exited()
        if code is not None:
            return f"dynalite exited (code {code}); restart signoff dev"
        return problem

    return check
