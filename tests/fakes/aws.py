"""Local AWS stand-ins on loopback: dynalite (DynamoDB, from npm) and moto's S3 server."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
DYNALITE = REPO / "node_modules" / ".bin" / "dynalite"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    stderr = b""
    if process is not None:
        process.kill()
        stderr = process.communicate()[1] or b""
    raise RuntimeError(
        f"nothing listened on 127.0.0.1:{port} within {timeout}s: {stderr.decode()[-2000:]}"
    )


class Dynalite:
    """dynalite as a subprocess: in memory, or on disk under ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        if not DYNALITE.exists():
            raise RuntimeError(f"{DYNALITE} is missing: run `make deps` (npm ci) first")
        self.port = free_port()
        command = [
            str(DYNALITE),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ]
        if path is not None:
            command += ["--path", str(path)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port, 15, self._process)
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class MotoS3:
    """moto's server (S3 only used) in a thread."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop()


class FakeLambdaInvoke:
    """Accepts Lambda ``Invoke`` calls (202) and records them: for code that only fires them."""

    def __init__(self) -> None:
        from tests.fakes._http import LoopbackServer

        self.invocations: list[dict[str, str]] = []
        self._server = LoopbackServer(_invoke_handler(self), self)
        self.endpoint_url = self._server.url
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def _invoke_handler(owner: FakeLambdaInvoke) -> type:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            owner.invocations.append({"path": self.path, "body": body})
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()

    return Handler
