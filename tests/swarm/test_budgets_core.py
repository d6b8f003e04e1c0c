"""docs/PROTOCOL.md "Budgets", as a device keeps them: a peer over its budget is not read
(its transport paused) until it refilled, a peer that goes on is cut with
``ERR_RATE_LIMIT`` and its device refused for a while, and links from new devices are
taken at a bounded rate. A hostile device is played by hand with bytes; time is a fake
clock the test moves."""

from __future__ import annotations

import pytest

from swarm import limits
from swarm.errors import PeerSocketError
from swarm.events import CLOSE_ABNORMAL
from swarm.link import Link
from swarm.protocol import Frame
from swarm.topics import SwarmKey
from tests.swarm.core_helpers import Connection, SocketClosed, turns, until
from tests.swarm.hostile_helpers import Hostile, tab
from tests.swarm.protocol_helpers import frame

JOIN_LEAVE = frame(Frame.JOIN, 0, 0, None) + frame(Frame.LEAVE, 0, 0)


async def test_a_peer_over_its_budget_is_not_read_until_it_refilled(unpaced_core):
    core = unpaced_core
    page = tab(core)
    peer = Hostile(core)
    await peer.handshake()
    await until(lambda: len(page.of(Connection)) == 1, "the peer's socket")
    left = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST - 1  # TOPIC, PRESENCE, JOIN
    # leave and join back with every token left (it ends joined), then leave: that LEAVE waits
    peer.send(frame(Frame.LEAVE, 0, 0) + JOIN_LEAVE * ((left - 1) // 2) + frame(Frame.JOIN, 0, 0, None))
    assert not peer.wire.paused
    peer.send(frame(Frame.LEAVE, 0, 0))
    assert peer.wire.paused and core.links[peer.key].reading_held == {"budget"}
    await turns(20)
    me = peer.presence.id.hex()
    assert page.peers() == {me} and not peer.wire.closed and peer.wire.goodbye() is None
    # the core holds it back: nothing it sends meanwhile is acted on
    peer.send(frame(Frame.JOIN, 0, 0, b"back"))
    await turns(20)
    assert page.peers() == {me} and page.of(Connection)[-1].socket.session_data is None
    core.clock.advance(limits.BUDGET_RESUME)
    assert not peer.wire.paused and core.links[peer.key].reading_held == set()
    # read on: it left, and came back
    await until(lambda: page.of(Connection)[-1].socket.session_data == b"back", "read on")
    assert page.peers() == {me} and isinstance(page.events[-2], SocketClosed)
    assert peer.wire.goodbye() is None and not peer.wire.closed


async def test_a_peer_that_runs_out_again_is_cut_and_its_device_refused_for_a_while(unpaced_core):
    core = unpaced_core
    page = tab(core)
    peer = Hostile(core)
    await peer.handshake()
    # a second presence of that device, which stays in the room
    stays, proven = peer.prove(1)
    peer.send(proven + frame(Frame.JOIN, 0, 1, None))
    await until(lambda: page.peers() == {peer.presence.id.hex(), stays.id.hex()}, "the peer's sockets")
    # the first one leaves and joins back, as fast as it can
    flood = (frame(Frame.LEAVE, 0, 0) + frame(Frame.JOIN, 0, 0, None)) * limits.MEMBERSHIP_BUDGET
    peer.send(flood)
    assert peer.wire.paused
    core.clock.advance(limits.BUDGET_RESUME)
    peer.read()
    # read on, ran out again at once: GOODBYE, the stream ended, the device refused
    goodbye = peer.wire.goodbye()
    assert goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT", goodbye
    assert "over its membership budget twice within 10 s" in goodbye[2]
    assert peer.wire.closed and peer.key not in core.links
    await until(lambda: page.peers() == set(), "its sockets closed")
    # (the first presence's churn reached the page coalesced: not every step)
    [closed] = [c for c in page.of(SocketClosed) if c.socket.peer_id == stays.id]
    assert closed.code == CLOSE_ABNORMAL and "ERR_RATE_LIMIT" in closed.reason

    def refused(after: float) -> str:
        core.clock.advance(after)
        again = Hostile(core, peer.key)
        goodbye = again.wire.goodbye()
        assert again.wire.closed and goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT"
        assert peer.key not in core.links
        return goodbye[2]

    assert "refused for 30 more seconds" in refused(0)
    assert "refused for 20 more seconds" in refused(10)
    # another device meanwhile is welcome
    other = Hostile(core)
    await other.handshake()
    assert not other.wire.closed and other.wire.goodbye() is None
    await until(lambda: page.peers() == {other.presence.id.hex()}, "the other device's socket")
    # after the refusal it may link again; cut again soon after, it is refused twice as long
    core.clock.advance(20)
    back = Hostile(core, peer.key)
    await back.handshake()
    assert not back.wire.closed and core.links[peer.key].transport is back.wire
    back.send(flood)
    core.clock.advance(limits.BUDGET_RESUME)
    back.read()
    assert back.wire.closed and back.wire.goodbye()[1] == "ERR_RATE_LIMIT"
    assert "refused for 60 more seconds" in refused(0)
    # and the other device's socket never closed
    await until(lambda: page.peers() == {other.presence.id.hex()}, "the cut device's socket closed")
    assert not other.wire.closed
    assert all(c.socket.peer_id != other.presence.id for c in page.of(SocketClosed))


async def test_a_device_is_read_at_the_pace_held_back_by_its_transport_and_never_cut_in_budget(core):
    """Membership frames faster than the pace, within the budget: the core reads what the
    pace allows and leaves the rest in the link's inbox; past the inbox's bound the
    transport is paused (the sender's own flow control holds it back), and the rest is
    read as the pace refills, to the end, with no GOODBYE."""
    page = tab(core)
    peer = Hostile(core)
    await peer.handshake()
    await until(lambda: len(page.of(Connection)) == 1, "the peer's socket")
    link = core.links[peer.key]
    value = b"\x01" * 1000
    pair = frame(Frame.LEAVE, 0, 0) + frame(Frame.JOIN, 0, 0, value)  # 2 tokens, ~1 KiB
    pairs = Link.INBOX_HIGH // len(pair) + 64
    peer.send(pair * pairs)
    await turns(20)
    # it read the pace's burst; the transport, paused past the inbox's bound, stays
    # paused while more than the low-water mark waits
    assert link.protocol.reading_paused and link.inbox_bytes > Link.INBOX_LOW
    assert link.reading_held == {"inbox"} and peer.wire.paused
    steps = 0
    while link.protocol.reading_paused or link.inbox_bytes:
        core.clock.advance(limits.PACE_RESUME)
        await turns(5)
        steps += 1
    # as fast as the pace refilled, no faster (the handshake's 7 tokens came first)
    tokens = 7 + 2 * pairs
    assert steps * limits.PACE_RESUME == pytest.approx(
        (tokens - limits.MEMBERSHIP_PACE_BURST) / limits.MEMBERSHIP_PACE, rel=0.05
    )
    assert not peer.wire.paused and link.reading_held == set()
    assert link.protocol.budget.pauses == 0 and peer.wire.goodbye() is None and not peer.wire.closed
    await until(lambda: page.of(Connection)[-1].socket.session_data == value, "the last state")
    assert page.peers() == {peer.presence.id.hex()}


async def test_devices_flooding_under_several_keys_are_read_at_one_pace_together(core):
    """Three devices (one attacker under three keys) flood at once: they are read no
    faster together than the pace the core's links share (each alone would be read at
    half of it), in turn, all three to the end."""
    page = tab(core)
    peers = [Hostile(core) for _ in range(3)]
    for peer in peers:
        await peer.handshake()
    await until(lambda: len(page.of(Connection)) == 3, "the peers' sockets")
    links = [core.links[p.key] for p in peers]
    flood = JOIN_LEAVE * 1000
    for peer in peers:
        peer.send(flood)
    await turns(20)

    def unread(link: Link) -> int:
        return link.inbox_bytes + link.protocol.buffered

    def tokens_read() -> float:  # of the floods, by all three links (2 a JOIN/LEAVE pair)
        return 2 * (3 * len(flood) - sum(unread(link) for link in links)) / len(JOIN_LEAVE)

    burst = limits.MEMBERSHIP_PACE_ALL_BURST - 3 * 7  # (each handshake took 7 tokens)
    assert tokens_read() == pytest.approx(burst, abs=6)
    after_burst = [len(flood) - unread(link) for link in links]
    steps = 0
    while any(unread(link) for link in links):
        core.clock.advance(limits.PACE_RESUME)
        await turns(5)
        steps += 1
        assert tokens_read() <= burst + limits.MEMBERSHIP_PACE_ALL * steps * limits.PACE_RESUME + 6
        if steps == 10:  # in turn: each read its share since the burst, less one turn
            since = [len(flood) - unread(link) - n for link, n in zip(links, after_burst, strict=True)]
            turn_bytes = limits.MEMBERSHIP_PACE_ALL * limits.PACE_RESUME * len(JOIN_LEAVE) / 2
            assert min(since) >= sum(since) / 3 - turn_bytes
    # as fast as the shared pace refilled, no faster
    assert steps * limits.PACE_RESUME == pytest.approx(
        (3 * 2 * 1000 - burst) / limits.MEMBERSHIP_PACE_ALL, rel=0.05
    )
    assert all(link.protocol.budget.pauses == 0 and not link.protocol.reading_paused for link in links)
    assert all(p.wire.goodbye() is None and core.links[p.key] is link for p, link in zip(peers, links, strict=True))


async def test_session_floods_are_held_to_their_byte_budget(core):
    page = tab(core)
    peer = Hostile(core)
    await peer.handshake()
    await until(lambda: len(page.of(Connection)) == 1, "the peer's socket")
    big = frame(Frame.SESSION, 0, 0, b"\x01" * limits.MAX_SESSION_DATA)
    peer.send(big * (limits.SESSION_BUDGET // len(big) + 1))
    assert peer.wire.paused and peer.wire.goodbye() is None
    core.clock.advance(limits.BUDGET_RESUME)
    assert not peer.wire.paused
    peer.send(big * (limits.SESSION_BUDGET // len(big)))
    goodbye = peer.wire.goodbye()
    assert goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT" and "session budget" in goodbye[2]


async def test_links_from_new_devices_are_taken_at_a_bounded_rate(core):
    peers = [Hostile(core) for _ in range(limits.NEW_DEVICE_BURST)]
    assert not any(p.wire.closed for p in peers)
    late = Hostile(core)
    goodbye = late.wire.goodbye()
    assert late.wire.closed and goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT"
    assert "new devices" in goodbye[2]
    # a device seen lately is always taken (here: the first one links again)
    again = Hostile(core, peers[0].key)
    assert not again.wire.closed
    # and new ones come in at the rate
    core.clock.advance(1 / limits.NEW_DEVICE_RATE)
    assert not Hostile(core).wire.closed
    assert Hostile(core).wire.closed


# --- this device's own pages stay under its peers' budgets ----------------------------------------


async def test_a_page_that_joins_swarms_too_fast_is_refused_while_a_link_would_carry_it(core):
    def cycle(n: int) -> None:
        handle = core.join("https://churn.example", 0, SwarmKey.open(f"s{n}"), "page", lambda h, e: None)
        core.close_handle(handle)  # no grace here: it leaves at once

    # with no link, nothing is announced: no limit but the others
    for n in range(limits.OWN_MEMBERSHIP_BUDGET):
        cycle(n)
    peer = Hostile(core)
    await peer.handshake()
    # a new presence in a new swarm: 8 tokens (TOPIC, PRESENCE, JOIN, then LEAVE or
    # UNTOPIC and UNPRESENCE)
    fits = limits.OWN_MEMBERSHIP_BUDGET // 8
    for n in range(fits):
        cycle(n)
    with pytest.raises(PeerSocketError) as refused:
        cycle(fits)
    assert refused.value.code == "ERR_TOO_MANY" and refused.value.name == "RangeError"
    assert refused.value.message.startswith("joinSwarm() calls too fast: a device changes what it announces")
    assert "try again in 0.2 s" in refused.value.message
    assert core.presences == {} or all(p.origin != "https://churn.example" for p in core.presences.values())
    core.clock.advance(8 / limits.OWN_MEMBERSHIP_RATE)
    cycle(fits)
    # what the device sent the peer (TOPIC, UNTOPIC: it shares none of those swarms) cost
    # at most what the pages were allowed, within its budget
    await turns(5)
    membership = [f for f in peer.wire.frames() if Frame.TOPIC <= f[0] <= Frame.LEAVE]
    cost = sum(limits.PRESENCE_COST if f[0] == Frame.PRESENCE else 1 for f in membership)
    assert 0 < cost <= (fits + 1) * 8 <= limits.OWN_MEMBERSHIP_BUDGET + 8 < limits.MEMBERSHIP_BUDGET


async def test_a_page_that_sets_its_session_data_too_fast_is_refused_while_a_peer_would_get_it(core):
    page = tab(core)
    value = b"\x01" * limits.MAX_SESSION_DATA
    for _ in range(limits.OWN_SESSION_BUDGET // len(value) * 2):
        core.set_session_data(page.handle, value)  # no link shares the room: nothing to send
    peer = Hostile(core)
    await peer.handshake()
    fits = limits.OWN_SESSION_BUDGET // (len(value) + 32)
    for _ in range(fits):
        core.set_session_data(page.handle, value)
    with pytest.raises(PeerSocketError) as refused:
        core.set_session_data(page.handle, b"\x02" * limits.MAX_SESSION_DATA)
    assert refused.value.code == "ERR_TOO_MANY"
    assert refused.value.message.startswith("setSessionData() calls too fast: a device sends its peers at most")
    assert page.handle.loopback.session_data == value  # nothing changed
    core.clock.advance(1.0)
    core.set_session_data(page.handle, b"newer")
    await until(lambda: [f[3] for f in peer.wire.frames() if f[0] == Frame.SESSION][-1:] == [b"newer"], "sent")
