"""A device cut off from the network and plugged back in, with every device in a
network namespace of its own that this test makes (tests/network/netns.py).

Traffic stays inside the test's namespaces: none of them routes anywhere else, and the
loopback guard allows only their one private subnet (PEERBROWSER_NETNS_CIDR)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pytest

from swarm.sidecar_options import SIDECAR_DIR
from tests.network.conftest import needs_sidecar
from tests.network.netns import Lab
from tests.network.processes import PEERBROWSER, DeviceProc, Proc

pytestmark = [
    needs_sidecar,
    pytest.mark.skipif(bool(Lab.unavailable()), reason=str(Lab.unavailable())),
]


class NsDevice(DeviceProc):
    """A device in a namespace of its own, with one tab in the room."""

    def __init__(self, lab: Lab, name: str, bootstrap: list[str], link_timeout: float | None) -> None:
        address = lab.add(name)
        extra = ["--host", address, "--reachable"]
        if link_timeout:
            extra += ["--link-timeout", str(link_timeout)]
        super().__init__(
            bootstrap, refresh=1, extra=extra, wrap=lambda argv: lab.exec(name, argv), env=lab.env()
        )
        self.ready()

    @property
    def id(self) -> str:
        return self.ids[0]

    def count(self, kind: str, peer: str) -> int:
        return len(self.events(kind, peer))


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


def start_testnet(lab: Lab, procs: list[Proc]) -> list[str]:
    """A 3-node testnet in its own namespace; its bootstrap list."""
    dht = lab.add("dht")
    guard = str(SIDECAR_DIR / "loopback-guard.cjs")
    testnet = Proc(
        lab.exec("dht", ["node", "-r", guard, str(SIDECAR_DIR / "testnet.js"), "3", "0", dht]),
        stdin=True,
        env=lab.env(),
    )
    procs.append(testnet)
    bootstrap = testnet.wait_for(lambda _: [e for e in testnet.json_events() if "bootstrap" in e], "testnet")
    bootstrap = bootstrap[0]["bootstrap"]
    assert all(ipaddress.ip_address(b.rpartition(":")[0]) in lab.subnet for b in bootstrap)
    return list(bootstrap)


# a link timeout of 3 s (keep-alives every 0.75 s), and the default: UDX's own, ~18 s
@pytest.mark.parametrize("link_timeout", [3.0, None], ids=["link_timeout=3s", "default"])
def test_a_device_cut_off_and_back_gets_closes_then_new_connections(lab, link_timeout):
    lab, procs = lab
    bootstrap = start_testnet(lab, procs)

    devs = []
    for name in ("a", "b", "c"):
        devs.append(NsDevice(lab, name, bootstrap, link_timeout))
        procs.append(devs[-1].p)
    a, b, c = devs
    for d in devs:
        d.join(0, "https://chat.example", 0, "room")
    for d in devs:
        for other in devs:
            if other is not d:
                d.wait_count("connection", other.id, 1, "the full mesh")
    # the sockets really go over the namespaces' addresses
    assert {e["host"] for e in a.events("connection")} <= {str(a) for a in lab.subnet.hosts()}

    seq = 0

    def send(writer: NsDevice, reader: NsDevice, n: int) -> None:
        nonlocal seq
        for _ in range(n):
            writer.do(op="write", tab=0, peer=reader.id, data={"seq": seq})
            seq += 1

    send(a, b, 5)
    b.wait_count("message", a.id, 5, "messages before the cut")

    lab.cut("b")
    send(a, b, 5)  # into a link that is about to die: delivered now or never
    c.do(op="write", tab=0, peer=a.id, data={"from": "c"})
    a.wait_count("message", c.id, 1, "a message between the devices still linked")
    for x, y in ((a, b), (c, b), (b, a), (b, c)):
        x.wait_count("close", y.id, 1, "the cut-off device's sockets closing")
    for d in devs:
        for e in d.events("close"):
            assert e["code"] in (1001, 1006), e
    assert a.count("close", c.id) == 0 and c.count("close", a.id) == 0

    lab.restore("b")
    for x, y in ((a, b), (c, b), (b, a), (b, c)):
        x.wait_count("connection", y.id, 2, "a new connection once it is back")
    after = seq
    send(a, b, 5)
    b.wait_count("message", a.id, 5 + 5, "messages on the new socket")  # at least the new 5
    b.p.wait_for(
        lambda _: any(e["data"] == {"seq": after + 4} for e in b.events("message", a.id)),
        "the last message",
    )

    # On every socket, in order and never twice: b's events from a, cut into sockets
    # at each connection event.
    sockets: list[list[int]] = []
    for e in b.events(peer=a.id):
        if e["event"] == "connection":
            sockets.append([])
        elif e["event"] == "message":
            sockets[-1].append(e["data"]["seq"])
    assert len(sockets) == 2
    everything = [s for socket in sockets for s in socket]
    assert len(everything) == len(set(everything)), "a message delivered twice"
    for socket in sockets:
        assert socket == sorted(socket), "out of order on a socket"
    assert sockets[0][:5] == [0, 1, 2, 3, 4]
    assert sockets[1] == list(range(after, after + 5)), "the new socket carries only new messages"
    for d in devs:
        assert not d.events("error"), d.events("error")


# A page that logs what it sees; peerbrowser prints a page's console on stderr.
WATCHER = """<!doctype html><title>watcher</title><script>
(async () => {
  const swarm = await PeerSocket.joinSwarm({id: 'cable-room'})
  let n = 0
  swarm.addEventListener('connection', ({socket}) => {
    const id = socket.info.id
    console.log('PB connection', id)
    socket.addEventListener('close', (e) => console.log('PB close', id, e.code))
    socket.addEventListener('message', (e) => console.log('PB message', id, e.message))
    socket.write('hello ' + n++)
  })
})()
</script>"""
SEEN = re.compile(r"PB (connection|close|message) ([0-9a-f]{64})(?: (.+))?$")


def seen(p: Proc, kind: str) -> list[tuple[str, str | None]]:
    return [(m.group(2), m.group(3)) for line in p.lines if (m := SEEN.search(line)) and m.group(1) == kind]


def test_pages_in_two_browsers_see_the_cable_pulled_and_plugged_back(lab, tmp_path):
    """Whole browsers, each in its own namespace, with --reachable and --link-timeout:
    the page of the browser that stays sees its peer's socket close, then a new
    connection that carries messages again."""
    lab, procs = lab
    bootstrap = start_testnet(lab, procs)
    page = tmp_path / "watcher.html"
    page.write_text(WATCHER)
    browsers = {}
    for name in ("a", "b"):
        lab.add(name)
        argv = [
            str(PEERBROWSER), "--headless", "--bootstrap", ",".join(bootstrap),
            "--reachable", "--link-timeout", "3", page.as_uri(),
        ]  # fmt: skip
        browsers[name] = Proc(lab.exec(name, argv), env=lab.env())
        procs.append(browsers[name])
    a, b = browsers["a"], browsers["b"]
    (peer_b, _), *_ = a.wait_for(lambda _: seen(a, "connection"), "a's page meets b's")
    (peer_a, _), *_ = b.wait_for(lambda _: seen(b, "connection"), "b's page meets a's")
    a.wait_for(lambda _: (peer_b, "hello 0") in seen(a, "message"), "b's hello")

    lab.cut("b")
    a.wait_for(lambda _: seen(a, "close"), "a's page sees the socket close")
    assert seen(a, "close") == [(peer_b, "1006")]
    lab.restore("b")
    a.wait_for(lambda _: len(seen(a, "connection")) == 2, "a new connection once b is back")
    assert seen(a, "connection") == [(peer_b, None), (peer_b, None)]  # the same presence
    a.wait_for(lambda _: (peer_b, "hello 1") in seen(a, "message"), "a message on the new socket")
    b.wait_for(lambda _: (peer_a, "hello 1") in seen(b, "message"), "and the other way")
    for p in (a, b):
        assert not [line for line in p.lines if "Traceback" in line], p.tail()
