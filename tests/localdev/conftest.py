"""``signoff dev`` as a user runs it: a subprocess on a free port, driven over HTTP.

``DevProcess`` talks to the stack the way the local Slack page does (``/workspace/*``) and the
way a service does (the HTTP API with the local bearer token); the page itself is driven by a
real browser in test_browser.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.dynalite import free_port
from tests.conftest import LEAKY_NAMES, LEAKY_PREFIXES
from tests.slack_app.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
WAIT = 30.0  # a run of the whole stack, with its subprocess and dynalite
ALICE, BOB, CAROL = "UALICE", "UBOB", "UCAROL"
GENERAL = "CGENERAL"


def clean_env() -> dict[str, str]:
    """This machine's env without anything that would point the stack elsewhere."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(LEAKY_PREFIXES) and name not in LEAKY_NAMES
    }
    return {**env, "PYTHONUNBUFFERED": "1"}


class PortTaken(Exception):
    """The port chosen for ``signoff dev`` was taken before it could bind it."""


class DevProcess:
    """One ``signoff dev`` process on ``port`` with its data under ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[str] | None = None
        self._use_port(port or free_port())

    def start(self) -> DevProcess:
        """Start it and wait until it answers. A port taken between choosing and binding it
        (another process's outgoing connection may take it) is chosen again."""
        for _ in range(3):
            try:
                return self._start()
            except PortTaken:
                self._use_port(free_port())
        return self._start()

    def _use_port(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = self.data_dir.parent / f"{self.data_dir.name}-{port}.log"

    def _start(self) -> DevProcess:
        command = [sys.executable, "-m", "localdev.cli", "dev", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=clean_env(),
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            healthy = self._healthy()  # then: still ours? (another server may answer there)
            if self.process.poll() is not None:
                self.process = None
                if "Address already in use" in self.output():
                    raise PortTaken(self.port)
                raise AssertionError(f"signoff dev exited at start:\n{self.output()}")
            if healthy:
                return self
            time.sleep(0.2)
        raise AssertionError(f"signoff dev was not healthy in {START_TIMEOUT}s:\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C or a process manager would; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    # HTTP ---------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def api(
        self, method: str, path: str, body: Any = None, *, as_: str = "api_token"
    ) -> tuple[int, Any]:
        """The HTTP API, with a bearer token ``signoff dev`` made for this data dir (the
        operator's, or ``as_="reviewer_token"``)."""
        token = json.loads((self.data_dir / "secrets.json").read_text())[as_]
        return self.request(method, path, body, {"authorization": f"Bearer {token}"})

    # The local Slack, as the page uses it ---------------------------------------------------
    def state(self, user: str) -> dict[str, Any]:
        status, body = self.request("GET", f"/workspace/state?user={user}")
        assert status == 200, body
        return dict(body)

    def act(self, path: str, user: str, **fields: Any) -> dict[str, Any]:
        status, body = self.request("POST", f"/workspace/{path}", {"user": user, **fields})
        assert status == 200, body
        return dict(body)

    def command(self, user: str, text: str, channel: str = GENERAL) -> dict[str, Any]:
        return self.act("send", user, channel=channel, text=text)

    def messages(self, user: str, channel: str = GENERAL) -> list[dict[str, Any]]:
        channels = self.state(user)["channels"]
        return list(next(c for c in channels if c["id"] == channel)["messages"])

    def ephemerals(self, user: str) -> list[str]:
        return [e["text"] for e in self.state(user)["ephemerals"]]

    def thread_of(self, user: str, task: str) -> list[dict[str, Any]]:
        """The run thread opened for ``task``: its root, then the replies."""
        messages = self.messages(user)
        root = next((m for m in messages if task in m["text"] and "thread_ts" not in m), None)
        if root is None:
            return []
        return [m for m in messages if m["ts"] == root["ts"] or m.get("thread_ts") == root["ts"]]

    def card(self, user: str, task: str, *, with_button: str = "Approve") -> dict[str, Any]:
        """The latest message in the task's thread showing ``with_button``, once there."""

        def find() -> dict[str, Any] | None:
            cards = [m for m in self.thread_of(user, task) if with_button in buttons(m)]
            return cards[-1] if cards else None

        return dict(wait_for(find, f"a card with {with_button} for {task!r}", timeout=WAIT))

    def click(self, user: str, message: dict[str, Any], label: str) -> dict[str, Any]:
        actions = next(b for b in message["blocks"] if b["type"] == "actions")
        button = next(e for e in actions["elements"] if e["text"]["text"] == label)
        action = {
            "action_id": button["action_id"],
            "block_id": actions["block_id"],
            "value": button.get("value"),
        }
        return self.act("click", user, channel=GENERAL, ts=message["ts"], action=action)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def text_of(message: dict[str, Any]) -> str:
    """Everything a person reads on a message: its text and its blocks' texts."""
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        for item in [block, *block.get("elements", []), *block.get("fields", [])]:
            value = item.get("text") if isinstance(item, dict) else None
            parts.append(value.get("text", "") if isinstance(value, dict) else str(value or ""))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    """One stack for a test module (runs are told apart by their task)."""
    stack = DevProcess(tmp_path_factory.mktemp("signoff-dev") / "data").start()
    yield stack
    if stack.process is not None:
        assert stack.stop() == 0, stack.output()
