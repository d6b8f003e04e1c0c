"""The loopback guard refuses off-loopback traffic before any packet; the sidecar binds
to 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from swarm.sidecar_options import SIDECAR_DIR

from .conftest import needs_sidecar

pytestmark = needs_sidecar
PROBE = Path(__file__).with_name("guard_probe.js")


def test_guard_throws_before_the_native_layer():
    out = subprocess.run(
        ["node", str(PROBE), str(SIDECAR_DIR)],
        capture_output=True,
        check=True,
        timeout=60,  # hang guard
    )
    results = {r["name"]: r for r in json.loads(out.stdout)}
    allowed = results.pop("udx loopback send")
    assert allowed["threw"] is None
    assert "udx_napi_socket_send_ttl" in allowed["native"]
    assert len(results) == 22  # the four mDNS probes among them
    for name, result in results.items():
        assert result["threw"] == "ERR_LOOPBACK_GUARD", name
        # nothing reached a socket: no send, bind, connect or lookup for the refused call
        # (the two stream/multicast probes bind a loopback socket first, which is allowed)
        assert [c for c in result["native"] if c != "udx_napi_socket_bind"] == [], name


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        if str(target).startswith("socket:["):
            inodes.add(str(target)[8:-1])
    return inodes


def _udp_sockets(inodes: set[str]) -> list[str]:
    """Local addresses (hex, as in /proc/net/udp*) of the given UDP socket inodes."""
    found = []
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                found.append(fields[1].split(":")[0])
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


async def test_sidecar_sockets_are_bound_to_loopback(make_device, topic):
    engine, _ = await make_device()
    engine.join(topic)
    await engine.joined(topic)
    assert engine.info["host"] == "127.0.0.1"
    assert engine.pid is not None
    addresses = _udp_sockets(_socket_inodes(engine.pid))
    assert addresses, "the sidecar has UDP sockets"
    assert set(addresses) <= LOOPBACK_HEX, addresses


def test_the_namespace_subnet_is_refused_outside_a_closed_namespace():
    # this process's namespace routes elsewhere (a default route, or at least more than
    # the subnet): asking the guard to allow a private subnet here makes it refuse to load
    out = subprocess.run(
        ["node", "-r", str(SIDECAR_DIR / "loopback-guard.cjs"), "-e", "console.log('loaded')"],
        capture_output=True,
        text=True,
        env={**os.environ, "PEERBROWSER_NETNS_CIDR": "10.213.250.0/24"},
        timeout=60,  # hang guard
    )
    assert out.returncode != 0
    assert "loaded" not in out.stdout
    assert "honoured only inside a network namespace" in out.stderr


async def test_the_lan_network_is_refused_outside_a_test_namespace(monkeypatch):
    """--network lan would send multicast DNS on the host's real network: while
    loopback-only and outside a test namespace the engine refuses before any process."""
    from swarm.hyperswarm import HyperswarmEngine
    from swarm.sidecar_options import HyperswarmOptions

    from .conftest import FakeSink

    monkeypatch.delenv("PEERBROWSER_NETNS_CIDR", raising=False)
    engine = HyperswarmEngine(HyperswarmOptions(network="lan", loopback_only=True))
    sink = FakeSink()
    await engine.start(sink)
    try:
        assert engine.state == "failed"
        assert engine.detail.startswith("ERR_LOOPBACK_GUARD: ")
        assert "multicast DNS" in engine.detail
        assert engine.starts == 0  # no sidecar was started
    finally:
        await engine.close()
