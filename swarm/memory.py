"""An in-memory network: devices in one process, linked without sockets.

Used by tests: several devices in one test (``tests/swarm``), and a core with
real links for the PeerSocket panel (``tests/browser``). It behaves like the
Hyperswarm engine as the core sees it: devices that join a common topic get one
transport per pair, bytes arrive on a later loop turn and in order, and a link
can be cut to simulate a lost device.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque

from swarm.engine import EngineSink, LinkSink


class MemoryTransport:
    def __init__(
        self,
        network: MemoryNetwork,
        owner: MemoryEngine,
        remote_key: bytes,
        address: tuple[str, int],
        initiator: bool,
    ) -> None:
        self.network = network
        self.owner = owner
        self.remote_key = remote_key
        self.local_key = owner.key
        self.remote_address: tuple[str, int] | None = address
        self.initiator = initiator
        self.peer: MemoryTransport | None = None
        self.sink: LinkSink | None = None
        self.closed = False
        self.bytes_written = 0
        self.paused = False
        #: What arrived while paused, delivered on resume_reading() (unbounded here: a test
        #: network; the sidecar bounds its own, docs/SIDECAR.md).
        self.backlog: deque[bytes] = deque()

    def write(self, data: bytes) -> None:
        if self.closed or self.peer is None:
            return
        self.bytes_written += len(data)
        self.network.loop.call_soon(self.peer._receive, data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.network._forget(self)
        if self.peer is not None:
            self.network.loop.call_soon(self.peer._lost, "ERR_LINK_LOST", "closed by the peer")

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False
        while self.backlog and not self.paused and not self.closed and self.sink is not None:
            self.sink.data_received(self.backlog.popleft())

    def _receive(self, data: bytes) -> None:
        if self.closed or self.sink is None:
            return
        if self.paused or self.backlog:
            self.backlog.append(data)
            return
        self.sink.data_received(data)

    def _lost(self, code: str, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.network._forget(self)
        if self.sink is not None:
            self.sink.connection_lost(code, reason)


class MemoryEngine:
    def __init__(self, network: MemoryNetwork, name: str) -> None:
        self.network = network
        self.name = name
        self.key = secrets.token_bytes(32)
        self.port = network._next_port()
        self.topics: set[bytes] = set()
        self.sink: EngineSink | None = None
        self.closed = False

    @property
    def public_key(self) -> bytes:
        return self.key

    async def start(self, sink: EngineSink) -> None:
        self.sink = sink
        self.network.engines.append(self)
        sink.engine_state_changed("ready", f"in-memory network as {self.name}")

    def join(self, topic: bytes) -> None:
        if topic in self.topics or self.closed:
            return
        self.topics.add(topic)
        self.network._discover(self, topic)

    def leave(self, topic: bytes) -> None:
        self.topics.discard(topic)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for transport in list(self.network.transports_of(self)):
            transport.close()
        if self in self.network.engines:
            self.network.engines.remove(self)
        if self.sink is not None:
            self.sink.engine_state_changed("closed", "engine closed")


class MemoryNetwork:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """``loop``: where bytes are delivered (default: the running loop, when needed)."""
        self.engines: list[MemoryEngine] = []
        self._pairs: dict[frozenset[bytes], tuple[MemoryTransport, MemoryTransport]] = {}
        self._ports = 40000
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def engine(self, name: str) -> MemoryEngine:
        return MemoryEngine(self, name)

    def transports_of(self, engine: MemoryEngine) -> list[MemoryTransport]:
        return [t for pair in self._pairs.values() for t in pair if t.owner is engine]

    def cut(self, a: MemoryEngine, b: MemoryEngine) -> None:
        """Drop the link between two devices as a network failure would."""
        pair = self._pairs.pop(frozenset((a.key, b.key)), None)
        if pair is not None:
            for t in pair:
                self.loop.call_soon(t._lost, "ERR_LINK_LOST", "the network dropped the link")

    def restart(self, engine: MemoryEngine) -> list[MemoryTransport]:
        """``engine`` restarts with a new key, as a killed sidecar does: its side of every
        link is lost at once, the other sides stay half-open (returned, to time them out
        with ``_lost``), and new links form for its topics."""
        stale = []
        for key, (ta, tb) in list(self._pairs.items()):
            if engine not in (ta.owner, tb.owner):
                continue
            mine, theirs = (ta, tb) if ta.owner is engine else (tb, ta)
            del self._pairs[key]
            theirs.peer = None  # what it writes now goes nowhere
            stale.append(theirs)
            self.loop.call_soon(mine._lost, "ERR_ENGINE_RESTART", "the engine restarted")
        engine.key = secrets.token_bytes(32)
        for topic in engine.topics:
            self.loop.call_soon(self._discover, engine, topic)
        return stale

    def link_count(self) -> int:
        return len(self._pairs)

    def _next_port(self) -> int:
        self._ports += 1
        return self._ports

    def _discover(self, engine: MemoryEngine, topic: bytes) -> None:
        for other in self.engines:
            if other is engine or topic not in other.topics:
                continue
            pair_key = frozenset((engine.key, other.key))
            if pair_key in self._pairs:
                continue
            self._connect(engine, other, pair_key)

    def _connect(self, a: MemoryEngine, b: MemoryEngine, pair_key: frozenset[bytes]) -> None:
        assert a.sink is not None and b.sink is not None
        ta = MemoryTransport(self, a, b.key, ("memory", b.port), initiator=True)
        tb = MemoryTransport(self, b, a.key, ("memory", a.port), initiator=False)
        ta.peer, tb.peer = tb, ta
        self._pairs[pair_key] = (ta, tb)
        ta.sink = a.sink.attach(ta)
        tb.sink = b.sink.attach(tb)

    def _forget(self, transport: MemoryTransport) -> None:
        for key, pair in list(self._pairs.items()):
            if transport in pair:
                del self._pairs[key]
