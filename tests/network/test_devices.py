"""Devices as separate processes on a local testnet: the swarm core over Hyperswarm."""

from __future__ import annotations

import signal

import pytest

from tests.network.conftest import needs_sidecar
from tests.network.processes import DeviceProc as Dev
from tests.network.processes import Proc

pytestmark = [needs_sidecar]

ORIGINS = ["https://a.example", "https://b.example"]


@pytest.fixture
def devices(testnet):
    made: list[Dev] = []

    def make(n: int, bootstrap: list[str] | None = None, refresh: float | None = None) -> list[Dev]:
        new = [Dev(bootstrap or testnet, refresh=refresh) for _ in range(n)]
        made.extend(new)
        for d in new:
            d.ready()
        return new

    yield make
    for d in made:
        d.p.stop()


@pytest.mark.parametrize("n", [2, 4])
def test_devices_with_several_presences_form_exactly_the_expected_sockets(devices, n):
    devs = devices(n)
    # on every device: 2 origins x 2 identities, each in one open swarm (tabs 0-3)
    # and in its origin's swarm (tabs 4-7): one presence, two swarms
    layout = [(o, i) for o in ORIGINS for i in range(2)]
    for d in devs:
        for t, (origin, identity) in enumerate(layout):
            d.join(t, origin, identity, "room")
            assert d.join(t + 4, origin, identity, None) == d.ids[t]
    all_ids = {d.ids[t] for d in devs for t in range(4)}
    assert len(all_ids) == 4 * n
    by_origin = {o: {d.ids[t] for d in devs for t, (oo, _) in enumerate(layout) if oo == o} for o in ORIGINS}
    for d in devs:
        for t, (origin, _) in enumerate(layout):
            me = d.ids[t]
            d.p.wait_for(lambda _, d=d, t=t, me=me: d.peers(t) == all_ids - {me}, f"open swarm mesh, tab {t}")
            want = by_origin[origin] - {me}
            d.p.wait_for(lambda _, d=d, t=t, w=want: d.peers(t + 4) == w, f"origin swarm mesh, tab {t + 4}")
    for d in devs:
        for t in range(8):
            conns = d.connections(t)
            assert len(conns) == len(set(conns)), "a peer announced twice"
    # messages (JSON and binary) and session data cross, in order, once
    a, b = devs[0], devs[-1]
    for i in range(5):
        a.do(op="write", tab=0, peer=b.ids[1], data={"i": i})
    a.do(op="write", tab=0, peer=b.ids[1], binary=bytes(range(256)).hex())
    got = b.p.wait_for(
        lambda _: (
            [e for e in b.events("message") if e["tab"] == 1 and e["peer"] == a.ids[0]][:6]
            if len([e for e in b.events("message") if e["tab"] == 1]) >= 6
            else None
        ),
        "messages from a to b",
    )
    assert [e["data"] for e in got[:5]] == [{"i": i} for i in range(5)]
    assert got[5]["hex"] == bytes(range(256)).hex()
    a.do(op="session", tab=0, data={"name": "alice"})
    for d in devs[1:]:
        for t in range(4):
            d.p.wait_for(
                lambda _, d=d, t=t: [
                    e for e in d.events("session") if e["tab"] == t and e["peer"] == a.ids[0]
                ],
                "session data",
            )
    assert all(e["data"] == {"name": "alice"} for d in devs[1:] for e in d.events("session"))
    hosts = {e.get("host") for d in devs for e in d.events("connection") if e.get("host")}
    assert hosts == {"127.0.0.1"}


def test_a_device_killed_with_sigkill_is_seen_closing_and_nothing_else_breaks(devices):
    devs = devices(3)
    for d in devs:
        d.join(0, ORIGINS[0], 0, "room")
    ids = {d.ids[0] for d in devs}
    for d in devs:
        d.p.wait_for(lambda _, d=d: d.peers(0) == ids - {d.ids[0]}, "mesh")
    victim, *rest = devs
    victim.p.proc.send_signal(signal.SIGKILL)
    victim.p.proc.wait()
    for d in rest:
        d.p.wait_for(lambda _, d=d: victim.ids[0] not in d.peers(0), "peers see the killed device close")
        closes = [e for e in d.events("close") if e["peer"] == victim.ids[0]]
        assert closes and closes[0]["code"] in (1006, 1001)
    a, b = rest
    a.do(op="write", tab=0, peer=b.ids[0], data="still here")
    b.p.wait_for(
        lambda _: [e for e in b.events("message") if e["data"] == "still here"], "the others still talk"
    )
    assert not a.events("error") and not b.events("error")


def test_a_plain_hyperswarm_peer_is_dropped_without_harm(devices, testnet):
    from swarm.topics import open_topic
    from tests.network.conftest import node_command

    a, b = devices(2)
    a.join(0, ORIGINS[0], 0, "room")
    b.join(0, ORIGINS[1], 0, "room")
    a.p.wait_for(lambda _: a.peers(0) == {b.ids[0]}, "mesh")
    plain = Proc(node_command("plain-peer.js", ",".join(testnet), open_topic("room").hex()), stdin=True)
    try:
        plain.wait_for(
            lambda _: [e for e in plain.json_events() if e["event"] == "ready"], "plain peer ready"
        )
        # both devices meet it, read its greeting as a broken frame and close that link
        plain.wait_for(
            lambda _: len([e for e in plain.json_events() if e["event"] == "close"]) >= 2, "dropped"
        )
    finally:
        plain.stop()
    a.do(op="write", tab=0, peer=b.ids[0], data="unharmed")
    b.p.wait_for(
        lambda _: [e for e in b.events("message") if e["data"] == "unharmed"], "the devices still talk"
    )
    assert a.peers(0) == {b.ids[0]} and not a.events("error") and not b.events("error")


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_devices_find_each_other_again_after_the_dht_restarts(devices):
    from tests.network.conftest import node_command

    port = _free_udp_port()

    def dht() -> tuple[Proc, list[str]]:
        p = Proc(node_command("testnet.js", "3", str(port)), stdin=True)
        info = p.wait_for(lambda _: [e for e in p.json_events() if "bootstrap" in e], "testnet up")[0]
        return p, info["bootstrap"]

    net, bootstrap = dht()
    try:
        a, b = devices(2, bootstrap, refresh=1)
        a.join(0, ORIGINS[0], 0, "room")
        b.join(0, ORIGINS[1], 0, "room")
        a.p.wait_for(lambda _: a.peers(0) == {b.ids[0]}, "a and b meet")
        net.stop()  # every bootstrap node goes, with all the announcements
        a.do(op="write", tab=0, peer=b.ids[0], data="no DHT needed")
        b.p.wait_for(
            lambda _: [e for e in b.events("message") if e["data"] == "no DHT needed"],
            "a link outlives the DHT",
        )
        net, again = dht()  # the DHT comes back empty at the same address
        assert again == bootstrap
        (c,) = devices(1, bootstrap, refresh=1)
        c.join(0, ORIGINS[0], 1, "room")
        want = {a.ids[0], b.ids[0]}
        c.p.wait_for(lambda _: c.peers(0) == want, "a new device finds the old ones")
        a.p.wait_for(lambda _: c.ids[0] in a.peers(0), "and they find it")
    finally:
        net.stop()
