"""swarm.netguard: loopback always; the test namespace's subnet only where nothing else
is routed."""

from __future__ import annotations

import pytest

from swarm.netguard import NetGuardError, allowed_host, namespace_subnet

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
# 10.213.7.0/24 on the veth, nothing else
CLOSED = HEADER + "pbi1\t0007D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
# a default route via eth0, and the LAN
HOST = HEADER + (
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
ENV = {"PEERBROWSER_NETNS_CIDR": "10.213.7.0/24"}


def test_no_subnet_unless_asked():
    assert namespace_subnet({}, HOST) is None


def test_the_subnet_is_allowed_in_a_namespace_that_routes_nowhere_else():
    assert str(namespace_subnet(ENV, CLOSED)) == "10.213.7.0/24"


def test_the_subnet_is_refused_where_a_default_route_exists():
    with pytest.raises(NetGuardError, match=r"0\.0\.0\.0/0 via eth0"):
        namespace_subnet(ENV, HOST)


def test_a_route_to_another_subnet_is_refused():
    with pytest.raises(NetGuardError, match="routes to nothing but"):
        namespace_subnet({"PEERBROWSER_NETNS_CIDR": "10.213.8.0/24"}, CLOSED)


@pytest.mark.parametrize("spec", ["8.8.8.0/24", "10.0.0.0/8", "10.213.7.0/31", "nonsense", "fe80::/64"])
def test_public_huge_tiny_or_malformed_subnets_are_refused(spec):
    with pytest.raises(NetGuardError):
        namespace_subnet({"PEERBROWSER_NETNS_CIDR": spec}, CLOSED)


def test_loopback_is_always_allowed_and_nothing_else_by_default(monkeypatch):
    monkeypatch.delenv("PEERBROWSER_NETNS_CIDR", raising=False)
    for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.4.5.6"):
        assert allowed_host(host), host
    for host in ("10.213.7.2", "8.8.8.8", "0.0.0.0", "example.com", ""):
        assert not allowed_host(host), host
