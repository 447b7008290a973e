"""Where the approval policy comes from, read again when it changes.

``SIGNOFF_POLICY`` (a path), else ``signoff.toml`` at the project root (the folder holding the
``agent`` package: the repository locally, the bundle's root in Lambda) when there is one,
else the environment's policy. A process builds one ``PolicySource`` at start, which reads
and checks the file then, so a bad file stops the start. ``current()`` reads the file again
and parses it when its bytes changed: a hot edit reaches the runs that start after it (a run
pins the policy it started with). An edit that does not validate makes ``current()`` raise,
so new runs fail saying why instead of carrying on under the older rules.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from agent.approvals.policy import ApprovalPolicy
from agent.approvals.policy_file import PolicyError, parse_policy
from agent.approvals.rules import Policy

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE_NAME = "signoff.toml"


def policy_file_path(configured: str | None, root: Path | None = None) -> Path | None:
    """The file ``SIGNOFF_POLICY`` names, else the project's ``signoff.toml`` if any."""
    default = (root or PROJECT_ROOT) / POLICY_FILE_NAME
    return Path(configured) if configured else (default if default.is_file() else None)


class PolicySource:
    """The policy in force for new runs: a file's, re-read when it changes, or ``base``."""

    def __init__(
        self,
        path: Path | None,
        *,
        base: Policy,
        tool_names: Iterable[str],
        code: Mapping[str, ApprovalPolicy] | None = None,
        mcp_servers: Iterable[str] = (),
    ) -> None:
        """Read and check ``path`` now (``PolicyError`` on a bad file); None: ``base``."""
        self.path = path
        self._base = base
        self._tool_names = frozenset(tool_names)
        self._mcp_servers = frozenset(mcp_servers)
        self._code = dict(code or {})
        self._lock = threading.Lock()
        self._digest = ""
        self._last: Policy | PolicyError = base
        self.current()

    @classmethod
    def locate(
        cls,
        configured: str | None,
        *,
        base: Policy,
        tools: Mapping[str, ApprovalPolicy],
        root: Path | None = None,
        mcp_servers: Iterable[str] = (),
    ) -> PolicySource:
        """The file ``SIGNOFF_POLICY`` names (``configured``), else the project's
        ``signoff.toml`` when present, else none (the environment's policy). ``tools``: each
        tool's name and what its code says (``ToolRegistry.approvals()``)."""
        path = policy_file_path(configured, root)
        return cls(path, base=base, tool_names=tools, code=tools, mcp_servers=mcp_servers)

    def current(self) -> Policy:
        """The policy a run starting now gets; ``PolicyError`` when the file does not
        validate (or is gone)."""
        if self.path is None:
            return self._base
        with self._lock:
            try:
                data = self.path.read_bytes()
            except OSError as err:
                raise PolicyError(
                    [f"{self.path}: cannot read the policy file ({err.strerror})"]
                ) from None
            digest = hashlib.sha256(data).hexdigest()
            if digest != self._digest:
                self._digest = digest
                self._last = self._parse(data)
            if isinstance(self._last, PolicyError):
                raise PolicyError(self._last.problems)
            return self._last

    def _parse(self, data: bytes) -> Policy | PolicyError:
        try:
            return parse_policy(
                data,
                source=str(self.path),
                base=self._base,
                tool_names=self._tool_names,
                code=self._code,
                mcp_servers=self._mcp_servers,
            )
        except PolicyError as err:
            return err
