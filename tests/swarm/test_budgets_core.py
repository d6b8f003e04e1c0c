"""docs/PROTOCOL.md "Budgets", as a device keeps them: a peer over its budget is not read
(its transport paused) until it refilled, a peer that goes on is cut with
``ERR_RATE_LIMIT`` and its device refused for a while, and links from new devices are
taken at a bounded rate. A hostile device is played by hand with bytes; time is a fake
clock the test moves."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import pytest

from swarm import limits
from swarm.core import SwarmCore
from swarm.events import CLOSE_ABNORMAL
from swarm.framing import FrameDecoder
from swarm.protocol import Frame, LinkProtocol
from swarm.topics import SwarmKey
from tests.swarm.core_helpers import Connection, SocketClosed, Tab, turns, until
from tests.swarm.protocol_helpers import Key, frame

ROOM = SwarmKey.open("room")
JOIN_LEAVE = frame(Frame.JOIN, 0, 0, None) + frame(Frame.LEAVE, 0, 0)


class FakeClock:
    """Time that moves only when the test says (``advance``), with timers."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], object]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self._timers and self._timers[0][0] <= self.now:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.callback()


class _Timer:
    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Wire:
    """A transport whose other end is the test: it records what the core writes, and
    whether the core paused its reading."""

    def __init__(self, remote_key: bytes) -> None:
        self.remote_key = remote_key
        self.local_key = b"\x00" * 32
        self.remote_address = ("192.0.2.1", 4000)
        self.initiator = False
        self.written = bytearray()
        self.closed = False
        self.paused = False
        self.pauses = 0

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close()"
        self.written += data

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        assert not self.paused
        self.paused, self.pauses = True, self.pauses + 1

    def resume_reading(self) -> None:
        assert self.paused
        self.paused = False

    def frames(self) -> list[list]:
        return FrameDecoder(limits.MAX_FRAME, max_array=8, max_str=limits.MAX_REASON_LEN).feed(
            bytes(self.written)
        )

    def goodbye(self) -> list | None:
        found = [f for f in self.frames() if f[0] == Frame.GOODBYE]
        return found[0] if found else None


class Hostile:
    """A device played by hand: its side of the protocol (for the handshake, the tags and
    the proof), then frames the test writes itself."""

    def __init__(self, core: SwarmCore, key: bytes | None = None) -> None:
        self.key = key if key is not None else Key().id
        self.wire = Wire(self.key)
        self.sink = core.attach(self.wire)
        self.me = LinkProtocol()
        self.presence = Key()

    async def handshake(self) -> None:
        """HELLO, the room's TOPIC, and one presence proven and joined (7 tokens)."""
        self.me.add_topic(ROOM.topic)
        self.me.join(ROOM.topic, self.presence.id, self.presence.sign, None)
        read = 0
        for _ in range(4):  # HELLO, TOPIC, then PRESENCE and JOIN once the topic is shared
            self.me.receive_data(bytes(self.wire.written[read:]))
            read = len(self.wire.written)
            self.send(self.me.data_to_send())
            await turns(5)
        assert self.me.peers_in(ROOM.topic), "the device's presence joined"

    def send(self, data: bytes) -> None:
        self.sink.data_received(data)


@pytest.fixture
async def device():
    clock = FakeClock()
    core = SwarmCore(grace=0, clock=clock)
    core.clock = clock  # type: ignore[attr-defined]
    yield core
    await core.close()


def tab(core: SwarmCore) -> Tab:
    return Tab(_Device(core), "https://a.example", 0, ROOM)  # type: ignore[arg-type]


class _Device:
    def __init__(self, core: SwarmCore) -> None:
        self.core = core


async def test_a_peer_over_its_budget_is_not_read_until_it_refilled(device):
    page = tab(device)
    peer = Hostile(device)
    await peer.handshake()
    await until(lambda: len(page.of(Connection)) == 1, "the peer's socket")
    left = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST - 1  # TOPIC, PRESENCE, JOIN
    # leave and join back with every token left (it ends joined), then leave: that LEAVE waits
    peer.send(frame(Frame.LEAVE, 0, 0) + JOIN_LEAVE * ((left - 1) // 2) + frame(Frame.JOIN, 0, 0, None))
    assert not peer.wire.paused
    peer.send(frame(Frame.LEAVE, 0, 0))
    assert peer.wire.paused and device.links[peer.key].reading_held == {"budget"}
    await turns(20)
    me = peer.presence.id.hex()
    assert page.peers() == {me} and not peer.wire.closed and peer.wire.goodbye() is None
    # the core holds it back: nothing it sends meanwhile is acted on
    peer.send(frame(Frame.JOIN, 0, 0, b"back"))
    await turns(20)
    assert page.peers() == {me} and page.of(Connection)[-1].socket.session_data is None
    device.clock.advance(limits.BUDGET_RESUME)
    assert not peer.wire.paused and device.links[peer.key].reading_held == set()
    # read on: it left, and came back
    await until(lambda: page.of(Connection)[-1].socket.session_data == b"back", "read on")
    assert page.peers() == {me} and isinstance(page.events[-2], SocketClosed)
    assert peer.wire.goodbye() is None and not peer.wire.closed


async def test_a_peer_that_runs_out_again_is_cut_and_its_device_refused_for_a_while(device):
    page = tab(device)
    peer = Hostile(device)
    await peer.handshake()
    await until(lambda: page.peers() == {peer.presence.id.hex()}, "the peer's socket")
    # leave and join back: an even number of frames is read (every token, then
    # BUDGET_RESUME seconds' worth), so the peer is joined when the link is cut
    flood = (frame(Frame.LEAVE, 0, 0) + frame(Frame.JOIN, 0, 0, None)) * limits.MEMBERSHIP_BUDGET
    peer.send(flood)
    assert peer.wire.paused
    device.clock.advance(limits.BUDGET_RESUME)
    # read on, ran out again at once: GOODBYE, the stream ended, the device refused
    goodbye = peer.wire.goodbye()
    assert goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT", goodbye
    assert "over its membership budget twice within 10 s" in goodbye[2]
    assert peer.wire.closed and peer.key not in device.links
    await until(lambda: page.peers() == set(), "its socket closed")
    closes = page.of(SocketClosed)
    assert closes[-1].code == CLOSE_ABNORMAL and "ERR_RATE_LIMIT" in closes[-1].reason

    def refused(after: float) -> str:
        device.clock.advance(after)
        again = Hostile(device, peer.key)
        goodbye = again.wire.goodbye()
        assert again.wire.closed and goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT"
        assert peer.key not in device.links
        return goodbye[2]

    assert "refused for 30 more seconds" in refused(0)
    assert "refused for 20 more seconds" in refused(10)
    # another device meanwhile is welcome
    other = Hostile(device)
    await other.handshake()
    assert not other.wire.closed and other.wire.goodbye() is None
    await until(lambda: page.peers() == {other.presence.id.hex()}, "the other device's socket")
    # after the refusal it may link again; cut again soon after, it is refused twice as long
    device.clock.advance(20)
    back = Hostile(device, peer.key)
    await back.handshake()
    assert not back.wire.closed and device.links[peer.key].transport is back.wire
    back.send(flood)
    device.clock.advance(limits.BUDGET_RESUME)
    assert back.wire.closed and back.wire.goodbye()[1] == "ERR_RATE_LIMIT"
    assert "refused for 60 more seconds" in refused(0)
    # and the other device's socket never closed
    await until(lambda: page.peers() == {other.presence.id.hex()}, "the cut device's socket closed")
    assert not other.wire.closed
    assert all(c.socket.peer_id != other.presence.id for c in page.of(SocketClosed))


async def test_session_floods_are_held_to_their_byte_budget(device):
    page = tab(device)
    peer = Hostile(device)
    await peer.handshake()
    await until(lambda: len(page.of(Connection)) == 1, "the peer's socket")
    big = frame(Frame.SESSION, 0, 0, b"\x01" * limits.MAX_SESSION_DATA)
    peer.send(big * (limits.SESSION_BUDGET // len(big) + 1))
    assert peer.wire.paused and peer.wire.goodbye() is None
    device.clock.advance(limits.BUDGET_RESUME)
    assert not peer.wire.paused
    peer.send(big * (limits.SESSION_BUDGET // len(big)))
    goodbye = peer.wire.goodbye()
    assert goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT" and "session budget" in goodbye[2]


async def test_links_from_new_devices_are_taken_at_a_bounded_rate(device):
    peers = [Hostile(device) for _ in range(limits.NEW_DEVICE_BURST)]
    assert not any(p.wire.closed for p in peers)
    late = Hostile(device)
    goodbye = late.wire.goodbye()
    assert late.wire.closed and goodbye is not None and goodbye[1] == "ERR_RATE_LIMIT"
    assert "new devices" in goodbye[2]
    # a device seen lately is always taken (here: the first one links again)
    again = Hostile(device, peers[0].key)
    assert not again.wire.closed
    # and new ones come in at the rate
    device.clock.advance(1 / limits.NEW_DEVICE_RATE)
    assert not Hostile(device).wire.closed
    assert Hostile(device).wire.closed
