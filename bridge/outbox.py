"""What goes from the bridge to one page: results and events, in bounded batches.

Qt-free. Items (bridge/wire.py lists them) wait here in order and leave as one
JSON batch per :meth:`flush`, run once at the end of the core's turn. A batch
leaves only while fewer than ``EVENT_BATCHES_IN_FLIGHT`` earlier ones are still
unread by the page (its ``seen`` op says how many it read): a page that is behind
is not sent more, and what waits for it waits here, where a drain that a newer one
supersedes is replaced in place (events the core coalesces never pile up either).
A batch holds at most about ``MAX_ITEMS`` messages and other items and about
``MAX_CHARS`` characters of messages (one item always fits), so no single emission
holds the GUI thread long. Messages of one socket that follow each other go as one
``M`` item (at most ``wire.MAX_RUN``): the peer id once, not once per message.

Each batch also tells the page how many of its own batches the bridge has run
(``["p", n]``), which is what lets the page send more (``PAGE_BATCHES_IN_FLIGHT``).
That count goes with the next batch there is anyway; on its own only once the page
may be waiting for it (half its allowance run and not reported). Which count the page
had read when it sent a batch follows from the ``seen`` that batch carries
(:attr:`Outbox.known`): a page keeping to its allowance never has more batches run
than that count and ``PAGE_BATCHES_IN_FLIGHT`` (``bridge/inbox.py`` holds it to that,
and the bridge cuts off a page that is not).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from bridge import wire

#: Items in one batch to the page, and characters of message payload (base64).
MAX_ITEMS = 512
MAX_CHARS = 512 * 1024
#: Only messages of at most this many characters (base64) join an ``M`` item: a run of
#: ``wire.MAX_RUN`` of them stays within MAX_CHARS, so a batch never goes much past it.
RUN_ITEM_CHARS = MAX_CHARS // wire.MAX_RUN
#: Refusals (``E`` items) waiting for a page at most: only a page that calls the
#: channel itself gets them, and one that never reads its events must not make them
#: pile up here. Past it they are counted (``errors_dropped``), not kept.
MAX_ERRORS_WAITING = 16


class Outbox:
    def __init__(self, emit: Callable[[str], None], schedule: Callable[[], None]) -> None:
        """``emit(text)`` sends one batch; ``schedule()`` asks for :meth:`flush` at the
        end of this turn (once per turn: the caller keeps it idempotent or not, see
        ``_scheduled``)."""
        self._emit = emit
        self._schedule = schedule
        self._items: list[list[Any] | None] = []  # None: a drain moved to a newer cell
        self._drains: dict[tuple[int, str], int] = {}  # (handle, peer) -> index in _items
        self._scheduled = False
        self.sent = 0  # batches emitted
        self.seen = 0  # of them, read by the page
        self.ran = 0  # the page's batches the bridge has run
        self._ran_told = 0  # the last count the page was told
        self._told: deque[int] = deque()  # the count each batch not seen yet told, in order
        self.known = 0  # the count the page had read by its last `seen`
        self.errors_dropped = 0  # E items past MAX_ERRORS_WAITING
        self.closed = False

    @property
    def ran_told(self) -> int:
        """The last count of its batches the page was told ran (it knows no more)."""
        return self._ran_told

    def __len__(self) -> int:
        return sum(1 for item in self._items if item is not None)

    def put(self, item: list[Any]) -> None:
        if self.closed:
            return
        if item[0] == "E" and self._errors_waiting() >= MAX_ERRORS_WAITING:
            self.errors_dropped += 1
            return
        if item[0] == "d":
            key = (item[1], item[2])
            index = self._drains.get(key)
            if index is not None:
                self._items[index] = None  # superseded: the newer state goes out, later
            self._drains[key] = len(self._items)
        self._items.append(item)
        self._want_flush()

    def put_message(self, handle: int, peer: str, b64: str | None) -> None:
        """An ``m`` item; joined to the item before it when that one is a message of the
        same socket (an ``M`` item, the messages in order), both small (RUN_ITEM_CHARS)."""
        items = self._items
        if items and not self.closed and b64 is not None and len(b64) <= RUN_ITEM_CHARS:
            last = items[-1]
            if last is not None and last[0] in ("m", "M") and last[1] == handle and last[2] == peer:
                if last[0] == "M":
                    if len(last[3]) < wire.MAX_RUN:
                        last[3].append(b64)
                        return  # (a flush is already asked for: the item waits)
                elif last[3] is not None and len(last[3]) <= RUN_ITEM_CHARS:
                    items[-1] = ["M", handle, peer, [last[3], b64]]
                    return
        self.put(["m", handle, peer, b64])

    def put_messages(self, handle: int, peer: str, texts: list[str]) -> None:
        """:meth:`put_message` for each of ``texts`` (a run of one socket), in order, with
        the same items as a result: the run's messages fill the ``M`` item before them,
        then ``M`` items of ``wire.MAX_RUN``, without a call per message when all are small."""
        if self.closed or len(texts) < 2 or max(map(len, texts)) > RUN_ITEM_CHARS:
            for text in texts:
                self.put_message(handle, peer, text)
            return
        items, most = self._items, wire.MAX_RUN
        start = 0
        last = items[-1] if items else None
        if last is not None and last[0] in ("m", "M") and last[1] == handle and last[2] == peer:
            if last[0] == "M":
                start = most - len(last[3])
                last[3].extend(texts[:start])
            elif last[3] is not None and len(last[3]) <= RUN_ITEM_CHARS:
                start = most - 1
                items[-1] = ["M", handle, peer, [last[3], *texts[:start]]]
        for at in range(start, len(texts), most):
            run = texts[at : at + most]
            self.put(["m", handle, peer, run[0]] if len(run) == 1 else ["M", handle, peer, run])

    def _errors_waiting(self) -> int:
        return sum(1 for i in self._items if i is not None and i[0] == "E")

    def batch_ran(self) -> None:
        """One of the page's batches has been run; tell it (see the module docstring)."""
        self.ran += 1
        if self.ran - self._ran_told >= wire.PAGE_BATCHES_IN_FLIGHT // 2:
            self._want_flush()

    def page_saw(self, n: int) -> None:
        """The page says it read ``n`` batches. Never fewer than it said before; more
        than were sent counts as all that were sent (a page that sent its own ``hello``
        restarted our counts, not its channel's): a page can never get ahead of
        ``EVENT_BATCHES_IN_FLIGHT`` unread."""
        n = min(n, self.sent)
        if n > self.seen:
            told = self._told
            for _ in range(n - self.seen):
                self.known = told.popleft()
            self.seen = n
            if self._items or self.ran != self._ran_told:
                self._want_flush()

    def restart(self, *, drop: bool = False) -> None:
        """A new document in the page: the counts start again (its channel starts them
        at zero); with ``drop``, what waits for the old one is dropped too."""
        if drop:
            self._items.clear()
            self._drains.clear()
        self.sent = self.seen = self.ran = self._ran_told = self.known = 0
        self._told.clear()

    def _sending(self) -> None:
        """A batch is about to leave: count it, with the count of runs it tells."""
        self.sent += 1
        self._told.append(self._ran_told)

    def close(self) -> None:
        self.closed = True
        self._items.clear()
        self._drains.clear()

    def _want_flush(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._schedule()

    def flush(self) -> None:
        """Send what may go now (one batch at most; another turn for the rest)."""
        self._scheduled = False
        if self.closed:
            return
        standalone = self.ran - self._ran_told >= wire.PAGE_BATCHES_IN_FLIGHT // 2
        if self.sent - self.seen >= wire.EVENT_BATCHES_IN_FLIGHT:
            # the page is behind: only the count it may be waiting for goes (else each
            # side would wait for the other: the page's `seen` waits behind its batches)
            if standalone:
                self._ran_told = self.ran
                self._sending()
                self._emit(wire.dumps([["p", self.ran]]))
            return
        items = self._items
        if not items and not standalone:
            return
        batch: list[list[Any]] = []
        if self.ran != self._ran_told:
            batch.append(["p", self.ran])
            self._ran_told = self.ran
        chars = 0
        taken = 0
        count = len(batch)
        for item in items:
            if count >= MAX_ITEMS or (chars and chars >= MAX_CHARS):
                break
            taken += 1
            if item is None:
                continue
            kind = item[0]
            if kind == "m":
                chars += len(item[3])
                count += 1
            elif kind == "M":
                chars += sum(map(len, item[3]))
                count += len(item[3])
            else:
                count += 1
            batch.append(item)
        if taken == len(items):
            items.clear()
            self._drains.clear()
        else:
            del items[:taken]
            self._drains = {k: i - taken for k, i in self._drains.items() if i >= taken}
        if not batch:
            return
        self._sending()
        self._emit(wire.dumps(batch))
        if self._items:
            self._want_flush()
