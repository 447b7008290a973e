"""Every test runs offline, with no credentials or endpoints leaking in from the machine.

Also the shared stand-ins: dynalite and moto's S3 server once per session (they are slow to
start and tests isolate by table/bucket name), the Slack and Claude fakes once per test (their
recorded calls are what tests assert on).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.aws import Dynalite, MotoS3
from tests.fakes.claude import FakeClaude, Script
from tests.fakes.slack import FakeSlack

LEAKY_PREFIXES = ("AWS_", "ANTHROPIC_", "SLACK_", "SIGNOFF_", "AGENT_")
LEAKY_NAMES = ("LLM_PROVIDER", "APPROVERS", "ALLOW_SELF_APPROVAL", "SLASH_COMMAND")
_NO_POLICY_ROOT = Path(tempfile.mkdtemp(prefix="signoff-no-policy-"))
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "")


def is_loopback_host(host: Any) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1, ::ffff:127.x)."""
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def is_local_address(address: Any) -> bool:
    """A connect() target that stays on this machine: a unix socket path or a loopback host."""
    if isinstance(address, str | bytes):
        return True
    return is_loopback_host(address[0])


def _refuse(address: Any) -> None:
    raise RuntimeError(f"tests must not reach the network: {address!r}")


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    """Refuse any connection, or DNS lookup, that would leave the machine.

    ``connect``/``connect_ex`` catch every client; ``create_connection`` and ``getaddrinfo``
    fail earlier with a clearer address, before a DNS query goes out.
    """
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex
    create_connection = socket.create_connection
    getaddrinfo = socket.getaddrinfo
    own_names = {socket.gethostname()}

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not is_local_address(address):
            _refuse(address)
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not is_local_address(address):
            _refuse(address)
        return connect_ex(self, address)

    def guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not is_loopback_host(address[0]):
            _refuse(address)
        return create_connection(address, *args, **kwargs)

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not (is_loopback_host(host) or _is_ip_literal(host) or host in own_names):
            _refuse((host, port))
        return getaddrinfo(host, port, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded_connect)
        patch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
        patch.setattr(socket, "create_connection", guarded_create_connection)
        patch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
        yield


def _is_ip_literal(host: Any) -> bool:
    """Resolving an IP literal sends no DNS query; connect() still vets the address."""
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="where the browser tests save the screenshots the README shows (make screenshots)",
    )


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials or endpoints: each test sets what it needs.

    boto3 reads ``AWS_DEFAULT_REGION`` (not ``AWS_REGION``); the config files point at an empty
    file so a developer's ``~/.aws`` profile cannot leak in either.
    """
    for name in list(os.environ):
        if name.startswith(LEAKY_PREFIXES) or name in LEAKY_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    # A developer's own signoff.toml at the project root never reaches a test: an empty
    # policy (the environment's rules) for the processes tests start, and no root file here.
    monkeypatch.setenv("SIGNOFF_POLICY", os.devnull)
    monkeypatch.setattr("agent.approvals.policy_source.PROJECT_ROOT", _NO_POLICY_ROOT)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def dynalite() -> Iterator[Dynalite]:
    """One in-memory dynalite for the session; tests use their own table names."""
    with Dynalite() as server:
        yield server


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """One moto server for the session; tests use their own bucket names."""
    with MotoS3() as server:
        yield server


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


FakeClaudeFactory = Callable[[Script], FakeClaude]


@pytest.fixture
def fake_claude_factory() -> Iterator[FakeClaudeFactory]:
    """Start a FakeClaude for a script; all are stopped (and script errors raised) after."""
    started: list[FakeClaude] = []

    def make(script: Script) -> FakeClaude:
        fake = FakeClaude(script).start()
        started.append(fake)
        return fake

    yield make
    errors: list[BaseException] = []
    for fake in started:
        try:
            fake.stop()
        except Exception as err:  # noqa: BLE001 - stop them all, then report the first
            errors.append(err)
    if errors:
        raise errors[0]
