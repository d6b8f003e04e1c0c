"""What reaches the pages of changes another device makes: changes that have not reached
a page yet coalesce, and a page hears connections and closes at a bounded rate, in
order with the messages of each socket (docs/API.md). The other device is played by
hand with bytes; time is a fake clock the test moves."""

from __future__ import annotations

import itertools

from swarm import limits
from swarm.events import Connection, Messages, SessionData, SocketClosed
from swarm.protocol import Frame
from tests.swarm.core_helpers import turns, until
from tests.swarm.hostile_helpers import Hostile, Key, tab
from tests.swarm.protocol_helpers import frame


def join(peer: Hostile, pnums: range, session: bytes | None = None) -> tuple[list[Key], bytes]:
    """New presences of ``peer`` under ``pnums``, proven and joined to the room."""
    keys, data = [], b""
    for pnum in pnums:
        key, proven = peer.prove(pnum)
        keys.append(key)
        data += proven + frame(Frame.JOIN, 0, pnum, session)
    return keys, data


def message(pnum: int, payload: bytes) -> bytes:
    """A MESSAGE from the peer's presence ``pnum`` to the page's presence (number 0 there)."""
    return frame(Frame.MESSAGE, 0, pnum, 0, payload)


def leave(pnums: range) -> bytes:
    return b"".join(frame(Frame.LEAVE, 0, p) for p in pnums)


def about(events: list, key: Key) -> list:
    return [e for e in events if e.socket.peer_id == key.id]


class Timed:
    """Records when (on the fake clock) a tab got each connection and close."""

    def __init__(self, core, page) -> None:
        self.times: list[float] = []
        listener = core._events._listeners[page.handle.id]

        def on(handle, event):
            if type(event) in (Connection, SocketClosed):
                self.times.append(core.clock.now)
            listener(handle, event)

        core._events._listeners[page.handle.id] = on

    def most_in_one_second(self) -> int:
        times = sorted(self.times)
        return max((sum(1 for t in times if s <= t < s + 1.0) for s in times), default=0)


async def linked(core, page) -> Hostile:
    peer = Hostile(core)
    await peer.handshake()
    await until(lambda: page.peers() == {peer.presence.id.hex()}, "the peer's socket")
    return peer


# --- coalescing ----------------------------------------------------------------------------------


async def test_a_presence_that_joins_and_leaves_before_a_page_hears_of_it_reaches_no_page(core):
    page = tab(core)
    peer = await linked(core, page)
    dropped = []
    on_dropped = core._events.on_dropped
    core._events.on_dropped = lambda h, s, n: (dropped.append((h, s.peer_id, n)), on_dropped(h, s, n))
    before = len(page.events)
    [key], joined = join(peer, range(1, 2))
    session = frame(Frame.SESSION, 0, 1, b"s")
    peer.send(joined + message(1, b"hi") + session + message(1, b"there") + leave(range(1, 2)))
    await turns(50)
    assert page.events[before:] == []
    # the messages it carried were credited back as if read (flow control stays right)
    assert dropped == [(page.handle, key.id, 2), (page.handle, key.id, 5)]


async def test_a_close_and_rejoins_not_yet_dispatched_reach_a_page_as_the_close_and_the_newest(core):
    page = tab(core)
    peer = await linked(core, page)
    [first] = page.of(Connection)
    before = len(page.events)
    churn = b"".join(leave(range(0, 1)) + frame(Frame.JOIN, 0, 0, b"%d" % n) for n in range(5))
    peer.send(churn + message(0, b"to the newest"))
    await until(lambda: len(page.events) >= before + 3, "the close and the newest connection")
    await turns(20)
    close, connection, msg = page.events[before:]
    assert isinstance(close, SocketClosed) and close.socket is first.socket and close.code == 1001
    assert isinstance(connection, Connection) and connection.socket.session_data == b"4"
    assert (
        isinstance(msg, Messages)
        and msg.socket is connection.socket
        and list(msg.payloads) == [b"to the newest"]
    )


async def test_a_sockets_events_keep_their_order_around_coalesced_session_data(core):
    page = tab(core)
    peer = await linked(core, page)
    before = len(page.events)
    [key], joined = join(peer, range(1, 2))
    peer.send(
        joined
        + message(1, b"one")
        + frame(Frame.SESSION, 0, 1, b"x")
        + frame(Frame.SESSION, 0, 1, b"y")
        + message(1, b"two")
        + frame(Frame.SESSION, 0, 1, b"z")
    )
    await until(lambda: len(page.events) >= before + 5, "the new socket's events")
    peer.send(leave(range(1, 2)))
    await until(lambda: len(page.events) >= before + 6, "its close")
    assert kinds(page.events[before:]) == [
        ("Connection", None),
        ("Message", b"one"),
        ("SessionData", b"y"),  # x was superseded before it went out, with nothing between
        ("Message", b"two"),
        ("SessionData", b"z"),
        ("SocketClosed", None),
    ]
    assert all(e.socket.peer_id == key.id for e in page.events[before:])


# --- the pages' rates ----------------------------------------------------------------------------


async def test_a_page_hears_at_most_its_rate_and_what_waits_is_the_current_state(unpaced_core):
    core = unpaced_core
    page = tab(core)
    timed = Timed(core, page)
    peer = await linked(core, page)
    many = limits.MAX_PRESENCES_PER_LINK - 1
    keys, joined = join(peer, range(1, 1 + many))
    peer.send(joined)
    await turns(50)
    # the page's total: 1,000 in any second (one was its first connection)
    assert len(page.peers()) == limits.PAGE_EVENTS_PER_SECOND
    waiting = [k for k in keys if k.id.hex() not in page.peers()]
    assert len(waiting) == 1 + many - limits.PAGE_EVENTS_PER_SECOND
    # half of those that wait leave, and one leaves and comes back: they coalesce
    gone, back = waiting[: len(waiting) // 2], waiting[-1]
    pnum = {k.id: n for n, k in enumerate(keys, start=1)}
    peer.send(b"".join(leave(range(pnum[k.id], pnum[k.id] + 1)) for k in gone))
    peer.send(leave(range(pnum[back.id], pnum[back.id] + 1)) + frame(Frame.JOIN, 0, pnum[back.id], b"back"))
    core.clock.advance(0.5)
    await turns(20)
    assert len(page.peers()) == limits.PAGE_EVENTS_PER_SECOND  # nothing before the second is over
    core.clock.advance(0.5)
    live = {peer.presence.id.hex()} | {k.id.hex() for k in keys if k not in gone}
    await until(lambda: page.peers() == live, "the rest")
    await turns(20)
    # the page never heard of those that left while they waited, nor of the steps between
    for k in gone:
        assert about(page.events, k) == []
    [only] = about(page.events, back)
    assert isinstance(only, Connection) and only.socket.session_data == b"back"
    assert timed.most_in_one_second() <= limits.PAGE_EVENTS_PER_SECOND


async def test_one_device_is_held_to_its_own_rate_and_another_is_not_held_behind_it(unpaced_core):
    core = unpaced_core
    page = tab(core)
    timed = Timed(core, page)
    peer = await linked(core, page)
    many = 900
    keys, joined = join(peer, range(1, 1 + many))
    peer.send(joined)
    await until(lambda: len(page.peers()) == 1 + many, "the joins (within the burst)")
    core.clock.advance(1.0)
    # the device's burst is spent but for 1,024 - 901 tokens, plus 200 refilled: its 900
    # leaves reach the page at 200 a second past those
    peer.send(leave(range(1, 1 + many)))
    await turns(50)
    tokens = limits.PAGE_EVENTS_PER_DEVICE_BURST - (1 + many) + limits.PAGE_EVENTS_PER_DEVICE_RATE
    assert len(page.peers()) == 1 + many - tokens
    # another device meanwhile is heard at once
    other = Hostile(core)
    await other.handshake()
    await until(lambda: other.presence.id.hex() in page.peers(), "the other device's presence")
    assert len(page.peers()) == 1 + many - tokens + 1
    for _ in itertools.count():
        if len(page.peers()) == 2:
            break
        waiting = len(page.peers())
        core.clock.advance(0.25)
        await turns(20)
        assert waiting - len(page.peers()) <= limits.PAGE_EVENTS_PER_DEVICE_RATE * 0.25 + 1
    assert page.peers() == {peer.presence.id.hex(), other.presence.id.hex()}
    assert timed.most_in_one_second() <= limits.PAGE_EVENTS_PER_SECOND


async def test_messages_on_a_socket_that_waits_wait_behind_its_connection_and_credit_after(unpaced_core):
    core = unpaced_core
    page = tab(core)
    peer = await linked(core, page)
    many = limits.PAGE_EVENTS_PER_SECOND  # the last one waits for the next second
    keys, joined = join(peer, range(1, 1 + many))
    peer.send(joined)
    await turns(50)
    [last] = [k for k in keys if k.id.hex() not in page.peers()]
    pnum = keys.index(last) + 1
    written = len(peer.wire.written)
    peer.send(message(pnum, b"first") + message(pnum, b"second"))
    await turns(50)
    assert about(page.events, last) == []
    # not read: not credited
    assert not [f for f in peer.wire.frames()[-20:] if f[0] == Frame.CREDIT]
    core.clock.advance(1.0)
    await until(lambda: len(kinds(about(page.events, last))) == 3, "its connection, then its messages")
    assert kinds(about(page.events, last)) == [
        ("Connection", None),
        ("Message", b"first"),
        ("Message", b"second"),
    ]
    await turns(20)
    peer.me.receive_data(bytes(peer.wire.written[written:]))
    credits = [f for f in peer.wire.frames() if f[0] == Frame.CREDIT and f[2] == 0 and f[3] == pnum]
    assert sum(f[4] for f in credits) == len(b"first") + len(b"second")


# --- session data ----------------------------------------------------------------------------------


async def one_presence(core) -> tuple:
    """A tab, a device linked to it, and that device's presence number 1, joined."""
    page = tab(core)
    peer = await linked(core, page)
    [key], joined = join(peer, range(1, 2))
    peer.send(joined)
    await until(lambda: key.id.hex() in page.peers(), "the presence's socket")
    return page, peer, key


def kinds(events: list) -> list[tuple[str, bytes | None]]:
    """Each event's kind and data; a run of messages as one ("Message", payload) each."""
    out: list[tuple[str, bytes | None]] = []
    for e in events:
        if isinstance(e, Messages):
            out += [("Message", payload) for payload in e.payloads]
        else:
            out.append((type(e).__name__, getattr(e, "data", None)))
    return out


async def test_a_device_replacing_big_session_values_reaches_a_page_at_its_byte_rate_newest_first(core):
    page, peer, key = await one_presence(core)
    before = len(page.events)
    values = [bytes([i]) * limits.MAX_SESSION_DATA for i in range(40)]
    for value in values:  # one at a time: each would reach the page in a dispatch of its own
        peer.send(frame(Frame.SESSION, 0, 1, value))
        await turns(3)
    peer.send(message(1, b"after"))
    await turns(20)
    burst = limits.PAGE_SESSION_BYTES_BURST // limits.MAX_SESSION_DATA
    # the burst's worth of 16 KiB values now; the rest waits, and the message behind it
    assert kinds(page.events[before:]) == [("SessionData", v) for v in values[:burst]]
    core.clock.advance(1.0)
    await until(lambda: ("Message", b"after") in kinds(page.events[before:]), "the message")
    # what waited coalesced into the newest value, which came before the message
    assert kinds(page.events[before:])[burst:] == [("SessionData", values[-1]), ("Message", b"after")]
    assert page.handle.get_socket(key.id.hex()).session_data == values[-1]


async def test_session_values_between_messages_are_paced_and_keep_their_order(core):
    page, peer, key = await one_presence(core)
    before = len(page.events)
    values = [bytes([i]) * limits.MAX_SESSION_DATA for i in range(12)]
    expected = []
    for i, value in enumerate(values):  # a message between each two: nothing coalesces
        expected += [("SessionData", value), ("Message", b"m%d" % i)]
    peer.send(b"".join(frame(Frame.SESSION, 0, 1, v) + message(1, b"m%d" % i) for i, v in enumerate(values)))
    await turns(50)
    per_second = limits.PAGE_SESSION_BYTES_RATE // limits.MAX_SESSION_DATA
    burst = limits.PAGE_SESSION_BYTES_BURST // limits.MAX_SESSION_DATA
    assert kinds(page.events[before:]) == expected[: 2 * burst]
    for _ in range(4 * len(values)):  # a quarter of a second at a time, a bounded number of times
        if len(page.events) >= before + len(expected):
            break
        had = sum(1 for e in page.events[before:] if isinstance(e, SessionData))
        core.clock.advance(0.25)
        await turns(20)
        now = sum(1 for e in page.events[before:] if isinstance(e, SessionData))
        assert now - had <= per_second * 0.25 + 1
    assert kinds(page.events[before:]) == expected


async def test_small_session_values_reach_a_page_at_once_in_order_with_messages(core):
    page, peer, key = await one_presence(core)
    before = len(page.events)
    count = 100  # within the burst: 64 KiB at 256 bytes a value
    peer.send(b"".join(frame(Frame.SESSION, 0, 1, b"s%d" % i) + message(1, b"m%d" % i) for i in range(count)))
    await until(lambda: len(page.events) >= before + 2 * count, "every value and message")
    expected = []
    for i in range(count):
        expected += [("SessionData", b"s%d" % i), ("Message", b"m%d" % i)]
    assert kinds(page.events[before:]) == expected
    assert all(isinstance(e, (SessionData, Messages)) for e in page.events[before:])
