"""dynalite (DynamoDB from npm) as a subprocess on a free loopback port, in memory or on disk.

``signoff dev`` keeps its table here under the data dir; the tests start one per session.

dynalite dies with the process that started it, however that process ends (on Linux the
kernel sends it SIGKILL: ``PR_SET_PDEATHSIG``), so a ``signoff dev`` killed with SIGKILL
leaves no server behind holding the port and the store. Where that is not available, a
later start on the same store waits for the old server to let go of it, then says which
process to stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

REPO = Path(__file__).resolve().parent.parent
DYNALITE = REPO / "node_modules" / ".bin" / "dynalite"
START_TIMEOUT = 15.0
# LevelDB (dynalite's store on disk) holds a POSIX lock on this file while a server has it open.
STORE_LOCK = "LOCK"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


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


class DynaliteError(RuntimeError):
    """dynalite could not be started (the message says why and what to do)."""


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel kill the child when this process dies (Linux).

    The death signal follows the thread that starts the child: start it from a thread that
    lives as long as the process (the main thread does). ``prctl`` is looked up here, in the
    parent, so the child runs one C call between fork and exec. None where there is no prctl.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent, kill = os.getpid(), int(signal.SIGKILL)

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, kill)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return in_child


def wait_until_store_is_free(path: Path, timeout: float) -> None:
    """Wait until no other process holds the LevelDB store at ``path`` open.

    A server of a process that was just killed takes a moment to die; one left behind where
    the kernel does not end it (no ``PR_SET_PDEATHSIG``) never lets go: say which to stop.
    """
    deadline = time.monotonic() + timeout
    while store_is_locked(path):
        if time.monotonic() > deadline:
            raise DynaliteError(
                f"the table's store {path} is in use by another process: another `signoff dev` "
                f"on this data dir, or a dynalite left behind by one that was killed "
                f"(`ps ax | grep {path}` finds it; stop it and start again)"
            )
        time.sleep(0.05)


def store_is_locked(path: Path) -> bool:
    """Whether another process holds the store's LevelDB lock (False where none can be read)."""
    lock = path / STORE_LOCK
    try:
        import fcntl
    except ImportError:  # Windows: no POSIX locks to probe
        return False
    try:
        descriptor = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # closing also drops the lock this probe took
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
        if path is not None:
            wait_until_store_is_free(path, START_TIMEOUT)
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as we do
        for _ in range(attempts):  # another process may take the port between probe and bind
            self.port = free_port()
            self._process = subprocess.Popen(
                self._command(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),
            )
            if wait_for_port(self.port, START_TIMEOUT, self._process):
                self.endpoint_url = f"http://127.0.0.1:{self.port}"
                return
            self._end_process()
        output = self.output()
        self._log.close()
        raise DynaliteError(
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

    def exit_code(self) -> int | None:
        """None while dynalite runs; its exit code once it has stopped."""
        return self._process.poll()

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
