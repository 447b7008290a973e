"""What a tool's function is handed when it runs (its own module: jobs and the registry both
need it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.config import Settings


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    """What a tool may use: the run's identity, an idempotency key and the clients.

    ``aws(service)`` is a boto3 client in the run's region; ``completion_url`` is set for a
    webhook job's start (the address the outside system posts its result to).
    """

    run_id: str
    requester: str
    channel: str | None
    idempotency_key: str
    attempt: int
    slack: Any | None
    settings: Settings
    aws: Callable[[str], Any]
    completion_url: str | None = None
