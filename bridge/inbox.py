"""What comes from one page: its batches waiting to be run, and the flow control it keeps.

Qt-free, the counterpart of ``bridge/outbox.py``. A page's batches wait here until the
core's turns run them (``PageBridge.run_slice``), bounded in batches and characters. The
page keeps to the channel's flow control, and this is where it is held to it:

- **In flight**: peersocket.js sends a batch only while fewer than
  ``wire.PAGE_BATCHES_IN_FLIGHT`` of its batches are past the last run count it read
  (``["p", n]``, sent by the outbox). A batch that arrives past the count it was told,
  or that would run past the count its ``seen`` says it read, comes from a page calling
  the channel itself: :class:`ChannelFlood` is raised, and the bridge cuts the page off.
  The first check sees the batches that pile up unrun, the second any others, however
  slowly they came.
- **A budget**: ``BATCH_RATE`` batches a second, ``BATCH_BURST`` at once. Past it the
  run counts are withheld (:meth:`Inbox.batch_ran` says when to :meth:`Inbox.release` them):
  peersocket.js then waits, with its writes, and a page that does not goes past what it
  may have in flight. Each channel message costs QWebChannel time on the GUI thread,
  every page's time, before the bridge sees it.
- **Documents**: a new document's counts start at its first batch, which says
  ``hello`` with the document's token; seen as it arrives (peersocket.js's first batch
  starts with it), so the new document's batches are not counted on top of what the
  old one had in flight. A page starts at most ``DOCUMENT_RATE`` documents a second
  (``DOCUMENT_BURST`` at once); one saying hello with new tokens faster calls the
  channel itself, and would otherwise start its counts afresh with every batch.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from bridge import wire
from bridge.outbox import Outbox
from swarm.errors import PeerSocketError

#: Batches (and characters) a page may have waiting to be run. A page using
#: peersocket.js never has more than ``wire.PAGE_BATCHES_IN_FLIGHT``; past these, a page
#: calling the channel itself has its batches refused (a second line: such a page is
#: cut off before).
MAX_BATCHES = 64
MAX_CHARS = 64 * 1024 * 1024
#: A page's budget of channel messages: batches a second, and the burst.
BATCH_RATE = 2000.0
BATCH_BURST = 2000.0
#: New documents a page may start: a second, and the burst (a page load takes longer).
DOCUMENT_RATE = 10.0
DOCUMENT_BURST = 10.0


class Budget:
    """A token bucket: ``rate`` a second, at most ``burst`` at once, full at first."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = burst
        self._at = clock()

    def take(self) -> bool:
        """One token, if there is one."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def wait(self) -> float:
        """Seconds until the next token (at least a millisecond)."""
        return max(0.001, (1 - self._tokens) / self.rate)


class ChannelFlood(Exception):
    """The page went past what it may have in flight; the message says how."""


class Inbox:
    """One page's batches from the channel, waiting to be run (see the module's docstring)."""

    def __init__(self, outbox: Outbox, clock: Callable[[], float] = time.monotonic) -> None:
        """``outbox`` is the page's: it says what the page was told and read, and is told
        which batches ran. ``clock()`` is in seconds (the budget's)."""
        self._outbox = outbox
        self._clock = clock
        self._batches: deque[str] = deque()
        self.chars = 0  # characters waiting
        self.received = 0  # batches this document sent
        self.ran = 0  # of them, run
        self._budget = Budget(BATCH_RATE, BATCH_BURST, clock)
        self._documents = Budget(DOCUMENT_RATE, DOCUMENT_BURST, clock)
        self._document: str | None = None  # the token of the last document seen arriving
        self.withheld = 0  # batches run whose count waits for the budget
        self.withheld_total = 0  # batches whose count waited for the budget, ever

    def __len__(self) -> int:
        return len(self._batches)

    def put(self, batch: str) -> None:
        """A batch arrived: it waits to be run. Raises :class:`ChannelFlood` past what the
        page was told it may send (or past its budget of new documents),
        ``PeerSocketError`` (``ERR_TOO_MANY``) when the inbox is full; the batch is not
        kept then."""
        token = wire.hello_token(batch)
        if token is not None and token != self._document:
            if not self._documents.take():
                raise ChannelFlood(f"more than {DOCUMENT_BURST:g} new documents at once")
            self._document = token
            self.received = 0  # this document's first batch
        self.received += 1
        told = self._outbox.ran_told
        if self.received > told + wire.PAGE_BATCHES_IN_FLIGHT:
            raise ChannelFlood(f"{self.received - told} batches arrived past the {told} it was told ran")
        if len(self._batches) >= MAX_BATCHES or self.chars + len(batch) > MAX_CHARS:
            # only a page that calls the channel itself gets here (peersocket.js waits)
            raise PeerSocketError.too_many("batches waiting to be run", MAX_BATCHES)
        self._batches.append(batch)
        self.chars += len(batch)

    def pop(self) -> str:
        """The next batch to run (there is one: see ``len()``)."""
        batch = self._batches.popleft()
        self.chars -= len(batch)
        return batch

    def check(self, ops: Iterable[wire.Op | wire.BadOp], document: str | None) -> None:
        """The batch about to run holds ``ops``: raises :class:`ChannelFlood` if the page
        could not have sent it. Its ``seen`` says which of the outbox's batches the page
        had read, so which run count it knew (``Outbox.known``), and peersocket.js sends
        no batch more than ``PAGE_BATCHES_IN_FLIGHT`` past that. A batch saying
        ``hello`` with a token other than ``document``'s (the current one) starts a new
        document's counts: not checked."""
        seen = -1
        for op in ops:
            if type(op) is wire.Op:
                if op.name == "hello" and op.args[0] != document:
                    return
                if op.name == "seen":
                    seen = max(seen, op.args[0])
        if seen >= 0:
            self._outbox.page_saw(seen)  # (again when the op runs: no change then)
        allowed = self._outbox.known + wire.PAGE_BATCHES_IN_FLIGHT
        if self.ran >= allowed:
            raise ChannelFlood(f"its batch {self.ran + 1} came when it could have sent {allowed}")

    def batch_ran(self) -> float | None:
        """A batch ran: the outbox tells the page, as the budget allows. When it does not,
        the seconds after which to call :meth:`release` (None if a release is due already)."""
        self.ran += 1
        if not self.withheld and self._budget.take():
            self._outbox.batch_ran()
            return None
        self.withheld += 1
        self.withheld_total += 1
        return self._budget.wait() if self.withheld == 1 else None

    def release(self) -> float | None:
        """The outbox tells the page of the withheld batches the budget allows now; the
        seconds until the next call if some still wait."""
        while self.withheld and self._budget.take():
            self.withheld -= 1
            self._outbox.batch_ran()
        return self._budget.wait() if self.withheld else None

    def clear(self) -> None:
        """Nothing waiting is run (the document went away, or the page)."""
        self._batches.clear()
        self.chars = 0

    def restart(self, received: int = 0) -> None:
        """A new document's counts (or none): ``received`` of its batches are here already."""
        self.received = received
        self.ran = 0
        self.withheld = 0
