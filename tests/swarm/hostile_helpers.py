"""A device played by hand against a swarm core, with time in the test's hands: a fake
clock, a transport that records what the core writes, and the other device's side of
the protocol for the handshake, the tags and the proofs."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from swarm import limits
from swarm.core import SwarmCore
from swarm.framing import FrameDecoder
from swarm.link import Link
from swarm.protocol import PROOF_CONTEXT, Frame, LinkProtocol, LinkState
from swarm.topics import SwarmKey
from tests.swarm.core_helpers import Tab, turns
from tests.swarm.protocol_helpers import Key, frame

ROOM = SwarmKey.open("room")


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
        """HELLO, the room's TOPIC, and one presence proven and joined once the topic is
        shared (7 tokens)."""
        self.me.add_topic(ROOM.topic)
        self.me.join(ROOM.topic, self.presence.id, self.presence.sign, None)
        read = 0
        for _ in range(4):  # HELLO, TOPIC, then PRESENCE and JOIN once the topic is shared
            self.me.receive_data(bytes(self.wire.written[read:]))
            read = len(self.wire.written)
            self.send(self.me.data_to_send())
            await turns(5)
        assert self.me.state is LinkState.OPEN

    def send(self, data: bytes) -> None:
        """The bytes arrive, and the core reads them now, as far as it will: what a
        budget holds back waits in the link's inbox (the core reads a link in slices,
        one a turn; here the test takes them all at once)."""
        self.sink.data_received(data)
        self.read()

    def read(self) -> None:
        """The core reads what waits in the link's inbox now, as far as it will (after
        a budget refilled, say: the core would take it in its next turns)."""
        link = self.sink
        assert isinstance(link, Link)
        while link.run_slice():
            pass

    def prove(self, pnum: int) -> tuple[Key, bytes]:
        """A new presence of this device and its PRESENCE frame under ``pnum``."""
        key = Key()
        assert self.me.link_key is not None
        signature = key.sign(PROOF_CONTEXT + self.me.link_key + self.me.nonce + key.id)
        return key, frame(Frame.PRESENCE, pnum, key.id, signature)


class _Device:
    def __init__(self, core: SwarmCore) -> None:
        self.core = core


def tab(core: SwarmCore, consume: bool = True) -> Tab:
    """A page in the room on ``core``."""
    return Tab(_Device(core), "https://a.example", 0, ROOM, consume)  # type: ignore[arg-type]
