"""Local AWS stand-ins on loopback: dynalite (DynamoDB, from npm), moto's S3 server, and a
Lambda ``Invoke`` sink.

Real servers rather than botocore stubs, so boto3's serialisation, error parsing (e.g.
``ConditionalCheckFailedException``) and endpoint configuration are exercised as in production.
"""

from __future__ import annotations

import threading
import urllib.request
from types import TracebackType
from typing import Any

from localdev.dynalite import Dynalite as _Dynalite
from tests.fakes._http import FakeHandler, LoopbackServer


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


class Dynalite(_Dynalite):
    """dynalite with a boto3 client and a reset, for tests."""

    def client(self) -> Any:
        """A boto3 DynamoDB client for this server, with dummy credentials."""
        return local_client("dynamodb", self.endpoint_url)

    def reset(self) -> None:
        """Delete every table, for tests that share one server but want a clean slate."""
        client = self.client()
        for table in client.list_tables()["TableNames"]:
            client.delete_table(TableName=table)


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
