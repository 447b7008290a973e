"""Which addresses a tool may call: public ones, and what a deployment allows."""

import ipaddress

import pytest

from agent.netpolicy import NetworkPolicy

DEFAULT = NetworkPolicy()


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "::1", "fc00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1", "0.0.0.0"],
)  # fmt: skip
def test_private_loopback_link_local_and_multicast_are_refused(address: str) -> None:
    assert not DEFAULT.permits("example.com", ipaddress.ip_address(address))


def test_public_addresses_pass() -> None:
    assert DEFAULT.permits("example.com", ipaddress.ip_address("93.184.215.14"))
    assert DEFAULT.permits("example.com", ipaddress.ip_address("2606:4700::1111"))


def test_allowed_hosts_and_networks_pass() -> None:
    policy = NetworkPolicy.parse(["jobs.internal", "10.20.0.0/16", "127.0.0.1"])
    assert policy.permits("JOBS.internal.", ipaddress.ip_address("10.9.9.9"))
    assert policy.permits("other", ipaddress.ip_address("10.20.3.4"))
    assert policy.permits("other", ipaddress.ip_address("127.0.0.1"))
    assert not policy.permits("other", ipaddress.ip_address("10.21.0.1"))


@pytest.mark.parametrize("entry", ["http://x", "a b", "-bad.example", "10.0.0.0/33"])
def test_a_malformed_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        NetworkPolicy.parse([entry])
