"""What the peers indicator counts and lists, from the core's presences (no Qt)."""

from __future__ import annotations

from typing import Any

from browser.peers_indicator import count_text, summarize

CHAT = "peerapp://chat"


def sock(peer: str, *, loopback: bool = False, state: str = "open", host: Any = None, port: Any = None,
         received: int = 0, sent: int = 0) -> dict[str, Any]:  # fmt: skip
    return {"id": peer * 64, "host": host, "port": port, "loopback": loopback, "state": state,
            "received": received, "sent": sent, "unread": 0, "to_read": 0}  # fmt: skip


def presence(identity: int, me: str, swarms: list[dict[str, Any]], origin: str = CHAT) -> dict[str, Any]:
    return {"origin": origin, "identity": identity, "id": me * 64, "swarms": swarms}


def swarm(topic: str, sockets: list[dict[str, Any]], name: str | None = "room", state: str = "joined") -> dict:
    kind = "open" if name is not None else "origin"
    return {"type": kind, "name": name, "topic": topic * 64, "tabs": 1, "state": state, "sockets": sockets}


def test_distinct_peers_of_every_presence_and_swarm_of_the_origin() -> None:
    presences = [
        presence(1, "a", [
            swarm("1", [sock("a", loopback=True, sent=9), sock("b", received=3, sent=1),
                        sock("r", host="192.0.2.7", port=4000, received=2)]),
            swarm("2", [sock("a", loopback=True), sock("r", host="192.0.2.7", port=4000)], name=None),
        ]),
        presence(2, "b", [swarm("1", [sock("b", loopback=True), sock("a", sent=3),
                                      sock("x", state="closed", received=50)])]),
        presence(0, "z", [swarm("1", [sock("q")])], origin="https://other.example"),
    ]  # fmt: skip
    summary = summarize(CHAT, presences)
    # a (seen by #2), b (seen by #1) and the remote r (in two swarms): 3; no loopback, no
    # closed socket, nothing of the other origin
    assert summary.peers == 3
    assert count_text(summary, blocked=False) == "3 peers"
    assert summary.topics == 2 and summary.identities == [1, 2]
    assert [(s.name, s.identity) for s in summary.swarms] == [
        ("open swarm 'room'", 1),
        ("origin swarm", 1),
        ("open swarm 'room'", 2),
    ]
    first = summary.swarms[0]
    assert [(p.id[:1], p.address) for p in first.peers] == [("b", "this device"), ("r", "192.0.2.7:4000")]
    assert (summary.received, summary.sent) == (5, 4)  # the loopback's own traffic is not counted


def test_the_button_says_how_many_or_that_the_site_is_blocked() -> None:
    assert count_text(summarize(CHAT, []), blocked=False) == "0 peers"
    one = summarize(CHAT, [presence(0, "a", [swarm("1", [sock("a", loopback=True), sock("b")])])])
    assert count_text(one, blocked=False) == "1 peer"
    assert count_text(one, blocked=True) == "Blocked"
    ipv6 = summarize(CHAT, [presence(0, "a", [swarm("1", [sock("b", host="2001:db8::1", port=5)])])])
    assert ipv6.swarms[0].peers[0].address == "[2001:db8::1]:5"
