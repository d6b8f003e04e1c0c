"""The hostile device of tests/hostile/attacker.js (written from docs/PROTOCOL.md) against
real devices: what it sends that a well-behaved device never would closes its own link
only, with GOODBYE ERR_PROTOCOL and a reason."""

from __future__ import annotations

import json

import pytest

from tests.network.conftest import GUARD, SIDECAR_DIR, needs_sidecar
from tests.network.processes import REPO, Proc
from tests.network.processes import DeviceProc as Dev

pytestmark = needs_sidecar

ATTACKER = REPO / "tests" / "hostile" / "attacker.js"


def attacker(bootstrap: list[str], swarm: str) -> Proc:
    return Proc(
        ["node", "-r", str(GUARD), str(ATTACKER), "--bootstrap", ",".join(bootstrap), "--swarm", swarm],
        stdin=True,
        env={"NODE_PATH": str(SIDECAR_DIR / "node_modules"), "PEERBROWSER_LOOPBACK_ONLY": "1"},
    )


def events(p: Proc, kind: str) -> list[dict]:
    return [e for e in p.json_events() if e.get("event") == kind]


@pytest.fixture
def two_devices(testnet):
    made = [Dev(testnet), Dev(testnet)]
    try:
        for d in made:
            d.ready()
        yield made
    finally:
        for d in made:
            d.p.stop()


def test_every_malformed_frame_closes_only_the_attackers_link(testnet, two_devices):
    a, b = two_devices
    a.join(0, "https://a.example", 0, "room")
    b.join(0, "https://b.example", 0, "room")
    a.p.wait_for(lambda _: a.peers(0) == {b.ids[0]}, "mesh")
    bad = attacker(testnet, "room")
    try:
        bad.wait_for(
            lambda _: {e["id"] for e in events(bad, "peer")} >= {a.ids[0], b.ids[0]}, "the attacker in"
        )
        bad.send_line(json.dumps({"attack": "malformed"}))
        done = bad.wait_for(
            lambda _: [e for e in events(bad, "done") if e["name"] == "malformed"], "all cases"
        )
    finally:
        bad.stop()
    cases = events(bad, "malformed")
    assert len(cases) == done[0]["cases"] > 20
    for case in cases:
        goodbye = case.get("goodbye")
        assert case["closed"] and goodbye and goodbye["code"] == "ERR_PROTOCOL" and goodbye["reason"], case
    # the devices never noticed
    a.do(op="write", tab=0, peer=b.ids[0], data="unharmed")
    b.p.wait_for(
        lambda _: [e for e in b.events("message") if e["data"] == "unharmed"], "the devices still talk"
    )
    assert b.ids[0] not in {e["peer"] for e in a.events("close")}
    assert not a.events("error") and not b.events("error")
