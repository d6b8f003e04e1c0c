"""Events for the handles of one core, and the observers of its state.

Events are never delivered from inside the call that caused them:
:class:`EventQueue` queues them and dispatches them on a later loop turn, in
order, so a listener may call back into the core freely. :class:`Observers`
hear, at most once per loop turn, that something a person may see has changed
(the PeerSocket panel reads ``SwarmCore.snapshot()`` then).

Both take ``soon``, the core's way to run work later in the loop turn: the core
gives observers ``swarm.turns.Turns.soon`` and the event queue ``Turns.late``, so that
events are dispatched after the turn's credits, and a message and the drain that a
credit in the same turn caused are dispatched in one pass.

Changes that have not reached the pages yet coalesce (the rest is in
``swarm/pace.py``): a socket that opened and closed before its ``Connection``
was dispatched reaches no page, with nothing it carried; and each page hears
``Connection`` and ``SocketClosed`` at a bounded rate.

A page holds at most ``limits.WINDOW`` bytes of one socket's messages that it has
not consumed (and the run of messages that crossed it: one message, or what one
``MESSAGES`` frame carried, within ``limits.MAX_FRAME`` as a message is): the rest
wait here, in order with that socket's session data (of which only the newest value
after the last message waits) and close, until the page consumes some. A tab writing alone never has more
in flight than that and one message (tabs of one presence writing at once may run
ahead to ``limits.MAX_INFLIGHT``); a writer that ignores its window is cut at
``limits.MAX_HELD``, or by the sidecar (1002 either way), and what it sent past the
window is dropped here with it, never reaching the page's renderer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from swarm import limits
from swarm.budget import Clock
from swarm.events import (
    CLOSE_PROTOCOL,
    Connection,
    HandleEvent,
    Messages,
    SessionData,
    SocketClosed,
    SwarmClosed,
)
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
        schedule: Soon,
        clock: Callable[[], Clock],
        on_dropped: Callable[[SwarmHandle, Socket, int], None] | None = None,
    ) -> None:
        """``schedule(fn)``: run ``fn`` later in this turn (the core passes
        ``Turns.late``: once the turn's credits are in, so one pass delivers a message
        and the drain it caused); ``clock()``: time and timers for the pages' rates;
        ``on_dropped(handle, socket, nbytes)``: a message delivered to ``handle`` was
        dropped before it reached the page (its socket vanished)."""
        self._schedule = schedule
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
        #: (handle id, socket) -> the handle, and its events that wait for the page's
        #: window, in order
        self._held: dict[tuple[int, Socket], tuple[SwarmHandle, deque[HandleEvent]]] = {}
        self._released: set[tuple[int, Socket]] = set()  # of those, the page consumed some since
        self._wake: Any = None  # the timer that dispatches again once a page's rate allows
        self._scheduled = False

    def __len__(self) -> int:
        """Events queued and not dispatched yet (waiting for a page's rate or window included)."""
        waiting = sum(len(lane.events) for lane in self.pacer.lanes.values())
        return len(self._queue) + waiting + sum(len(held) for _, held in self._held.values())

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
            self._schedule(self.dispatch)

    def emit_messages(
        self, handle: SwarmHandle, socket: Socket, payloads: Sequence[bytes], size: int
    ) -> None:
        """``payloads`` (``size`` bytes in all) arrived on ``socket``, in order: one
        :class:`Messages` event, or more of the one queued last when that is ``socket``'s
        for ``handle`` too and the run stays within a ``MESSAGES`` frame's bounds
        (``limits.MAX_MESSAGES_PER_FRAME``, ``limits.MESSAGES_FRAME_BYTES``): a tab's
        writes that follow each other reach the other tab as one event, as a peer's do."""
        if self._session_cells:
            self._session_cells.pop((handle.id, id(socket)), None)
        queue = self._queue
        last = queue[-1] if queue else None
        if (
            last is not None
            and last[0] is handle
            and type(run := last[1]) is Messages
            and run.socket is socket
            and run.size + size <= limits.MESSAGES_FRAME_BYTES
            and len(run.payloads) + len(payloads) <= limits.MAX_MESSAGES_PER_FRAME
        ):
            run.payloads += payloads  # (each queued event has a list of its own)
            run.size += size
        else:
            queue.append([handle, Messages(socket, list(payloads), size)])
        if not self._scheduled:
            self._scheduled = True
            self._schedule(self.dispatch)

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
        if self._released:
            self._release()
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
                if kind is Messages:
                    self._dropped(handle, event.socket, event.size)
                continue
            if handle.closed:
                if kind is SwarmClosed:
                    pacer.forget(handle)
                    self._forget_held(handle)
                    self._deliver(handle, event)
                continue
            waits = pacer.lanes or kind is Connection or kind is SocketClosed or kind is SessionData
            if waits and not pacer.admit(handle, event, now):
                continue  # it waits for the page's rate (or vanished there)
            self._deliver(handle, event)
        self._vanished.clear()
        self._wake_later(now)

    def _deliver(self, handle: SwarmHandle, event: HandleEvent) -> None:
        if (self._held or type(event) is Messages) and not self._within_window(handle, event):
            return  # it waits for the page's window
        self._hand_over(handle, event)

    def _hand_over(self, handle: SwarmHandle, event: HandleEvent) -> None:
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

    # --- the pages' windows -------------------------------------------------------------------

    def consumed(self, handle: SwarmHandle, socket: Socket, nbytes: int) -> None:
        """``handle``'s page consumed ``nbytes`` of ``socket``'s messages: what waits for
        its window goes on at the next dispatch (never from inside this call)."""
        shown = socket.shown.get(handle.id)
        if shown is None or nbytes <= 0:
            return
        socket.shown[handle.id] = max(0, shown - nbytes)
        key = (handle.id, socket)
        if key in self._held:
            self._released.add(key)
            if not self._scheduled:
                self._scheduled = True
                self._schedule(self.dispatch)

    def _within_window(self, handle: SwarmHandle, event: HandleEvent) -> bool:
        """Whether ``event`` goes to the page now; if not, it waits for the page's window."""
        socket: Socket | None = getattr(event, "socket", None)
        if socket is None or handle.closed:
            return True
        kind = type(event)
        entry = self._held.get((handle.id, socket)) if self._held else None  # (per message)
        if entry is not None:
            key, held = (handle.id, socket), entry[1]
            if kind is SessionData and type(held[-1]) is SessionData:
                held[-1] = event  # not handed over yet: only the newest goes
                return False
            if kind is Messages or kind is SessionData:
                held.append(event)
                return False
            if not isinstance(event, SocketClosed):
                return True  # (a writer's Drain: not about what this page reads)
            del self._held[key]
            self._released.discard(key)
            if event.code == CLOSE_PROTOCOL:
                # its device broke the protocol (a writer past its window is cut so): what
                # waits goes with it, and the page hears the close at once
                for e in held:
                    if type(e) is Messages:
                        self._dropped(handle, socket, e.size)
                return True
            for e in held:  # the socket closed: what it carried goes first, its close last
                self._show(handle, e)
            return True
        if kind is Messages:
            shown = socket.shown.get(handle.id, 0)
            if shown >= limits.WINDOW:
                self._held[(handle.id, socket)] = (handle, deque((event,)))
                return False
            socket.shown[handle.id] = shown + event.size  # type: ignore[union-attr]
        return True

    def _show(self, handle: SwarmHandle, event: HandleEvent) -> None:
        """Hand over ``event``, which waited for the page's window."""
        if type(event) is Messages:
            socket = event.socket
            socket.shown[handle.id] = socket.shown.get(handle.id, 0) + event.size
        self._hand_over(handle, event)

    def _release(self) -> None:
        """What the pages' consumption made room for goes on, in order."""
        released, self._released = self._released, set()
        for key in released:
            entry = self._held.get(key)
            if entry is None:
                continue
            handle, held = entry
            shown = key[1].shown
            while held and (type(held[0]) is not Messages or shown.get(handle.id, 0) < limits.WINDOW):
                self._show(handle, held.popleft())
            if not held:
                del self._held[key]

    def _forget_held(self, handle: SwarmHandle) -> None:
        for key in [k for k in self._held if k[0] == handle.id]:
            del self._held[key]
            self._released.discard(key)

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
            self._schedule(self.dispatch)


class Observers:
    """Callbacks told, once per loop turn at most, that the core's state changed."""

    def __init__(self, schedule: Soon) -> None:
        """``schedule(fn)`` runs ``fn`` later in a core turn (the core passes
        ``Turns.after``: once the turn's batches to the pages have left)."""
        self._schedule = schedule
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
        """Something changed: notify the observers later in this turn, or the next (once)."""
        if self._scheduled or not self._callbacks:
            return
        self._scheduled = True
        self._schedule(self._notify)

    def _notify(self) -> None:
        self._scheduled = False
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:
                log.exception("a core observer raised")
