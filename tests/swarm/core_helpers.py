"""A small harness: devices with cores on one in-memory network, and tabs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from swarm.core import SwarmCore
from swarm.events import Connection, HandleEvent, Messages, SessionData, SocketClosed, SwarmClosed
from swarm.memory import MemoryNetwork
from swarm.presence import SwarmHandle
from swarm.topics import SwarmKey


class _Turn:
    """Awaiting this gives the loop exactly one turn: a yield, not a wait on the clock."""

    def __await__(self):  # type: ignore[no-untyped-def]
        yield


async def until(cond: Callable[[], bool], what: str = "condition", turns: int = 20000) -> None:
    """Let the loop run until ``cond()`` holds (bounded by loop turns, not time)."""
    for _ in range(turns):
        if cond():
            return
        await _Turn()
    raise AssertionError(f"never happened: {what}")


async def turns(n: int = 200) -> None:
    """Let the loop run ``n`` more turns, to see that nothing more arrives."""
    for _ in range(n):
        await _Turn()


async def until_changed(core: SwarmCore, cond: Callable[[], bool], what: str = "condition") -> None:
    """Wait for ``cond()``, woken by the core's change notifications (for timer-driven changes)."""
    changed = asyncio.Event()
    core.add_observer(changed.set)
    try:
        while not cond():
            changed.clear()
            await asyncio.wait_for(changed.wait(), HANG_GUARD)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
    finally:
        core.remove_observer(changed.set)


async def until_heard(tab: Tab, cond: Callable[[], bool], what: str = "condition") -> None:
    """Wait for ``cond()`` about what ``tab`` heard, checked again at each event it hears
    (for what comes after the loop's timers too: a link reading at its pace)."""
    try:
        while not cond():
            tab.heard.clear()
            await asyncio.wait_for(tab.heard.wait(), HANG_GUARD)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


#: Only so that a broken test fails instead of hanging; never a timing assertion.
HANG_GUARD = 30.0


class Tab:
    """What one page would see of one swarm handle."""

    def __init__(
        self, device: Device, origin: str, identity: int, key: SwarmKey, consume: bool = True
    ) -> None:
        self.device = device
        self.core = device.core
        self.consume = consume  # consume each message at once, as a page reading it would
        self.events: list[HandleEvent] = []
        self._consumed_upto = 0  # consume_all() consumed the events before this one
        self.heard = asyncio.Event()  # set at each event (until_heard)
        self.handle: SwarmHandle = device.core.join(origin, identity, key, self, self._on)
        # as the bridge does: sockets that exist at join time are replayed as connections
        self.events += [Connection(s) for s in self.handle.sockets()]

    def _on(self, handle: SwarmHandle, event: HandleEvent) -> None:
        self.events.append(event)
        self.heard.set()
        if self.consume and isinstance(event, Messages):
            self.core.consumed(handle, event.socket, event.size)

    def consume_all(self) -> None:
        """Consume every message delivered and not consumed so far (for tabs made with
        consume=False)."""
        for e in self.events[self._consumed_upto :]:
            if isinstance(e, Messages):
                self.core.consumed(self.handle, e.socket, e.size)
        self._consumed_upto = len(self.events)

    @property
    def id(self) -> str:
        return self.handle.presence.id_hex

    def peers(self) -> set[str]:
        """The peers this tab was told of (connections less closes), as a page sees them."""
        seen: set[str] = set()
        for e in self.events:
            if isinstance(e, Connection):
                seen.add(e.socket.id_hex)
            elif isinstance(e, SocketClosed):
                seen.discard(e.socket.id_hex)
        return seen

    def messages(self, peer: str | None = None) -> list[bytes]:
        return [
            payload
            for e in self.events
            if isinstance(e, Messages) and (peer is None or e.socket.id_hex == peer)
            for payload in e.payloads
        ]

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def write(self, peer: str, payload: bytes) -> None:
        self.core.write(self.handle, self.handle.require_socket(peer), payload)


class Device:
    def __init__(self, network: MemoryNetwork, name: str, grace: float) -> None:
        self.engine = network.engine(name)
        self.core = SwarmCore(self.engine, grace=grace)

    def tab(self, origin: str, identity: int = 0, swarm: str | None = None, consume: bool = True) -> Tab:
        key = SwarmKey.open(swarm) if swarm is not None else SwarmKey.for_origin(origin)
        return Tab(self, origin, identity, key, consume)


__all__ = ["Connection", "Device", "Messages", "SessionData", "SocketClosed", "SwarmClosed", "Tab"]
