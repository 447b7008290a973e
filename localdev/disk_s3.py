"""S3's object GET and PUT on loopback, kept in files, for the blobs of ``signoff dev``.

A run's large payloads live in S3 and its checkpoints point at them, so they must survive a
restart of the stack as the runs do; moto keeps them in memory only. ``agent.storage.blobs`` calls
nothing but PutObject and GetObject, which is all this serves (boto3 unchanged, pointed here
with ``AWS_ENDPOINT_URL_S3``; path-style, as botocore uses for an IP endpoint).
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape


class DiskS3(ThreadingHTTPServer):
    """Objects under ``root/<bucket>/<key>``; any bucket exists."""

    daemon_threads = True

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        super().__init__((host, port), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DiskS3:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def object_path(self, url_path: str) -> Path | None:
        """The file for ``/<bucket>/<key>``, or None for a path outside the root."""
        bucket, _, key = unquote(urlsplit(url_path).path).lstrip("/").partition("/")
        if not bucket or not key:
            return None
        path = (self.root / bucket / key).resolve()
        return path if path.is_relative_to(self.root.resolve()) else None


class _Handler(BaseHTTPRequestHandler):
    server: DiskS3

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per blob would drown the stack's own output."""

    def do_PUT(self) -> None:
        path = self.server.object_path(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path is None:
            self._error(400, "InvalidRequest", "PUT needs /<bucket>/<key>")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".partial")
        scratch.write_bytes(body)
        scratch.replace(path)  # a crash mid-write never leaves half an object
        self.send_response(200)
        self.send_header("ETag", f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.server.object_path(self.path)
        if path is None or not path.is_file():
            self._error(404, "NoSuchKey", "The specified key does not exist.")
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
