"""bridge/inbox.py: a page's batches waiting to be run, and the flow control it keeps.

Qt-free: a real Outbox on the other side (what the page was told and read), a clock the
test moves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge import inbox as bridge_inbox
from bridge import wire
from bridge.inbox import ChannelFlood, Inbox
from bridge.outbox import Outbox
from swarm.errors import PeerSocketError

IN_FLIGHT = wire.PAGE_BATCHES_IN_FLIGHT


class Page:
    """The bridge's side of one page (its inbox and outbox), what the page got, the clock."""

    def __init__(self) -> None:
        self.now = 100.0
        self.got: list[list[Any]] = []
        self.outbox = Outbox(lambda text: self.got.extend(json.loads(text)), lambda: None)
        self.inbox = Inbox(self.outbox, clock=lambda: self.now)
        self.document: str | None = None  # the bridge's current document's token

    def run_all(self) -> None:
        """Run every waiting batch as the bridge does: checked, then counted."""
        while len(self.inbox):
            self.inbox.check(wire.parse_batch(self.inbox.pop()), self.document)
            self.inbox.batch_ran()

    def told(self) -> int:
        """The run count the page was last sent (the end of the bridge's turn)."""
        self.outbox.flush()
        counts = [item[1] for item in self.got if item[0] == "p"]
        return counts[-1] if counts else 0

    def read(self) -> None:
        """The page read every batch the bridge sent (its next batch says so)."""
        self.outbox.page_saw(self.outbox.sent)


def test_batches_wait_in_order_and_count_their_characters() -> None:
    page = Page()
    for text in ("[]", '[["seen", 0]]', "[ ]"):
        page.inbox.put(text)
    assert len(page.inbox) == 3 and page.inbox.chars == 2 + 13 + 3
    assert [page.inbox.pop() for _ in range(3)] == ["[]", '[["seen", 0]]', "[ ]"]
    assert page.inbox.chars == 0


def test_a_batch_past_the_count_the_page_was_told_is_a_flood_and_is_not_kept() -> None:
    """peersocket.js never has more than PAGE_BATCHES_IN_FLIGHT past the run count it was
    told: the next one comes from a page calling the channel itself."""
    page = Page()
    for _ in range(IN_FLIGHT):
        page.inbox.put("[]")
    with pytest.raises(ChannelFlood, match="past the 0 it was told ran"):
        page.inbox.put("[]")
    assert len(page.inbox) == IN_FLIGHT
    page.run_all()
    page.read()
    assert page.told() == IN_FLIGHT  # told: as many again may come
    page.inbox.restart()  # (a new document: its counts start again)
    page.outbox.restart()
    for _ in range(IN_FLIGHT):
        page.inbox.put("[]")


def test_a_full_inbox_refuses_a_batch_and_takes_one_that_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge_inbox, "MAX_CHARS", 10)
    page = Page()
    page.inbox.put("[1,2,3,4]")  # 9 characters
    with pytest.raises(PeerSocketError) as refused:
        page.inbox.put("[1,2]")
    assert refused.value.code == "ERR_TOO_MANY"
    page.inbox.put("1")  # one more character fits
    assert len(page.inbox) == 2 and page.inbox.chars == 10


def test_a_batch_runs_only_within_the_count_the_page_says_it_read() -> None:
    """However slowly a page's batches come (each run and told before the next
    arrives), one more than PAGE_BATCHES_IN_FLIGHT past the count in the batches its
    ``seen`` says it read is a flood; with ``seen`` in the same batch, it is not."""
    page = Page()
    for _ in range(IN_FLIGHT):
        page.inbox.put("[]")
        page.run_all()
        page.told()  # told as they run: their arrivals never go past that count
    page.inbox.put("[]")
    with pytest.raises(ChannelFlood, match=f"batch {IN_FLIGHT + 1} came when it could have sent {IN_FLIGHT}"):
        page.inbox.check(wire.parse_batch(page.inbox.pop()), None)
    # the same batch from a page that says what it read
    page.inbox.put(json.dumps([["seen", page.outbox.sent]]))
    page.run_all()
    assert page.inbox.ran == IN_FLIGHT + 1


def test_a_batch_that_says_hello_for_a_new_document_is_not_checked() -> None:
    """A new document's first batch: its counts start in it (PageBridge._hello). The
    current document's hello again is checked like any batch."""
    page = Page()
    page.inbox.ran = 10 * IN_FLIGHT
    page.inbox.check(wire.parse_batch('[["hello","a new document"]]'), "the old one")
    with pytest.raises(ChannelFlood):
        page.inbox.check(wire.parse_batch('[["hello","the old one"]]'), "the old one")


def test_a_new_document_is_counted_from_its_first_batch_as_it_arrives() -> None:
    """A page reloaded while its old document had batches run and not told (it no longer
    reads): the new document's first batches arrive before the bridge runs its hello, and
    are counted as its own, not on top of the old document's."""
    page = Page()
    page.inbox.put('[["hello","old"]]')
    for _ in range(2):
        page.inbox.put("[]")
    page.run_all()
    assert page.told() == 0  # 3 ran, none told: a count goes alone only once 4 are due
    page.inbox.put('[["hello","new"],["join",1,"room"]]')
    for _ in range(IN_FLIGHT - 1):
        page.inbox.put("[]")
    assert page.inbox.received == IN_FLIGHT and len(page.inbox) == IN_FLIGHT
    with pytest.raises(ChannelFlood):
        page.inbox.put("[]")  # still: no more than it may have in flight


def test_a_page_starting_documents_faster_than_pages_load_is_a_flood() -> None:
    """Every new document's counts start afresh, so a page saying hello with new tokens
    would never go past what it may have in flight: it may start DOCUMENT_BURST at once."""
    page = Page()
    for i in range(int(bridge_inbox.DOCUMENT_BURST)):
        page.inbox.put(f'[["hello","doc{i}"]]')
        page.inbox.pop()
    last = int(bridge_inbox.DOCUMENT_BURST) - 1
    page.inbox.put(f'[["hello","doc{last}"]]')  # (the last one's token again: not a new document)
    with pytest.raises(ChannelFlood, match="new documents"):
        page.inbox.put('[["hello","one more"]]')
    page.now += 0.25  # a page load later
    page.inbox.put('[["hello","one more"]]')


def test_past_its_budget_a_page_is_told_its_batches_ran_only_as_the_budget_refills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bridge_inbox, "BATCH_RATE", 4.0)  # (binary fractions: exact)
    monkeypatch.setattr(bridge_inbox, "BATCH_BURST", 3.0)
    page = Page()
    waits = []
    for _ in range(6):
        page.inbox.put("[]")
        page.inbox.pop()
        waits.append(page.inbox.batch_ran())
    assert waits[:3] == [None, None, None]  # the burst
    assert waits[3] == 0.25  # the first withheld: when to release
    assert waits[4:] == [None, None]  # a release is due already
    assert page.outbox.ran == 3 and page.inbox.withheld == 3  # what the page may be told
    page.now += 0.5  # two batches' worth
    assert page.inbox.release() == 0.25
    assert page.outbox.ran == 5
    page.now += 0.25
    assert page.inbox.release() is None
    assert page.outbox.ran == 6 and page.inbox.withheld_total == 3
