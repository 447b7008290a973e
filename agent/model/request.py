"""One model turn's request, and what every model client (Claude, the offline model) offers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ModelRequest:
    """What one turn sends to Claude; ``messages`` is the history rebuilt from checkpoints."""

    model: str
    max_tokens: int
    system: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    metadata: Mapping[str, str] = field(default_factory=dict)


class ModelClient(Protocol):
    """One model turn: a request in, the reply as a JSON-ready dict out."""

    name: str

    def complete(self, request: ModelRequest) -> dict[str, Any]: ...
