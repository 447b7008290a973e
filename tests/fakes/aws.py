"""Local AWS stand-ins on loopback: dynalite (DynamoDB, from npm), moto's S3 server, and a
Lambda ``Invoke`` sink.

Real servers rather than botocore stubs, so boto3's serialisation, error parsing (e.g.
``ConditionalCheckFailedException``) and endpoint configuration are exercised as in production.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tests.fakes._http import FakeHandler, LoopbackServer

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
DYNALITE = REPO / "node_modules" / ".bin" / "dynalite"
START_TIMEOUT = 15.0


def local_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for a local stand-in, with dummy credentials and a fixed region."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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

    def client(self) -> Any:
        """A boto3 DynamoDB client for this server, with dummy credentials."""
        return local_client("dynamodb", self.endpoint_url)

    def reset(self) -> None:
        """Delete every table, for tests that share one server but want a clean slate."""
        client = self.client()
        for table in client.list_tables()["TableNames"]:
            client.delete_table(TableName=table)

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


class MotoS3:
    """moto's server in a thread on a free loopback port (tests use it for S3).

    moto's backends are process-global: state is shared with ``mock_aws`` and persists across
    tests until ``reset()``.
    """

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A boto3 S3 client for this server, with dummy credentials."""
        return local_client("s3", self.endpoint_url)

    def reset(self) -> None:
        """Drop all moto state (every bucket, in every service)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> MotoS3:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeLambdaInvoke:
    """Accepts Lambda ``Invoke`` calls (202) and records them: for code that only fires them."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(_InvokeHandler, self)
        self.endpoint_url = self._server.url
        self._server.start()

    def record(self, path: str, body: str) -> None:
        with self._lock:
            self.invocations.append({"path": path, "body": body})

    def stop(self) -> None:
        self._server.stop()


class _InvokeHandler(FakeHandler):
    def do_POST(self) -> None:
        owner: FakeLambdaInvoke = self.owner
        owner.record(self.path, self.read_body().decode())
        self.send_bytes(202, b"", "application/json")
