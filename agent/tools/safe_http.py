"""HTTP for tools that call URLs Claude chose: vetted addresses, pinned connections.

The host is resolved once, every address it resolves to must pass the deployment's
``NetworkPolicy``, and the connection goes to the vetted address (with the original host in
the Host header and for TLS), so a DNS answer that changes between the check and the connect
cannot redirect the call. Redirects are not followed; answers are read up to a size cap.
urllib3 (already in every bundle, under botocore) rather than a new client: it is the one
that lets the address be pinned while TLS still verifies the host name.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3

from agent.errors import ToolInputError
from agent.netpolicy import NetworkPolicy

TIMEOUT_SECONDS = 15.0
MAX_ANSWER_BYTES = 1024 * 1024
USER_AGENT = "signoff-agent"


class BlockedUrl(ToolInputError):
    """The URL is not http(s), or its host resolves to an address the policy refuses."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None when empty); ToolInputError when it is not JSON."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise ToolInputError(
                f"the answer is not JSON: {self.body[:200].decode(errors='replace')!r}"
            ) from None

    def text(self, limit: int = 500) -> str:
        return self.body[:limit].decode(errors="replace")


def request(
    method: str,
    url: str,
    *,
    policy: NetworkPolicy,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request to ``url`` if the policy allows where it resolves; never follows redirects."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedUrl(f"{url!r} is not an http(s) URL")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _vetted_address(host, port, policy)
    sent = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT, **(headers or {})}
    body = None
    if json_body is not None:
        body = json.dumps(json_body).encode()
        sent["Content-Type"] = "application/json"
    pool = _pool(parts.scheme, address, port, host)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            method,
            path,
            body=body,
            headers=sent,
            redirect=False,
            retries=False,
            preload_content=False,
            timeout=urllib3.Timeout(total=TIMEOUT_SECONDS),
        )
        data = response.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        response.release_conn()
    finally:
        pool.close()
    if len(data) > MAX_ANSWER_BYTES:
        raise ToolInputError(f"{url} answered with more than {MAX_ANSWER_BYTES} bytes")
    return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, data)


def resolve(base: str, reference: str) -> str:
    """A Location-style reference made absolute against the URL it came from."""
    return urljoin(base, reference)


def _vetted_address(host: str, port: int, policy: NetworkPolicy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise BlockedUrl(f"cannot resolve {host!r}: {err}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    refused = [address for address in addresses if not policy.permits(host, address)]
    if not addresses or refused:
        raise BlockedUrl(
            f"{host} resolves to {refused[0] if refused else 'nothing'}, which this "
            "deployment does not let tools call (a private, loopback or link-local address; "
            "SIGNOFF_HTTP_JOB_ALLOW can allow it)"
        )
    return str(addresses[0])


def _pool(scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED"
        )
    return urllib3.HTTPConnectionPool(address, port)
