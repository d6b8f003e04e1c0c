"""`--network lan`: browsers on one LAN find each other with no bootstrap node and no
configuration (multicast DNS), each whole browser in a network namespace of its own
that this test makes (tests/network/netns.py).

Multicast stays inside the test's namespaces: none of them routes anywhere else, and
the loopback guard allows mDNS (224.0.0.251:5353) only in such a namespace."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarm.sidecar_options import SIDECAR_DIR
from tests.network.conftest import needs_sidecar
from tests.network.netns import Lab
from tests.network.processes import PEERBROWSER, DeviceProc, Proc

pytestmark = [
    needs_sidecar,
    pytest.mark.skipif(bool(Lab.unavailable()), reason=str(Lab.unavailable())),
]

GUARD = str(SIDECAR_DIR / "loopback-guard.cjs")
MDNS_SEND = Path(__file__).with_name("mdns_send.js")

# A chat page: greets every peer, and logs what it sees (peerbrowser prints a page's
# console on stderr).
CHAT = """<!doctype html><title>lan chat</title><script>
(async () => {
  const swarm = await PeerSocket.joinSwarm({id: 'lan-room'})
  swarm.addEventListener('connection', ({socket}) => {
    const id = socket.info.id
    console.log('PB connection', id)
    socket.addEventListener('close', (e) => console.log('PB close', id, e.code))
    socket.addEventListener('message', (e) => console.log('PB message', id, e.message))
    socket.write('hello from ' + swarm.getLoopback().info.id)
  })
})()
</script>"""
SEEN = re.compile(r"PB (connection|close|message) ([0-9a-f]{64})(?: (.+))?$")


def seen(p: Proc, kind: str) -> list[tuple[str, str | None]]:
    return [(m.group(2), m.group(3)) for line in p.lines if (m := SEEN.search(line)) and m.group(1) == kind]


def peers(p: Proc) -> set[str]:
    return {peer for peer, _ in seen(p, "connection")}


def greeted(p: Proc) -> set[str]:
    """The peers whose greeting this browser's page received."""
    return {peer for peer, text in seen(p, "message") if text == f"hello from {peer}"}


@pytest.fixture
def lab() -> Iterator[tuple[Lab, list[Proc]]]:
    lab = Lab()
    procs: list[Proc] = []
    try:
        yield lab, procs
    finally:
        for p in procs:  # stop what runs inside the namespaces, then delete them
            p.stop()
        lab.close()


def start_browser(lab: Lab, procs: list[Proc], name: str, page: Path) -> Proc:
    lab.add(name)
    argv = [str(PEERBROWSER), "--headless", "--network", "lan", page.as_uri()]
    p = Proc(lab.exec(name, argv), env=lab.env())
    procs.append(p)
    return p


def test_two_browsers_on_a_lan_chat_without_a_bootstrap_node(lab, tmp_path):
    lab, procs = lab
    page = tmp_path / "chat.html"
    page.write_text(CHAT)
    a = start_browser(lab, procs, "a", page)
    b = start_browser(lab, procs, "b", page)
    a.wait_for(lambda _: greeted(a), "a's page hearing from b's")
    b.wait_for(lambda _: greeted(b), "b's page hearing from a's")
    (id_b,) = greeted(a)
    (id_a,) = greeted(b)
    assert id_a != id_b and peers(a) == {id_b} and peers(b) == {id_a}
    for p in (a, b):
        assert not [line for line in p.lines if "Traceback" in line], p.tail()


def test_three_browsers_the_first_leaves_and_a_late_one_is_found(lab, tmp_path):
    """a starts alone; b and c find it; a leaves; b and c stay linked, and d, which
    starts after a left, is found by both."""
    lab, procs = lab
    page = tmp_path / "chat.html"
    page.write_text(CHAT)
    a = start_browser(lab, procs, "a", page)
    b = start_browser(lab, procs, "b", page)
    a.wait_for(lambda _: greeted(a), "a and b meeting")
    c = start_browser(lab, procs, "c", page)
    for p in (a, b, c):
        p.wait_for(lambda _, p=p: len(greeted(p)) == 2, "the full mesh of three")
    (id_b,) = greeted(a) & greeted(c)
    (id_c,) = greeted(a) & greeted(b)
    (id_a,) = greeted(b) & greeted(c)

    assert a.stop() == 0  # the first device leaves
    b.wait_for(lambda _: any(peer == id_a for peer, _ in seen(b, "close")), "a gone at b")
    c.wait_for(lambda _: any(peer == id_a for peer, _ in seen(c, "close")), "a gone at c")
    assert not any(peer == id_c for peer, _ in seen(b, "close")), "b and c stay linked"
    assert not any(peer == id_b for peer, _ in seen(c, "close")), "c and b stay linked"

    d = start_browser(lab, procs, "d", page)  # joins late, after the first one left
    d.wait_for(lambda _: greeted(d) == {id_b, id_c}, "d meeting b and c")
    (id_d,) = b.wait_for(lambda _: greeted(b) - {id_a, id_c}, "b meeting d")
    c.wait_for(lambda _: id_d in greeted(c), "c meeting d")
    for p in (a, b, c, d):
        assert not [line for line in p.lines if "Traceback" in line], p.tail()


def mdns_send(lab: Lab, name: str, mode: str) -> dict:
    lab.add(name)
    out = subprocess.run(
        lab.exec(name, ["node", "-r", GUARD, str(MDNS_SEND), str(SIDECAR_DIR), str(lab.subnet), mode]),
        capture_output=True,
        text=True,
        env={**os.environ, **lab.env(), "PEERBROWSER_LOOPBACK_ONLY": "1"},
        timeout=120,  # hang guard
        check=True,
    )
    result: dict = json.loads(out.stdout)
    return result


def lan_info(dev: DeviceProc, what: str, test) -> dict:
    """Wait until the device's engine info passes ``test``; return it."""

    def probe(_: list[str]) -> dict | None:
        dev.do(op="info")
        infos = dev.events("info")
        return infos[-1]["info"] if infos and test(infos[-1]["info"]) else None

    return dev.p.wait_for(probe, what)


def lan_device(lab: Lab, procs: list[Proc], name: str, alone: bool = False) -> DeviceProc:
    lab.add(name)
    if alone:
        lab.detach(name)  # started while nothing gets across to the others
    dev = DeviceProc([], extra=["--network", "lan"], wrap=lambda argv: lab.exec(name, argv), env=lab.env())
    procs.append(dev.p)
    return dev


def test_devices_that_each_came_up_alone_link_once_they_meet(lab):
    """Regression: two devices that each start while no other device answers (they start
    at the same moment, or before the LAN is up) and meet afterwards must still link.
    Each then bootstrapped the LAN's DHT alone, and its routing node never began to store
    records (it had nobody to learn its own address from), so neither could find the
    other's announcement: the link never formed. Here both start while their switch
    ports forward nothing, and meet when a third host asks the LAN for the service."""
    lab, procs = lab
    devs = [lan_device(lab, procs, name, alone=True) for name in ("a", "b")]
    for d in devs:
        d.ready()
        assert d.events("ready")[0]["info"]["lanDevices"] == 0
    for name in ("a", "b"):
        lab.attach(name)
    mdns_send(lab, "asker", "query")  # the devices answer it, to the whole group
    for d in devs:
        lan_info(d, "the devices seeing each other", lambda i: i.get("lanDevices") == 1)
    a, b = devs
    a.join(0, "https://chat.example", 0, "room")
    b.join(0, "https://chat.example", 0, "room")
    a.wait_count("connection", b.ids[0], 1, "a linking to b")
    b.wait_count("connection", a.ids[0], 1, "b linking to a")
    a.do(op="write", tab=0, peer=b.ids[0], data="from a")
    b.do(op="write", tab=0, peer=a.ids[0], data="from b")
    b.p.wait_for(
        lambda _: [e for e in b.events("message", a.ids[0]) if e["data"] == "from a"], "a's bytes at b"
    )
    a.p.wait_for(
        lambda _: [e for e in a.events("message", b.ids[0]) if e["data"] == "from b"], "b's bytes at a"
    )
    assert not a.events("error") and not b.events("error")


def test_malformed_mdns_packets_change_nothing(lab):
    """A device on the LAN sends crafted mDNS packets to the group: truncated, lying
    record counts, compression loops, oversize, forged answers that point outside the
    LAN, bad labels and ports, and a flood. The device under test keeps seeing exactly
    the real devices, and still links with a newcomer."""
    lab, procs = lab
    devs = []
    for name in ("x", "y"):
        lab.add(name)
        devs.append(
            DeviceProc(
                [], extra=["--network", "lan"], wrap=lambda argv, n=name: lab.exec(n, argv), env=lab.env()
            )
        )
        procs.append(devs[-1].p)
    x, y = devs
    for d in devs:
        d.ready()
    lan_info(x, "x seeing y", lambda i: i.get("lanDevices") == 1)

    sent = mdns_send(lab, "evil", "malformed")
    assert sent["packets"] > 200, sent  # the flood went out
    # a well-formed announcement from another device, sent after the malformed ones, is
    # the proof that x has read them all by now (its socket delivers in order): x sees
    # it, and nothing else came of the rest
    mdns_send(lab, "marker", "marker")
    lan_info(x, "x seeing the marker device", lambda i: i.get("lanDevices") == 2)
    x.join(0, "https://chat.example", 0, "room")
    y.join(0, "https://chat.example", 0, "room")
    x.wait_count("connection", y.ids[0], 1, "x and y still link")
    y.wait_count("connection", x.ids[0], 1, "y and x still link")
    assert not x.events("error") and not y.events("error")
