"""Which addresses a loopback-only process may use: the Python half of
``swarm/sidecar/loopback-guard.cjs``.

Loopback always. With ``PEERBROWSER_NETNS_CIDR=10.213.7.0/24`` also that private IPv4
subnet, but only inside a network namespace that routes to nothing else (no default
route): the tests' own namespaces (tests/network/netns.py), never the host's network.
There, and only there, the ``lan`` network's multicast DNS (224.0.0.251:5353) is allowed
too: :func:`lan_address` says on which address, and refuses everywhere else.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from pathlib import Path

ENV = "PEERBROWSER_NETNS_CIDR"
_PRIVATE = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


class NetGuardError(ValueError):
    """PEERBROWSER_NETNS_CIDR is malformed or used outside a closed namespace."""


def _routes(text: str) -> list[tuple[str, ipaddress.IPv4Network]]:
    """(interface, destination network) of every IPv4 route in /proc/net/route."""
    routes = []
    for line in text.strip().splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        dest = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(f[1]), "little"))
        mask = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(f[7]), "little"))
        routes.append((f[0], ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)))
    return routes


def namespace_subnet(
    env: Mapping[str, str] | None = None, route_table: str | None = None
) -> ipaddress.IPv4Network | None:
    """The extra subnet allowed here, None if none; NetGuardError if it may not be."""
    spec = (os.environ if env is None else env).get(ENV)
    if not spec:
        return None
    try:
        net = ipaddress.IPv4Network(spec.strip(), strict=False)
    except ValueError as exc:
        raise NetGuardError(f"{ENV} must be an IPv4 subnet, got {spec!r}") from exc
    if not 16 <= net.prefixlen <= 30:
        raise NetGuardError(f"{ENV} must be an IPv4 subnet /16 to /30, got {spec!r}")
    if not any(net.subnet_of(p) for p in _PRIVATE):
        raise NetGuardError(f"{ENV} must be a private subnet (10/8, 172.16/12, 192.168/16), got {spec}")
    if route_table is None:
        route_table = Path("/proc/net/route").read_text()
    outside = [
        f"{dest} via {iface}"
        for iface, dest in _routes(route_table)
        if iface != "lo" and not dest.subnet_of(net)
    ]
    if outside:
        raise NetGuardError(
            f"{ENV} is honoured only inside a network namespace that routes to nothing "
            f"but {net}; this one also routes to {', '.join(outside)}"
        )
    return net


def allowed_host(host: str) -> bool:
    """Loopback, or an address in the namespace subnet (see the module docstring)."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    net = namespace_subnet()
    return net is not None and isinstance(ip, ipaddress.IPv4Address) and ip in net


def source_address(node: str) -> str | None:
    """The local address this machine would send from to ``HOST:PORT`` when that host
    is in the namespace subnet (asks the routing table: a UDP connect sends nothing);
    None otherwise."""
    host, _, port = node.rpartition(":")
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host)
        net = namespace_subnet()
    except (ValueError, OSError):
        return None
    if net is None or not isinstance(ip, ipaddress.IPv4Address) or ip not in net:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, int(port)))
        except (OSError, ValueError):
            return None
        address: str = probe.getsockname()[0]
    return address if ipaddress.ip_address(address) in net else None


def lan_address() -> str:
    """The address the ``lan`` network may use while loopback-only: this namespace's own
    address in the namespace subnet. NetGuardError outside such a namespace (multicast DNS
    would reach the host's real network) or when it has no address there."""
    net = namespace_subnet()
    if net is None:
        raise NetGuardError(
            "network 'lan' sends multicast DNS to the LAN: refused while loopback-only "
            f"(PEERBROWSER_LOOPBACK_ONLY=1) outside a test network namespace ({ENV})"
        )
    address = source_address(f"{next(net.hosts())}:9")
    if address is None:
        raise NetGuardError(f"network 'lan': this namespace has no address in {net}")
    return address
