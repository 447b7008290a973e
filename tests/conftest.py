"""Every test runs offline, with no credentials or endpoints leaking in from the machine."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.aws import Dynalite, MotoS3
from tests.fakes.slack import FakeSlack

LEAKY_PREFIXES = ("AWS_", "ANTHROPIC_", "SLACK_", "SIGNOFF_", "AGENT_")
LEAKY_NAMES = ("LLM_PROVIDER", "APPROVERS", "ALLOW_SELF_APPROVAL", "SLASH_COMMAND")


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a unix socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    """Refuse any connection that leaves the machine (like pydantic-ai's ALLOW_MODEL_REQUESTS)."""
    original = socket.socket.connect
    original_ex = socket.socket.connect_ex

    def guard(address: Any) -> None:
        if not _is_loopback(address):
            raise RuntimeError(f"tests must not reach the network: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        return original(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return original_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]
    socket.socket.connect_ex = original_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials or endpoints: each test sets what it needs."""
    import os

    for name in list(os.environ):
        if name.startswith(LEAKY_PREFIXES) or name in LEAKY_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture(scope="session")
def dynalite() -> Iterator[Dynalite]:
    server = Dynalite()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
