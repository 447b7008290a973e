"""Members of Slack user groups, cached briefly (one ``usergroups.users.list`` per group)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

CACHE_SECONDS = 60


@dataclass
class GroupMembers:
    """Callable: group id -> member ids; a failed lookup counts as no members (fail closed)."""

    client: Any
    ttl: float = CACHE_SECONDS
    _cache: dict[str, tuple[float, list[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, group_id: str) -> list[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(group_id)
            if cached and cached[0] > now:
                return cached[1]
        response = self.client.usergroups_users_list(usergroup=group_id)
        members = list(response.get("users", []))
        with self._lock:
            self._cache[group_id] = (now + self.ttl, members)
        return members
