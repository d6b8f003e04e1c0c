"""Events for the handles of one core, and the observers of its state.

Events are never delivered from inside the call that caused them:
:class:`EventQueue` queues them and dispatches them on a later loop turn, in
order, so a listener may call back into the core freely. :class:`Observers`
hear, at most once per loop turn, that something a person may see has changed
(the PeerSocket panel reads ``SwarmCore.snapshot()`` then).

Both take ``soon``, the core's way to run work later in the loop turn
(``swarm.turns.Turns.soon``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from swarm.events import HandleEvent, SessionData, SwarmClosed
from swarm.presence import Membership, SwarmHandle

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
    peer setting its session data in a loop cannot flood a page.
    """

    def __init__(self, soon: Soon) -> None:
        self._soon = soon
        self._listeners: dict[int, Listener] = {}  # handle id -> listener
        self._queue: deque[list[Any]] = deque()  # [handle, event] cells
        # (handle id, socket id) -> the queued cell of a SessionData nothing followed yet
        self._session_cells: dict[tuple[int, int], list[Any]] = {}
        self._scheduled = False

    def __len__(self) -> int:
        """Events queued and not dispatched yet."""
        return len(self._queue)

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
        """Deliver everything queued, in order. A closed handle hears only its
        :class:`SwarmClosed`, after which its listener is forgotten."""
        self._scheduled = False
        queue, listeners = self._queue, self._listeners
        while queue:
            handle, event = queue.popleft()
            if isinstance(event, SessionData):
                self._session_cells.pop((handle.id, id(event.socket)), None)
            if handle.closed:
                if not isinstance(event, SwarmClosed):
                    continue
                listener = listeners.pop(handle.id, None)
            else:
                listener = listeners.get(handle.id)
            if listener is None:
                continue
            try:
                listener(handle, event)
            except Exception:
                log.exception("a swarm listener raised; the event was dropped for that handle")


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
