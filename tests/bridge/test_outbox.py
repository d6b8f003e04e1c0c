"""What the bridge sends one page (bridge/outbox.py), without Qt: events leave in
order, in batches small enough not to hold the GUI thread, never more than the page
can read, and drains that a newer one supersedes never pile up."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bridge import wire
from bridge.outbox import MAX_CHARS, MAX_ERRORS_WAITING, MAX_ITEMS, RUN_ITEM_CHARS, Outbox


class Page:
    """The receiving end: every batch as the page parses it, and the flushes asked for."""

    def __init__(self) -> None:
        self.batches: list[list[list[Any]]] = []
        self.asked = 0  # times the outbox asked for a flush at the end of the turn
        self.outbox = Outbox(self._emit, self._schedule)

    def _emit(self, text: str) -> None:
        self.batches.append(json.loads(text))

    def _schedule(self) -> None:
        self.asked += 1

    def turn(self) -> list[list[Any]] | None:
        """The end of one turn: the flush; what the page got from it (None: nothing)."""
        before = len(self.batches)
        self.outbox.flush()
        assert len(self.batches) - before <= 1, "one batch per flush at most"
        return self.batches[-1] if len(self.batches) > before else None

    def read_all(self) -> list[list[Any]]:
        """Run turns, reading each batch at once (``seen``), until nothing is left."""
        items: list[list[Any]] = []
        while (batch := self.turn()) is not None:
            items += batch
            self.outbox.page_saw(self.outbox.sent)
        return items


def message(n: int, size: int = 8) -> list[Any]:
    return ["m", 1, "ab" * 32, str(n).rjust(size, "0")]


def drain(peer: str, unread: int, writes: int) -> list[Any]:
    return ["d", 1, peer * 64, unread, writes]


def test_events_wait_for_the_end_of_the_turn_and_leave_together_in_order() -> None:
    """Everything one turn has for a page is one channel message, in the order it happened."""
    page = Page()
    items = [["c", 1, {"id": "ab" * 32}], message(1), ["x", 1, "ab" * 32, 1000, "bye", True]]
    for item in items:
        page.outbox.put(item)
    assert page.batches == []  # nothing is sent where it is queued
    assert page.asked == 1  # one flush asked for, however many items
    assert page.turn() == items
    assert len(page.outbox) == 0 and page.turn() is None


def test_a_batch_holds_at_most_max_items() -> None:
    """However much piled up, no single batch makes the page (or the GUI thread) chew
    on more than MAX_ITEMS events; the rest follows in the next turns, in order."""
    page = Page()
    n = 2 * MAX_ITEMS + 10
    for i in range(n):
        page.outbox.put(message(i))
    first = page.turn()
    assert first is not None and len(first) == MAX_ITEMS
    assert page.asked == 2  # the rest asked for another turn by itself
    page.outbox.page_saw(1)
    assert first + page.read_all() == [message(i) for i in range(n)]
    assert [len(b) for b in page.batches] == [MAX_ITEMS, MAX_ITEMS, 10]


def test_a_batch_holds_about_max_chars_of_messages_and_an_oversize_one_still_goes() -> None:
    """Message payloads are bounded per batch (the last one may cross the line); a
    single message larger than the bound is never stuck: it goes alone."""
    page = Page()
    step = MAX_CHARS // 5 + 1  # five of these cross MAX_CHARS
    sizes = [step] * 10 + [3 * MAX_CHARS, 10, 10]
    for i, size in enumerate(sizes):
        page.outbox.put(message(i, size))
    got = page.read_all()
    assert got == [message(i, size) for i, size in enumerate(sizes)]
    for batch in page.batches:
        chars = [len(item[3]) for item in batch]
        assert sum(chars[:-1]) < MAX_CHARS  # only the item that crossed the line is past it
    assert [len(b) for b in page.batches] == [5, 5, 1, 2]
    assert page.batches[2] == [message(10, 3 * MAX_CHARS)]  # the oversize one, alone


def test_a_newer_drain_replaces_the_waiting_one_and_everything_else_keeps_its_order() -> None:
    """A page behind on its events never gets a pile of stale drains: only the newest
    state of each socket goes, after what came before it; nothing else moves."""
    page = Page()
    page.outbox.put(message(1))
    page.outbox.put(drain("a", 300, 3))
    page.outbox.put(drain("b", 70, 1))
    page.outbox.put(message(2))
    page.outbox.put(["w", 1, "aa" * 32, {"code": "ERR_SOCKET_CLOSED"}])
    page.outbox.put(drain("a", 100, 4))
    assert len(page.outbox) == 5
    assert page.turn() == [
        message(1),
        drain("b", 70, 1),
        message(2),
        ["w", 1, "aa" * 32, {"code": "ERR_SOCKET_CLOSED"}],
        drain("a", 100, 4),  # where the newer one was put: after the refusal it counts
    ]
    page.outbox.page_saw(1)
    page.outbox.put(drain("a", 0, 4))  # the older one was sent: this one is simply next
    assert page.turn() == [drain("a", 0, 4)]


def test_a_drain_left_for_the_next_batch_is_still_replaced() -> None:
    """After a batch that took only part of what waited, the drains still waiting are
    still found (and those already sent are not touched)."""
    page = Page()
    page.outbox.put(drain("a", 500, 1))  # goes in the first batch
    for i in range(MAX_ITEMS + 5):
        page.outbox.put(message(i))
    page.outbox.put(drain("b", 400, 1))  # waits for the second batch
    first = page.turn()
    assert first is not None and first[0] == drain("a", 500, 1) and len(first) == MAX_ITEMS
    page.outbox.put(drain("b", 200, 2))
    page.outbox.put(drain("a", 100, 2))
    page.outbox.page_saw(1)
    assert page.turn() == [
        *[message(i) for i in range(MAX_ITEMS - 1, MAX_ITEMS + 5)],
        drain("b", 200, 2),
        drain("a", 100, 2),
    ]


def test_a_page_behind_on_its_events_is_sent_no_more_until_it_reads() -> None:
    """At most EVENT_BATCHES_IN_FLIGHT batches are unread by the page: a page that is
    busy (or throttled) gets the rest once it says it read them, and not before."""
    page = Page()
    n = wire.EVENT_BATCHES_IN_FLIGHT
    for i in range(n):
        page.outbox.put(message(i))
        assert page.turn() == [message(i)]
    page.outbox.put(message(n))
    asked = page.asked
    assert page.turn() is None  # behind: it waits here
    assert len(page.outbox) == 1
    page.outbox.page_saw(0)  # a page cannot go back
    assert page.asked == asked and page.turn() is None
    page.outbox.page_saw(1)  # it read the first one
    assert page.asked == asked + 1  # which asks for a flush by itself
    assert page.turn() == [message(n)]
    assert page.turn() is None
    # saying it read more than was sent counts as all that was sent (a page whose own
    # `hello` restarted the counts), never more: it cannot talk its way past the bound
    page.outbox.page_saw(10**6)
    got = []
    for i in range(n + 1):
        page.outbox.put(message(100 + i))
        got.append(page.turn())
    assert got == [[message(100 + i)] for i in range(n)] + [None]


def test_the_run_count_rides_with_the_next_batch() -> None:
    """The page learns how many of its batches ran (``["p", n]``) without a channel
    message of its own while there is a batch anyway."""
    page = Page()
    page.outbox.batch_ran()
    page.outbox.batch_ran()
    assert page.asked == 0 and page.turn() is None  # not worth a message on its own yet
    page.outbox.put(message(1))
    assert page.turn() == [["p", 2], message(1)]
    page.outbox.page_saw(1)
    page.outbox.put(message(2))
    assert page.turn() == [message(2)]  # told already: not repeated


def test_the_run_count_goes_alone_once_the_page_may_be_waiting_for_it() -> None:
    """A page that sent half its allowance (PAGE_BATCHES_IN_FLIGHT) of batches and has
    nothing coming back is told they ran, or it would stop sending; even when it is
    behind on its events (else each side would wait for the other)."""
    page = Page()
    half = wire.PAGE_BATCHES_IN_FLIGHT // 2
    for _ in range(half - 1):
        page.outbox.batch_ran()
    assert page.asked == 0
    page.outbox.batch_ran()
    assert page.asked == 1
    assert page.turn() == [["p", half]]
    page.outbox.page_saw(1)
    # behind on its events: items wait, the count still goes
    for i in range(wire.EVENT_BATCHES_IN_FLIGHT):
        page.outbox.put(message(i))
        page.turn()
    page.outbox.put(message(99))
    for _ in range(half):
        page.outbox.batch_ran()
    assert page.turn() == [["p", 2 * half]]
    assert len(page.outbox) == 1  # the message waits for the page to read


def test_the_count_the_page_knows_is_the_one_in_the_last_batch_it_says_it_read() -> None:
    """``known``: the run count in the last of the batches the page's ``seen`` covers,
    whether it rode with items or went alone; not a count sent but not read yet, and
    a ``seen`` past what was sent covers only what was sent. A new document starts
    from nothing."""
    page = Page()
    for _ in range(3):
        page.outbox.batch_ran()
    page.outbox.put(message(1))
    assert page.turn() == [["p", 3], message(1)]
    assert page.outbox.known == 0  # sent, not read
    for _ in range(wire.PAGE_BATCHES_IN_FLIGHT // 2):
        page.outbox.batch_ran()
    page.outbox.put(message(2))
    assert page.turn() == [["p", 7], message(2)]
    page.outbox.page_saw(1)
    assert page.outbox.known == 3
    page.outbox.put(message(3))
    assert page.turn() == [message(3)]  # no new count: batch 3 tells 7 still
    page.outbox.page_saw(99)
    assert page.outbox.seen == 3 and page.outbox.known == 7
    page.outbox.page_saw(2)  # never backwards
    assert page.outbox.known == 7
    page.outbox.restart()
    assert page.outbox.known == 0 and page.outbox.seen == 0


def test_a_page_that_never_says_it_read_knows_no_count() -> None:
    """Counts that went alone to a page behind on its events still count as unread
    until its ``seen`` says otherwise."""
    page = Page()
    half = wire.PAGE_BATCHES_IN_FLIGHT // 2
    for _ in range(3):
        for _ in range(half):
            page.outbox.batch_ran()
        assert page.turn() is not None
    assert page.outbox.sent == 3 and page.outbox.known == 0
    page.outbox.page_saw(2)
    assert page.outbox.known == 2 * half


def test_nothing_goes_after_close() -> None:
    """A page that went away gets nothing more, whatever was waiting or arrives."""
    page = Page()
    page.outbox.put(message(1))
    page.outbox.close()
    page.outbox.put(message(2))
    for _ in range(wire.PAGE_BATCHES_IN_FLIGHT):
        page.outbox.batch_ran()
    assert page.turn() is None
    assert page.batches == [] and len(page.outbox) == 0


@pytest.mark.parametrize("n", [1, MAX_ITEMS, MAX_ITEMS + 1, 3 * MAX_ITEMS - 1])
def test_every_item_arrives_once_in_order_whatever_the_batching(n: int) -> None:
    """Splitting into batches never loses, repeats or reorders an item."""
    page = Page()
    for i in range(n):
        page.outbox.put(message(i))
        if i % 97 == 0:  # flushes in the middle of the stream, too
            page.turn()
            page.outbox.page_saw(page.outbox.sent)
    page.read_all()
    got = [item for batch in page.batches for item in batch]
    assert got == [message(i) for i in range(n)]


def test_refusals_for_a_page_that_never_reads_do_not_pile_up() -> None:
    """Only a page that calls the channel itself is refused batches; if it never reads
    its events either, at most MAX_ERRORS_WAITING refusals wait for it, the rest are
    counted, and what else waits for it (its messages) is kept."""
    page = Page()
    n = wire.EVENT_BATCHES_IN_FLIGHT
    for i in range(n):
        page.outbox.put(message(i))
        page.turn()  # the page never says it read them: it is behind from now on
    page.outbox.put(message(n))
    for i in range(10 * MAX_ERRORS_WAITING):
        page.outbox.put(["E", {"code": "ERR_TOO_MANY", "message": f"refused {i}", "name": "RangeError"}])
    assert page.turn() is None
    assert len(page.outbox) == 1 + MAX_ERRORS_WAITING
    assert page.outbox.errors_dropped == 9 * MAX_ERRORS_WAITING
    page.outbox.page_saw(n)
    got = page.turn()
    assert got is not None and got[0] == message(n) and len(got) == 1 + MAX_ERRORS_WAITING


def test_messages_of_one_socket_that_follow_each_other_leave_as_one_m_item() -> None:
    """A socket's messages queued one after the other go as ``["M", handle, peer,
    [b64, ...]]`` (the peer id once), at most ``wire.MAX_RUN`` each; another socket,
    or any other item between them, starts a new one; the page reads them in order."""
    page = Page()
    a, b = "aa" * 32, "bb" * 32
    for i in range(3):
        page.outbox.put_message(1, a, f"a{i}")
    page.outbox.put_message(1, b, "b0")
    page.outbox.put_message(1, a, "a3")
    page.outbox.put(drain("a", 10, 4))
    page.outbox.put_message(1, a, "a4")
    page.outbox.put_message(2, a, "other handle")
    for i in range(wire.MAX_RUN + 2):
        page.outbox.put_message(1, b, f"b{i + 1}")
    got = page.read_all()
    assert got[:6] == [
        ["M", 1, a, ["a0", "a1", "a2"]],
        ["m", 1, b, "b0"],
        ["m", 1, a, "a3"],
        drain("a", 10, 4),
        ["m", 1, a, "a4"],
        ["m", 2, a, "other handle"],
    ]
    assert got[6:] == [
        ["M", 1, b, [f"b{i + 1}" for i in range(wire.MAX_RUN)]],
        ["M", 1, b, [f"b{wire.MAX_RUN + 1}", f"b{wire.MAX_RUN + 2}"]],
    ]


def test_a_batch_counts_the_messages_of_its_m_items_against_max_items() -> None:
    """However messages are grouped, a batch carries about MAX_ITEMS of them (a run
    that crosses the line goes whole), and all of them arrive in order."""
    page = Page()
    n = 3 * MAX_ITEMS
    for i in range(n):
        page.outbox.put_message(1, "ab" * 32, str(i))
    got = page.read_all()
    assert [b64 for item in got for b64 in item[3]] == [str(i) for i in range(n)]
    for batch in page.batches:
        assert sum(len(item[3]) for item in batch) < MAX_ITEMS + wire.MAX_RUN


def test_only_small_messages_join_a_run_so_a_batch_stays_near_max_chars() -> None:
    """A large message goes as an ``m`` item of its own, before and after a run: a run
    of wire.MAX_RUN small ones is at most about MAX_CHARS, so joining never makes a
    batch to the page much larger than MAX_CHARS."""
    from bridge.outbox import RUN_ITEM_CHARS

    page = Page()
    peer = "ab" * 32
    small, large = "s" * RUN_ITEM_CHARS, "L" * (RUN_ITEM_CHARS + 1)
    for b64 in [large, small, small, large, large, small]:
        page.outbox.put_message(1, peer, b64)
    got = page.read_all()
    assert got == [
        ["m", 1, peer, large],
        ["M", 1, peer, [small, small]],
        ["m", 1, peer, large],
        ["m", 1, peer, large],
        ["m", 1, peer, small],
    ]
    assert RUN_ITEM_CHARS * wire.MAX_RUN <= MAX_CHARS


# a socket's messages as the bridge hands them over: runs of base64 texts, most small,
# some past RUN_ITEM_CHARS (they never join an M item), between drains and other sockets
_text = st.one_of(st.just("AAAA"), st.just("x" * (RUN_ITEM_CHARS + 1)))
_step = st.one_of(
    st.tuples(
        st.just("run"),
        st.sampled_from([(1, "aa"), (1, "bb"), (2, "aa")]),
        st.lists(st.just("AAAA"), max_size=300)
        | st.lists(st.just("AAAA"), min_size=100, max_size=300)  # (past an M item's 128)
        | st.lists(_text, max_size=300),  # all small, or not
    ),
    st.tuples(st.just("one"), st.sampled_from([(1, "aa"), (1, "bb")]), _text),
    st.tuples(st.just("drain"), st.sampled_from([(1, "aa"), (2, "aa")]), st.integers(0, 9)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, max_size=12))
@example([("one", (1, "aa"), "AAAA"), ("run", (1, "aa"), ["AAAA"] * 200)])  # an m item, then past 128
@example([("run", (1, "aa"), ["AAAA"] * 3), ("run", (1, "aa"), ["AAAA"] * 300)])  # an M item, then past it
def test_a_run_of_messages_put_together_makes_the_items_put_one_by_one_make(steps):
    """``put_messages`` (a ``Messages`` event's run) leaves the outbox as that many
    ``put_message`` calls would: the same ``m`` and ``M`` items, in the same order."""
    together, one_by_one = Page(), Page()
    for kind, (handle, peer), value in steps:
        for page in (together, one_by_one):
            if kind == "drain":
                page.outbox.put(["d", handle, peer, value, value])
            elif kind == "one":
                page.outbox.put_message(handle, peer, value)
        if kind == "run":
            together.outbox.put_messages(handle, peer, list(value))
            for text in value:
                one_by_one.outbox.put_message(handle, peer, text)
    assert together.outbox._items == one_by_one.outbox._items
    assert together.turn() == one_by_one.turn()
