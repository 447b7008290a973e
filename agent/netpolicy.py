"""Which addresses a tool may call when Claude picks the URL (pure).

Public unicast addresses only, so a prompt cannot point a tool at the instance metadata
service, the VPC, or this machine; a deployment may allow named hosts and networks
(``SIGNOFF_HTTP_JOB_ALLOW=jobs.internal,10.20.0.0/16``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class NetworkPolicy:
    """Public addresses, plus the hosts and networks a deployment allows."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> NetworkPolicy:
        """Host names, addresses and CIDR networks; ValueError names a malformed entry."""
        hosts: set[str] = set()
        networks: list[IpNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not _is_host_name(entry):
                    raise ValueError(f"{entry!r} is not a host name, address or network") from None
                hosts.add(entry.lower().rstrip("."))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def permits(self, host: str, address: IpAddress) -> bool:
        """Whether a connection to ``host`` at ``address`` may go ahead."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if host.lower().rstrip(".") in self.hosts:
            return True
        if any(address in network for network in self.networks):
            return True
        return address.is_global and not address.is_multicast


def _is_host_name(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return 0 < len(text) <= 253 and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and not label.startswith("-")
        for label in labels
    )
