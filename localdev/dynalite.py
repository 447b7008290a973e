"""dynalite (DynamoDB from npm) as a subprocess on a free loopback port, in memory or on disk.

``signoff dev`` keeps its table here under the data dir; the tests start one per session.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

REPO = Path(__file__).resolve().parent.parent
DYNALITE = REPO / "node_modules" / ".bin" / "dynalite"
START_TIMEOUT = 15.0


def free_port() -> int:
    """A port that was free a moment ago (for servers that cannot bind port 0 themselves)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> bool:
    """Poll until 127.0.0.1:``port`` accepts connections; False on timeout or process exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Dynalite:
    """dynalite as a subprocess on a free loopback port: in memory, or on disk under ``path``.

    Table state changes are instant (``--createTableMs 0`` ...), so tests need no waiters.
    """

    def __init__(self, path: Path | None = None, *, attempts: int = 3) -> None:
        if not DYNALITE.exists():
            raise FileNotFoundError(
                f"{DYNALITE} is missing: run `make deps` (or `npm ci` in {REPO}) first"
            )
        self.path = path
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as we do
        for _ in range(attempts):  # another process may take the port between probe and bind
            self.port = free_port()
            self._process = subprocess.Popen(
                self._command(), stdout=self._log, stderr=subprocess.STDOUT
            )
            if wait_for_port(self.port, START_TIMEOUT, self._process):
                self.endpoint_url = f"http://127.0.0.1:{self.port}"
                return
            self._end_process()
        output = self.output()
        self._log.close()
        raise RuntimeError(
            f"dynalite did not listen on 127.0.0.1 within {START_TIMEOUT}s "
            f"({attempts} attempts); its output:\n{output[-2000:]}"
        )

    def _command(self) -> list[str]:
        command = [str(DYNALITE), "--host", "127.0.0.1", "--port", str(self.port)]
        for option in ("--createTableMs", "--deleteTableMs", "--updateTableMs"):
            command += [option, "0"]
        if self.path is not None:
            command += ["--path", str(self.path)]
        return command

    def output(self) -> str:
        """What dynalite printed so far (stdout and stderr)."""
        with contextlib.suppress(ValueError):  # the log is closed after a failed start
            self._log.seek(0)
            return self._log.read().decode(errors="replace")
        return ""

    def _end_process(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        self._end_process()
        self._log.close()

    def __enter__(self) -> Dynalite:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
