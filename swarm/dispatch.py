"""Events for the handles of one core, and the observers of its state.

Events are never delivered from inside the call that caused them:
:class:`EventQueue` queues them and dispatches them on a later loop turn, in
order, so a listener may call back into the core freely. :class:`Observers`
hear, at most once per loop turn, that something a person may see has changed
(the PeerSocket panel reads ``SwarmCore.snapshot()`` then).

Both take ``soon``, the core's way to run work later in the loop turn
(``swarm.turns.Turns.soon``).

Changes that have not reached the pages yet coalesce (the rest is in
``swarm/pace.py``): a socket that opened and closed before its ``Connection``
was dispatched reaches no page, with nothing it carried; and each page hears
``Connection`` and ``SocketClosed`` at a bounded rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from swarm.budget import Clock
from swarm.events import Connection, HandleEvent, Message, SessionData, SocketClosed, SwarmClosed
from swarm.pace import Pacer
from swarm.presence import Membership, Socket, SwarmHandle

log = logging.getLogger("peerbrowser.swarm")

#: What a handle's owner (a tab's bridge) gives ``SwarmCore.join`` to hear its events.
Listener = Callable[[SwarmHandle, HandleEvent], None]
LoopGetter = Callable[[], asyncio.AbstractEventLoop]
#: Run a callback later in this loop turn (``Turns.soon``).
Soon = Callable[[Callable[[], None]], None]


class EventQueue:
    """Every handle's events, in one queue, in the order they happened.

    A :class:`SessionData` not dispatched yet is replaced by a newer one for the
    same handle and socket when nothing else came between them on that socket: a
    peer setting its session data in a loop cannot flood a page. A socket whose
    :class:`Connection` is not dispatched yet when it closes vanishes for that
    handle with every event it had (messages are given back through
    ``on_dropped``, so that flow control stays right). ``Connection`` and
    ``SocketClosed`` reach each page at a bounded rate (``swarm/pace.py``); what
    has to wait waits there, coalesced.
    """

    def __init__(
        self,
        soon: Soon,
        clock: Callable[[], Clock],
        on_dropped: Callable[[SwarmHandle, Socket, int], None] | None = None,
    ) -> None:
        """``soon``: run work later in this turn; ``clock()``: time and timers for the
        pages' rates; ``on_dropped(handle, socket, nbytes)``: a message delivered to
        ``handle`` was dropped before it reached the page (its socket vanished)."""
        self._soon = soon
        self._clock = clock
        self.on_dropped = on_dropped
        self._listeners: dict[int, Listener] = {}  # handle id -> listener
        self._queue: deque[list[Any]] = deque()  # [handle, event] cells
        # (handle id, socket id) -> the queued cell of a SessionData nothing followed yet
        self._session_cells: dict[tuple[int, int], list[Any]] = {}
        # (handle id, socket) -> the queued cell of a Connection not dispatched yet
        self._conn_cells: dict[tuple[int, Socket], list[Any]] = {}
        # sockets that vanished for a handle (connection then close, both queued): their
        # other queued events are dropped at dispatch
        self._vanished: set[tuple[int, Socket]] = set()
        self.pacer = Pacer(self._dropped)
        self._wake: Any = None  # the timer that dispatches again once a page's rate allows
        self._scheduled = False

    def __len__(self) -> int:
        """Events queued and not dispatched yet (waiting for a page's rate included)."""
        return len(self._queue) + sum(len(lane.events) for lane in self.pacer.lanes.values())

    def listen(self, handle: SwarmHandle, listener: Listener) -> None:
        """``listener`` hears ``handle``'s events until its :class:`SwarmClosed`."""
        self._listeners[handle.id] = listener

    def emit(self, handle: SwarmHandle, event: HandleEvent) -> None:
        if isinstance(event, SessionData):
            key = (handle.id, id(event.socket))
            cell = self._session_cells.get(key)
            if cell is not None:
                cell[1] = event  # the previous value was not dispatched: only the newest goes
                return
            cell = [handle, event]
            self._session_cells[key] = cell
            self._queue.append(cell)
        elif type(event) is Connection:
            cell = [handle, event]
            self._conn_cells[(handle.id, event.socket)] = cell
            self._queue.append(cell)
        elif type(event) is SocketClosed and self._vanish(handle, event.socket):
            return
        else:
            if self._session_cells:  # only while a session value waits: not per message
                socket = getattr(event, "socket", None)
                if socket is not None:
                    self._session_cells.pop((handle.id, id(socket)), None)
            self._queue.append([handle, event])
        if not self._scheduled:
            self._scheduled = True
            self._soon(self.dispatch)

    def emit_all(self, membership: Membership, event: HandleEvent) -> None:
        """``event`` for every tab of ``membership``."""
        for handle in membership.handles:
            self.emit(handle, event)

    def dispatch(self) -> None:
        """Deliver everything queued, in order, as the pages' rates allow. A closed
        handle hears only its :class:`SwarmClosed`, after which its listener is forgotten."""
        self._scheduled = False
        queue, pacer = self._queue, self.pacer
        now = self._clock().time()
        if pacer.lanes:
            pacer.release(now, self._deliver)
        while queue:
            handle, event = queue.popleft()
            if event is None:
                continue  # a Connection that vanished
            kind = type(event)
            if kind is SessionData:
                self._session_cells.pop((handle.id, id(event.socket)), None)
            elif kind is Connection:
                del self._conn_cells[(handle.id, event.socket)]
            if self._vanished and (handle.id, getattr(event, "socket", None)) in self._vanished:
                if kind is Message:
                    self._dropped(handle, event.socket, len(event.payload))
                continue
            if handle.closed:
                if kind is SwarmClosed:
                    pacer.forget(handle)
                    self._deliver(handle, event)
                continue
            waits = pacer.lanes or kind is Connection or kind is SocketClosed or kind is SessionData
            if waits and not pacer.admit(handle, event, now):
                continue  # it waits for the page's rate (or vanished there)
            self._deliver(handle, event)
        self._vanished.clear()
        self._wake_later(now)

    def _deliver(self, handle: SwarmHandle, event: HandleEvent) -> None:
        listeners = self._listeners
        if handle.closed:
            if not isinstance(event, SwarmClosed):
                return
            listener = listeners.pop(handle.id, None)
        else:
            listener = listeners.get(handle.id)
        if listener is None:
            return
        try:
            listener(handle, event)
        except Exception:
            log.exception("a swarm listener raised; the event was dropped for that handle")

    # --- coalescing and the pages' rates ----------------------------------------------------------

    def _vanish(self, handle: SwarmHandle, socket: Socket) -> bool:
        """``socket`` closed: True if ``handle`` was not told of it yet, so that it never
        will be (its Connection and what followed are dropped, the close too)."""
        key = (handle.id, socket)
        cell = self._conn_cells.pop(key, None)
        if cell is not None:
            cell[1] = None
            self._vanished.add(key)
            return True
        return bool(self.pacer.lanes) and self.pacer.cancel(handle, socket)

    def _dropped(self, handle: SwarmHandle, socket: Socket, nbytes: int) -> None:
        if self.on_dropped is not None:
            self.on_dropped(handle, socket, nbytes)

    def _wake_later(self, now: float) -> None:
        """Some page's events wait for its rate: dispatch again when they may go on."""
        if self._wake is not None:
            return
        delay = self.pacer.wait(now)
        if delay is not None:
            self._wake = self._clock().call_later(delay, self._woken)

    def _woken(self) -> None:
        self._wake = None
        if not self._scheduled:  # in a turn, like every dispatch
            self._scheduled = True
            self._soon(self.dispatch)


class Observers:
    """Callbacks told, once per loop turn at most, that the core's state changed."""

    def __init__(self, soon: Soon) -> None:
        self._soon = soon
        self._callbacks: list[Callable[[], None]] = []
        self._scheduled = False

    def __len__(self) -> int:
        return len(self._callbacks)

    def add(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def remove(self, callback: Callable[[], None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def clear(self) -> None:
        self._callbacks.clear()

    def changed(self) -> None:
        """Something changed: notify the observers on the next loop turn (once)."""
        if self._scheduled or not self._callbacks:
            return
        self._scheduled = True
        self._soon(self._notify)

    def _notify(self) -> None:
        self._scheduled = False
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:
                log.exception("a core observer raised")
