"""An outside program that dials a device's key directly, on one host, as a user runs
it: ``peerbrowser --bootstrap 127.0.0.1:PORT`` (no loopback guard, the bind address
left to the sidecar) on a machine whose network card has an address in a reserved range
(192.0.2.2, TEST-NET-1, as on this workplace's machines).

The whole "host" is a network namespace this test makes, joined to nothing
(``Lab.add_alone``): the device runs without the loopback guard only there.
Before the sidecar bound such a DHT to loopback, the dial opened on the dialler's side
and timed out (ETIMEDOUT) 13 s later, again and again (docs/SIDECAR.md, "A direct dial
on one host")."""

from __future__ import annotations

from collections.abc import Iterator

import msgpack
import pytest

from swarm.protocol import Frame
from swarm.sidecar_options import SIDECAR_DIR
from tests.network.conftest import GUARD, needs_sidecar
from tests.network.netns import Lab
from tests.network.processes import REPO, DeviceProc, Proc

pytestmark = [
    needs_sidecar,
    pytest.mark.skipif(bool(Lab.unavailable()), reason=str(Lab.unavailable())),
]


@pytest.fixture
def one_host() -> Iterator[tuple[Lab, list[Proc]]]:
    lab = Lab()
    procs: list[Proc] = []
    try:
        lab.add_alone("host", "192.0.2.2/24")
        yield lab, procs
    finally:
        for p in procs:
            p.stop()
        lab.close()


def test_a_direct_dial_to_a_device_on_a_loopback_dht_links_at_once(one_host):
    lab, procs = one_host
    testnet = Proc(
        lab.exec("host", ["node", "-r", str(GUARD), str(SIDECAR_DIR / "testnet.js"), "3"]), stdin=True
    )
    procs.append(testnet)
    bootstrap = testnet.wait_for(lambda _: [e for e in testnet.json_events() if "bootstrap" in e], "testnet")
    bootstrap = bootstrap[0]["bootstrap"]

    device = DeviceProc(bootstrap, extra=["--unguarded"], wrap=lambda argv: lab.exec("host", argv))
    procs.append(device.p)
    device.ready()
    ready = device.events("ready")[0]
    # every bootstrap node is on loopback, so is the device's DHT
    assert ready["host"] == "127.0.0.1"
    device.join(0, "https://example.org", 0, "direct dial")

    dialler = Proc(
        lab.exec(
            "host",
            [
                "node",
                "-r",
                str(GUARD),
                str(REPO / "tests/network/direct_dial.js"),
                ",".join(bootstrap),
                ready["key"],
            ],
        ),
        env={"NODE_PATH": str(SIDECAR_DIR / "node_modules")},
    )
    procs.append(dialler)
    outcome = dialler.wait_for(
        lambda _: [e for e in dialler.json_events() if e["event"] in ("data", "error")], "the dial's outcome"
    )
    assert outcome[0]["event"] == "data", outcome
    # the device's core spoke first on the new link: its HELLO
    data = bytes.fromhex(outcome[0]["hex"])
    size = int.from_bytes(data[:4], "big")
    hello = msgpack.unpackb(data[4 : 4 + size])
    assert hello[0] == Frame.HELLO and len(hello[2]) == 32
