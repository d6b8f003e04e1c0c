"""A presence driven from Python, without pages: the core-level side of the benchmarks.

``CorePeer`` joins one swarm as one presence of a :class:`swarm.core.SwarmCore`
and offers the same measurements as ``pages/bench/bench.js`` (sequential round
trips, a one-way flood counted by the peer, echo), on opaque payload bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msgpack

from bridge.wire import MAX_WRITES_PER_OP
from swarm import limits
from swarm.core import SwarmCore
from swarm.events import Connection, HandleEvent, Messages, SocketClosed
from swarm.presence import Socket, SwarmHandle
from swarm.topics import SwarmKey

SMALL = msgpack.packb({"type": "text", "text": "hello world"})
BINARY = msgpack.packb(bytes(i & 0xFF for i in range(64 * 1024)))
PAYLOADS = {"small": SMALL, "binary": BINARY}
_CTL_PREFIXES = (b"\x81\xa3ctl", b"\x82\xa3ctl")
#: A flood keeps at most this many bytes unread by the peer when the core has no window.
FLOOD_TURN_BYTES = 512 * 1024


def ctl(name: str, **fields: Any) -> bytes:
    packed: bytes = msgpack.packb({"ctl": name, **fields})
    return packed


def read_ctl(payload: bytes) -> dict[str, Any] | None:
    if payload.startswith(_CTL_PREFIXES):
        value = msgpack.unpackb(payload)
        return value if isinstance(value, dict) else None
    return None


class CorePeer:
    def __init__(self, core: SwarmCore, origin: str, identity: int, room: str) -> None:
        self.core = core
        self.sockets: dict[bytes, Socket] = {}
        self.received = 0
        self.on_message: Callable[[Socket, bytes], None] | None = None
        self._changed = asyncio.Event()
        self._drained = asyncio.Event()
        self.joined_at = time.perf_counter()
        self.handle: SwarmHandle = core.join(origin, identity, SwarmKey.open(room), self, self._on_event)
        # peers already there come with the join (as the bridge's join result), not as events
        for socket in self.handle.sockets():
            self.sockets[socket.peer_id] = socket

    @property
    def id(self) -> bytes:
        return self.handle.presence.id

    def _on_event(self, _handle: SwarmHandle, event: HandleEvent) -> None:
        if isinstance(event, Messages):
            self.received += len(event.payloads)
            on_message = self.on_message
            if on_message is not None:
                for payload in event.payloads:
                    on_message(event.socket, payload)
            # flow control: credit the writer, once for the run (as a page, per batch it read)
            self.core.consumed(self.handle, event.socket, event.size)
        elif isinstance(event, Connection):
            self.sockets[event.socket.peer_id] = event.socket
            self._changed.set()
        elif isinstance(event, SocketClosed):
            self.sockets.pop(event.socket.peer_id, None)
            self._changed.set()
        else:  # Drain (flow control): the peer consumed some of what we wrote
            self._drained.set()

    async def until_peers(self, n: int) -> float:
        """Wait until this presence has ``n`` open sockets; returns when (perf_counter)."""
        while len(self.sockets) < n:
            self._changed.clear()
            await self._changed.wait()
        return time.perf_counter()

    def write(self, socket: Socket, payload: bytes) -> None:
        self.core.write(self.handle, socket, payload)

    # --- the peer side --------------------------------------------------------------------

    def echo(self) -> None:
        counting = 0

        def on_message(socket: Socket, payload: bytes) -> None:
            nonlocal counting
            if counting > 0:
                counting -= 1
                if counting == 0:
                    self.write(socket, ctl("done"))
                return
            control = read_ctl(payload)
            if control is not None and control.get("ctl") == "count":
                counting = int(control["n"])
                self.write(socket, ctl("ready"))
                return
            self.write(socket, payload)

        self.on_message = on_message

    # --- measurements -------------------------------------------------------------------------

    def _next(self) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def on_message(_socket: Socket, payload: bytes) -> None:
            if not future.done():
                future.set_result(payload)

        self.on_message = on_message
        return future

    async def rtt(self, socket: Socket, kind: str, n: int, warmup: int) -> list[float]:
        payload = PAYLOADS[kind]
        samples = []
        for i in range(warmup + n):
            got = self._next()
            t0 = time.perf_counter()
            self.write(socket, payload)
            await got
            if i >= warmup:
                samples.append((time.perf_counter() - t0) * 1000)
        return samples

    async def flood(self, socket: Socket, kind: str, n: int) -> float:
        """Seconds for ``n`` payloads to reach the peer (it answers after the last)."""
        payload = PAYLOADS[kind]
        ready = self._next()
        self.write(socket, ctl("count", n=n))
        await ready
        done = self._next()
        window = getattr(limits, "WINDOW", FLOOD_TURN_BYTES)
        t0 = time.perf_counter()
        sent = 0
        size = len(payload)
        while sent < n:
            # as a page's writes reach the core: while the socket's window has room, in
            # runs of at most a W op's (SwarmCore.write_many, as the bridge runs one);
            # then wait for a drain
            room = window - socket.inflight
            # as many as fit in the window's room (the first one of the flood in any case)
            fit = max(0, room) // size if sent else 1 + max(0, room - size) // size
            run = min(n - sent, MAX_WRITES_PER_OP, fit)
            if run:
                refused = self.core.write_many(self.handle, socket, [payload] * run)
                if refused:
                    raise RuntimeError(f"the core refused a write of the flood: {refused[0].error}")
                sent += run
            else:
                self._drained.clear()
                await self._drained.wait()
        await done
        return time.perf_counter() - t0
