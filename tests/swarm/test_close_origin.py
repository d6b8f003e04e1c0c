"""SwarmCore.close_origin: revoking an origin closes all its swarms at once.

Every tab of the origin hears its swarms close with the given code, its
presences leave with no grace period (peers on this device and on others see
them go), other origins keep everything, and the origin may join again.
"""

from __future__ import annotations

import pytest

from swarm.errors import PeerSocketError
from swarm.events import CLOSE_GOING_AWAY, CLOSE_POLICY, SocketClosed, SwarmClosed
from tests.swarm.core_helpers import until

EVIL, GOOD = "https://evil.example", "https://good.example"


async def test_every_swarm_of_the_origin_closes_in_every_tab_and_its_presences_leave_now(net):
    d1 = await net(grace=3600)  # a grace period that would outlive the test
    d2 = await net()
    tabs = [
        d1.tab(EVIL, 0, "room"),
        d1.tab(EVIL, 0, "room"),  # a second tab of the same presence
        d1.tab(EVIL, 1, "room"),  # another identity of the origin
        d1.tab(EVIL, 0),  # its origin swarm
    ]
    good = d1.tab(GOOD, 0, "room")
    remote = d2.tab(GOOD, 0, "room")
    await until(lambda: remote.peers() == {t.id for t in tabs[:3]} | {good.id}, "the mesh")
    evil_ids = {t.id for t in tabs}
    lingering = d1.tab(EVIL, 2, "other")
    lingering.core.close_handle(lingering.handle)  # in its grace period: revoking ends it too
    assert (EVIL, 2) in d1.core.presences

    closed = d1.core.close_origin(EVIL, CLOSE_POLICY, "permission revoked")

    assert closed == len(tabs)
    for tab in tabs:
        assert tab.handle.closed
        await until(lambda tab=tab: bool(tab.of(SwarmClosed)), "the swarm closed event")
        assert [(e.code, e.reason) for e in tab.of(SwarmClosed)] == [(CLOSE_POLICY, "permission revoked")]
    # no grace period: the presences are gone now, and their keys with them
    assert [key for key in d1.core.presences if key[0] == EVIL] == []
    assert d1.core.origin_snapshot(EVIL) == []
    await until(lambda: remote.peers() == {good.id}, "the remote device sees them leave")
    await until(lambda: good.peers() == {remote.id}, "the local peer sees them leave")
    assert {e.socket.id_hex for e in good.of(SocketClosed)} == {tabs[0].id, tabs[2].id}
    assert {e.code for e in good.of(SocketClosed)} == {CLOSE_GOING_AWAY}
    # the other origin keeps working
    good.write(remote.id, b"still here")
    await until(lambda: remote.messages(good.id) == [b"still here"], "a message after the revocation")
    assert not good.of(SwarmClosed) and not remote.of(SwarmClosed)
    # revoking again finds nothing; joining again (a permission given back) works
    assert d1.core.close_origin(EVIL, CLOSE_POLICY, "permission revoked") == 0
    back = d1.tab(EVIL, 0, "room")
    assert back.id not in evil_ids  # a fresh presence: a fresh key pair
    await until(lambda: remote.peers() == {good.id, back.id}, "the origin back in the room")


async def test_a_revoked_swarm_sends_nothing_more(net):
    d1, d2 = await net(), await net()
    evil, peer = d1.tab(EVIL, 0, "room"), d2.tab(GOOD, 0, "room")
    await until(lambda: evil.peers() == {peer.id})
    socket = evil.handle.require_socket(peer.id)
    evil.write(peer.id, b"before")
    await until(lambda: peer.messages() == [b"before"])
    d1.core.close_origin(EVIL, CLOSE_POLICY, "permission revoked")
    with pytest.raises(PeerSocketError) as err:
        evil.core.write(evil.handle, socket, b"after")
    assert err.value.code == "ERR_SWARM_CLOSED"
    with pytest.raises(PeerSocketError):
        evil.core.set_session_data(evil.handle, b"after")
    await until(lambda: peer.peers() == set(), "the peer saw it leave")
    assert peer.messages() == [b"before"]
