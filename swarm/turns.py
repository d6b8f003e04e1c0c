"""Turns: how the core shares its thread (the Qt GUI thread, under qasync) fairly.

Work reaches the core from *sources*: each page (the batches of operations its bridge
received) and each link to another device (the bytes its transport delivered). A
source never does its work where it arrives; it says it is :meth:`Turns.ready`, and
the work runs in *turns*, one loop callback each:

1. every ready source runs one bounded slice of its work (:meth:`Source.run_slice`),
   round robin, so no page or device makes another wait behind more than one slice of
   its own work, however much it sent;
2. then the work those slices deferred (:meth:`Turns.soon`): credits, link flushes,
   in the order it was deferred; work deferred by that work runs in the same turn, so
   one page's write reaches the other page in one turn;
3. then what is best done once, after all of that (:meth:`Turns.late`): the event
   dispatch, so that a turn's messages and the drains its credits caused are
   dispatched together, not in two passes;
4. then what must see all of that first (:meth:`Turns.at_end`): the pages' flushes,
   so that everything one turn has for a page (a message and the drain of the page's
   own earlier write, say) leaves as one batch, one channel message;
5. last, what no page or device waits for (:meth:`Turns.after`): telling the browser's
   observers (the PeerSocket panel, the peers indicator of every window) that the
   core changed, once the batches have left, so the pages' renderers are already at
   work while the main thread does it.

Sources that were idle go first. A source that ran a slice in the turn before is
*busy* (a flood: a page's stream of batches, a link's stream of bytes); one that did
not is *fresh* (a ping, a chat message, the answer to one). When a turn has both, the
fresh sources' slices, their deferred work and its flushes (steps 1-5) run first, then
the busy sources' (1-5 again): a page's ping then leaves for the other page before
the flood's next slice and the flood reader's batch are made, not after them. Work
that does not fit the budget pushes the busy slices to the next turn, as below.

A turn ends there. If a source still has work, another turn is scheduled, and the loop
first handles what else is waiting (Qt's events: other pages' calls, painting, input).
Deferred work stops at ``TURN_BUDGET_S`` and goes on next turn; such a turn runs no
slices, so that new work never gets ahead of work already due (else a backlog of
deferred work could grow without bound while slices keep adding to it).

One loop callback per turn also replaces the many ``call_soon`` callbacks the core and
the bridges would otherwise make per message: under qasync each is a Qt timer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

log = logging.getLogger("peerbrowser.swarm")

#: Deferred work in one turn stops after this many seconds and goes on next turn (a
#: bound for the unexpected: slices are what keeps turns short).
TURN_BUDGET_S = 0.005
#: A source that had the last turn's slice and is ready again within this many seconds
#: of that turn's end is busy: it takes its next turn through the loop, never inline.
BUSY_GAP_S = 0.001


class Source(Protocol):
    """Something with work queued for the core (a page's bridge, a link)."""

    def run_slice(self) -> bool:
        """Do one bounded slice of the queued work; True if more is waiting."""


class Turns:
    """The core's scheduler on one event loop (see the module's docstring)."""

    def __init__(self, loop: Callable[[], asyncio.AbstractEventLoop], *, inline: bool = False) -> None:
        """``loop()`` gives the loop to schedule turns on. ``inline``: a source that says
        it is ready while nothing is queued or running gets its turn at once, inside
        :meth:`ready` (see there)."""
        self._loop = loop
        self.inline = inline
        self._ready: deque[Source] = deque()
        self._queued: set[int] = set()  # id() of the sources in _ready, or due in this turn
        self._soon: deque[Callable[[], None]] = deque()
        self._late: deque[Callable[[], None]] = deque()
        self._end: deque[Callable[[], None]] = deque()
        self._after: deque[Callable[[], None]] = deque()
        self._scheduled = False
        self.turns = 0  # turns run, for tests and benchmarks
        self._behind = False  # the last turn left deferred work undone
        self._busy: set[int] = set()  # id() of the sources that ran in the last turn with slices
        self._ended = 0.0  # time.perf_counter() at the end of the last turn
        self._running = False  # inside a turn: a source ready now waits for the next

    def ready(self, source: Source) -> None:
        """``source`` has work: it gets a slice next turn (once, however often it says so).

        With ``inline``, when no turn is scheduled or running, that turn runs now: the
        loop would run it next anyway, with this source alone, and the trip through the
        loop (a Qt timer under qasync) is most of a message's latency. It is still one
        turn: one slice, then its deferred work; the rest waits for a scheduled turn,
        behind what the loop has meanwhile.

        When a turn is already scheduled for busy sources (a flood), a source that had
        nothing queued runs its turn now all the same, ahead of them (:meth:`_ahead`):
        that scheduled turn would run it first anyway (idle sources go first), and its
        trip through the loop waits behind everything Chromium has queued for this
        thread meanwhile, the flood's next batches included (a quiet pair's round trip
        waited up to 9 ms for it beside a flood). Not while a turn has left deferred
        work undone: that goes first.

        Not for a busy source: one that had the last turn and is ready again within
        ``BUSY_GAP_S`` of its end (a page calling the channel back to back). Its turn
        goes through the loop, so what Qt has queued meanwhile (other pages' calls, its
        own next ones) is received first: a page that sends faster than its batches run
        then shows it as they arrive (it goes past the batches it may have in flight, and
        ``bridge/page.py`` cuts it off), where run inline one by one as they arrive, its
        batches would make every other page's call wait behind them in Chromium's
        queue, out of the turns' reach.
        """
        key = id(source)
        waiting = key in self._queued
        if not waiting:
            self._queued.add(key)
            self._ready.append(source)
        if (
            not self.inline
            or self._running
            or (key in self._busy and time.perf_counter() - self._ended <= BUSY_GAP_S)
        ):
            self._schedule()
        elif not self._scheduled:
            # idle: nothing else is queued for the core, so this turn is the one the loop
            # would run next anyway; running it now saves a trip through the loop
            self._scheduled = True
            self._turn()
        elif not waiting and not self._behind:
            self._ahead(source)
        # else the scheduled turn runs it: it was waiting already, or work is due first

    def _ahead(self, source: Source) -> None:
        """A turn of ``source`` alone (its slice, then the deferred work) while a turn is
        scheduled for the others, which stays scheduled for them (see :meth:`ready`)."""
        self._running = True
        self.turns += 1
        self._ready.remove(source)  # it runs now (it was not waiting: it is the last one)
        ran: set[int] = set()
        self._slices([source], ran)
        if not self._deferred():
            self._behind = True  # the scheduled turn runs no slices, only what is due
        self._busy |= ran  # busy until the next turn, as if it had the last one
        self._ended = time.perf_counter()
        self._running = False

    def soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in this turn's deferred work (the next turn's, outside a turn)."""
        self._soon.append(fn)
        self._schedule()

    def late(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once this turn's deferred work (``soon``) is done, before its end;
        what it defers with ``soon`` runs before the next ``late`` work (the next
        turn's, outside one)."""
        self._late.append(fn)
        self._schedule()

    def at_end(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once this turn's deferred work is done (the next turn's, outside one)."""
        self._end.append(fn)
        self._schedule()

    def after(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once this turn's end work is done, last (the next turn's, outside
        one): for what nobody waits for, after the pages' batches left."""
        self._after.append(fn)
        self._schedule()

    # ``call_soon`` as on a loop, for what was written against one (``fn`` takes no args)
    call_soon = soon

    def drop(self, source: Source) -> None:
        """``source`` is gone: no more slices for it."""
        key = id(source)
        if key in self._queued:
            self._queued.discard(key)
            self._ready = deque(s for s in self._ready if s is not source)

    def _schedule(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        try:
            self._loop().call_soon(self._turn)
        except RuntimeError:  # no loop, or a closed one: the core is being torn down
            self._scheduled = False

    def _turn(self) -> None:
        # _scheduled stays set while the turn runs: what it defers joins it
        self._running = True
        self.turns += 1
        due = [] if self._behind else list(self._ready)
        if due:
            # taken out of the queue at once; each stays in _queued until its slice, so a
            # ready() meanwhile does not queue it twice and a drop() still skips it
            self._ready.clear()
        fresh = [s for s in due if id(s) not in self._busy]
        busy = [s for s in due if id(s) in self._busy]
        ran: set[int] = set()
        if fresh and busy:
            # the fresh ones first, with what they defer; then the busy ones, if it fits
            self._slices(fresh, ran)
            if self._deferred():
                self._slices(busy, ran)
                self._deferred()
            else:
                ran.update(id(s) for s in busy)  # still busy next turn
                # and first in the queue, as they were
                self._ready.extendleft(reversed([s for s in busy if id(s) in self._queued]))
        else:
            self._slices(due, ran)
            self._deferred()
        if due:
            self._busy = ran
        self._behind = self._pending()
        self._ended = time.perf_counter()
        self._running = False
        self._scheduled = False
        if self._ready or self._behind:
            self._schedule()

    def _pending(self) -> bool:
        return bool(self._soon or self._late or self._end or self._after)

    def _slices(self, sources: Iterable[Source], ran: set[int]) -> None:
        """One slice each, in order, of sources already taken out of the queue; a source
        with more left joins the queue's end."""
        for source in sources:
            key = id(source)
            if key not in self._queued:  # dropped meanwhile
                continue
            self._queued.discard(key)
            ran.add(key)
            try:
                more = source.run_slice()
            except Exception:
                log.exception("a source failed in its slice; its work was dropped")
                more = False
            if more and key not in self._queued:
                self._queued.add(key)
                self._ready.append(source)

    def _deferred(self) -> bool:
        """Run deferred work, then late work, then end-of-turn work, then work for
        after it, until done (True) or ``TURN_BUDGET_S`` passed."""
        deadline = time.perf_counter() + TURN_BUDGET_S
        soon, late, end, after = self._soon, self._late, self._end, self._after
        while soon or late or end or after:
            if soon:
                fn = soon.popleft()
            elif late:
                fn = late.popleft()
            elif end:
                fn = end.popleft()
            else:
                fn = after.popleft()
            try:
                fn()
            except Exception:
                log.exception("deferred work failed")
            if time.perf_counter() > deadline:
                return not self._pending()
        return True
