"""The core's turns as pages live them (issue 13): several pages' operations at once,
a page that goes away in the middle of its work, the core busy while a tab closes.

Most pages here are real QWebEnginePages with real PageBridges on a real SwarmCore,
driven from Python (:class:`PyPage`): each sends what peersocket.js would send
(bridge/wire.py) with ``bridge.send()``, and reads what the bridge emits as
peersocket.js does (it says which batches it read, and consumes every message). No
page script runs in them, so every batch is the test's own and every event is seen.
The last tests use real tabs running peersocket.js, to see the same from the page.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PyQt6.QtCore import QUrl
from PyQt6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

from bridge import inbox as bridge_inbox
from bridge import wire
from bridge.consent import AllowAll
from bridge.page import SLICE_OPS, attach_page
from swarm import turns as turns_module
from swarm.core import SwarmCore
from swarm.events import CLOSE_GOING_AWAY
from tests.browser.conftest import LOAD_TIMEOUT_MS, _delete_and_wait

pytestmark = pytest.mark.browser

LEFT = [CLOSE_GOING_AWAY, "the peer left the swarm", True]  # docs/API.md: 1001, cleanly


def wire_items(items: list[list[Any]]) -> list[list[Any]]:
    """The bridge's items as a page reads them: an ``M`` (messages of one socket) is
    that many ``m``."""
    out: list[list[Any]] = []
    for item in items:
        if item[0] == "M":
            out += [["m", item[1], item[2], b64] for b64 in item[3]]
        else:
            out.append(item)
    return out


class PyPage:
    """A page whose script is the test: a real page at ``peerapp://<name>/`` with
    its bridge, sending batches in the wire format and reading every event batch the
    bridge emits. Like peersocket.js, in its next task after a batch it says it read
    it (``seen``) and consumes the messages (``ack``). Like peersocket.js, it keeps
    at most PAGE_BATCHES_IN_FLIGHT batches past the last run count the bridge told it
    (``["p", n]``); more wait here (``send(raw=True)``: a page calling the channel
    itself)."""

    def __init__(
        self, qtbot: Any, profile: QWebEngineProfile, core: SwarmCore, aloop: Any, name: str, log: list[Any]
    ) -> None:
        self.name = name
        self.log = log  # shared by the test's pages: deliveries, slices, marks, in order
        self.page = QWebEnginePage(profile)
        with qtbot.waitSignal(self.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
            # no request leaves the process: this profile has no handler for the scheme
            self.page.setHtml(f"<title>{name}</title>", QUrl(f"peerapp://{name}/"))
        self.bridge = attach_page(self.page, core, gate=AllowAll())
        self.bridge.events.connect(self._on_events)
        self.gone = False
        self.page.destroyed.connect(self._destroyed)
        self._aloop = aloop
        self.items: list[list[Any]] = []  # every event, in order
        self.batches = 0  # event batches received
        self.reading = True  # answers each batch it got (else: a page that never reads)
        self.at_once = False  # answers in the batch's own task (else: in its next one)
        self._answer_queued = False
        self._consumed: dict[tuple[int, str], int] = {}
        self._req = 0
        self.handle = -1
        self.id = ""
        self._known: set[str] = set()  # peers in the join reply
        self.sent = 0  # batches sent to the bridge
        self.ran = 0  # of them, run: the bridge said so (["p", n])
        self._seen_sent = 0  # the last count of event batches read that the bridge was sent
        self._waiting: list[list[list[Any]]] = []  # batches held back by that allowance
        self.send([["hello", f"doc-{name}"]])

    # --- what the page sends -------------------------------------------------------------

    def send(self, ops: list[list[Any]], *, raw: bool = False) -> None:
        if raw:
            self.sent += 1
            self.bridge.send(json.dumps(ops))
            return
        if self._waiting or self.sent - self.ran >= wire.PAGE_BATCHES_IN_FLIGHT:
            self._waiting.append(ops)
            return
        self._send_now(ops)

    def _send_waiting(self) -> None:
        while self._waiting and self.sent - self.ran < wire.PAGE_BATCHES_IN_FLIGHT and not self.gone:
            self._send_now(self._waiting.pop(0))

    def _send_now(self, ops: list[list[Any]]) -> None:
        """As peersocket.js sends a batch: with the event batches read so far, when
        that count changed (the bridge holds the page to what it had read ran)."""
        if self.batches != self._seen_sent:
            ops = [*ops, ["seen", self.batches]]
            self._seen_sent = self.batches
        self.sent += 1
        self.bridge.send(json.dumps(ops))

    def request(self, op: str, *args: Any) -> int:
        """Send one op that gets a reply; its request id."""
        self._req += 1
        self.send([[op, self._req, *args]])
        return self._req

    def join(self, qtbot: Any, swarm: str) -> None:
        req = self.request("join", swarm)
        qtbot.waitUntil(lambda: self.reply(req) is not None, timeout=LOAD_TIMEOUT_MS)
        reply = self.reply(req)
        assert reply is not None and reply[2], reply
        self.handle, self.id = reply[3]["handle"], reply[3]["self"]
        self._known = {s["id"] for s in reply[3]["sockets"]}

    def writes(self, peer: PyPage, payloads: list[bytes], runs: bool = False) -> list[list[Any]]:
        """``socket.write()`` of each payload to ``peer``, as ops: one ``w`` each, or
        (``runs``) as peersocket.js sends writes that follow each other, ``W`` ops of
        up to ``wire.MAX_WRITES_PER_OP``."""
        b64 = [wire.b64(p) for p in payloads]
        if runs:
            n = wire.MAX_WRITES_PER_OP
            return [["W", self.handle, peer.id, b64[i : i + n]] for i in range(0, len(b64), n)]
        return [["w", self.handle, peer.id, m] for m in b64]

    # --- what the page got ---------------------------------------------------------------

    def reply(self, req: int) -> list[Any] | None:
        return next((i for i in self.items if i[0] == "r" and i[1] == req), None)

    def messages(self) -> list[bytes]:
        return [base64.b64decode(i[3]) for i in self.items if i[0] == "m"]

    def closes(self) -> list[list[Any]]:
        return [i for i in self.items if i[0] == "x"]

    def errors(self) -> list[dict[str, Any]]:
        return [i[1] for i in self.items if i[0] == "E"]

    def peers(self) -> set[str]:
        ids = self._known | {i[2]["id"] for i in self.items if i[0] == "c"}
        return ids - {i[2] for i in self.closes()}

    def _on_events(self, text: str) -> None:
        self.batches += 1
        for item in wire_items(json.loads(text)):
            self.items.append(item)
            if item[0] == "p":
                self.ran = item[1]
                if self._waiting:
                    self._aloop.call_soon(self._send_waiting)
            if item[0] == "m":
                payload = base64.b64decode(item[3])
                self.log.append((self.name, payload))
                key = (item[1], item[2])
                self._consumed[key] = self._consumed.get(key, 0) + len(payload)
        if self.reading and self.at_once:
            self._answer()
        elif self.reading and not self._answer_queued:
            self._answer_queued = True
            self._aloop.call_soon(self._answer)

    def _answer(self) -> None:
        self._answer_queued = False
        if self.gone:
            return
        ops: list[list[Any]] = []  # the count read goes with it (_send_now)
        if self._consumed:
            ops.append(["ack", [[h, p, n] for (h, p), n in self._consumed.items()]])
            self._consumed.clear()
        if ops or self.batches != self._seen_sent:
            self.send(ops)

    def _destroyed(self) -> None:
        self.gone = True

    @property
    def busy(self) -> bool:
        """An answer to the bridge is still to be sent."""
        return self._answer_queued and not self.gone


class Pages:
    """Makes PyPages on one core; ``log`` is theirs to share."""

    def __init__(self, qtbot: Any, core: SwarmCore, aloop: Any) -> None:
        self.qtbot, self.core, self.aloop = qtbot, core, aloop
        self.profile = QWebEngineProfile()  # no page scripts: the test is the page's script
        self.made: list[PyPage] = []
        self.log: list[Any] = []

    def __call__(self, name: str) -> PyPage:
        page = PyPage(self.qtbot, self.profile, self.core, self.aloop, name, self.log)
        self.made.append(page)
        return page

    def pair(self, swarm: str, a: str, b: str) -> tuple[PyPage, PyPage]:
        """Two pages that joined ``swarm`` and see each other."""
        first, second = self(a), self(b)
        first.join(self.qtbot, swarm)
        second.join(self.qtbot, swarm)
        self.qtbot.waitUntil(
            lambda: first.peers() == {second.id} and second.peers() == {first.id}, timeout=LOAD_TIMEOUT_MS
        )
        return first, second

    def settle(self) -> None:
        """Until the core has no turn to run and no page an answer to send: after
        that, nothing more happens unless a page does something."""
        self.qtbot.waitUntil(
            lambda: not self.core.turns._scheduled and not any(p.busy for p in self.made),
            timeout=LOAD_TIMEOUT_MS,
        )

    def close(self) -> None:
        alive = [p.page for p in self.made if not p.gone]
        _delete_and_wait(self.qtbot, alive, lambda: [p.deleteLater() for p in alive])  # type: ignore[func-returns-value]
        _delete_and_wait(self.qtbot, [self.profile], self.profile.deleteLater)


@pytest.fixture
def pages(qtbot: Any, core: SwarmCore, aloop: Any) -> Iterator[Pages]:
    made = Pages(qtbot, core, aloop)
    yield made
    made.close()


def numbered(tag: str, n: int) -> list[bytes]:
    return [f"{tag} {i:06}".encode() for i in range(n)]


def log_slices(page: PyPage) -> None:
    """Put ``"<name> slice"`` in the shared log each time the page's bridge runs a slice."""
    run = page.bridge.run_slice

    def logged() -> bool:
        page.log.append(f"{page.name} slice")
        return run()

    page.bridge.run_slice = logged  # type: ignore[method-assign]


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("peerbrowser")
    ]


# --- several pages at once ---------------------------------------------------------------------


@pytest.mark.parametrize("runs", [False, True], ids=["w-ops", "W-ops"])
@pytest.mark.parametrize("budget", [3600.0, -1.0], ids=["turns-within-budget", "every-turn-over-budget"])
def test_a_page_flooding_the_core_does_not_hold_up_another_pages_messages(
    pages: Pages, qtbot: Any, monkeypatch: pytest.MonkeyPatch, budget: float, runs: bool
) -> None:
    """Page A hands the bridge 8,000 writes at once (8 batches, what peersocket.js
    keeps in flight); page B writes one message at a time meanwhile. Each of B's
    messages is delivered after at most one slice of A's work, not behind all of it;
    and every message of both arrives exactly once, in order.

    Also on a loaded machine, where a turn's deferred work overruns TURN_BUDGET_S and
    goes on next turn (forced here: every turn overruns): work already due, such as
    B's delivery, must not then wait behind another round of A's slices."""
    monkeypatch.setattr(turns_module, "TURN_BUDGET_S", budget)
    flooder, sink = pages.pair("flood", "flooder", "sink")
    talker, listener = pages.pair("quiet", "talker", "listener")
    listener.at_once = True  # never behind on its events: what it waits for is the core
    log = pages.log
    log_slices(flooder)
    flood = numbered("flood", 8000)
    for i in range(0, len(flood), 1000):
        flooder.send(flooder.writes(sink, flood[i : i + 1000], runs))
    pings: list[bytes] = []
    for k in range(5):
        ping = f"ping {k}".encode()
        log.append("sent")
        sent_at = len(log) - 1
        talker.send(talker.writes(listener, [ping]))
        qtbot.waitUntil(lambda ping=ping: (listener.name, ping) in log, timeout=LOAD_TIMEOUT_MS)  # type: ignore[misc]
        delivered_at = log.index((listener.name, ping))
        assert log[sent_at:delivered_at].count("flooder slice") <= 1, log[sent_at:delivered_at]
        if k == 0:
            assert len(sink.messages()) < len(flood) // 2  # the flood was well under way
        pings.append(ping)
    qtbot.waitUntil(lambda: len(sink.messages()) == len(flood), timeout=LOAD_TIMEOUT_MS)
    pages.settle()
    assert sink.messages() == flood
    assert listener.messages() == pings
    assert log.count("flooder slice") >= len(flood) // SLICE_OPS  # it did go in slices


def test_pages_flooding_together_take_turns_slice_by_slice(pages: Pages, qtbot: Any) -> None:
    """Two pages with the same large amount of work share the core round robin: while
    both have work, neither runs two slices in a row; both floods arrive whole, in order."""
    a, a_sink = pages.pair("one", "a", "a-sink")
    b, b_sink = pages.pair("two", "b", "b-sink")
    log_slices(a)
    log_slices(b)
    a_msgs, b_msgs = numbered("a", 4000), numbered("b", 4000)
    for i in range(0, 4000, 1000):
        a.send(a.writes(a_sink, a_msgs[i : i + 1000]))
        b.send(b.writes(b_sink, b_msgs[i : i + 1000]))
    qtbot.waitUntil(lambda: len(a_sink.messages()) + len(b_sink.messages()) == 8000, timeout=LOAD_TIMEOUT_MS)
    pages.settle()
    assert a_sink.messages() == a_msgs and b_sink.messages() == b_msgs
    slices = [e for e in pages.log if e in ("a slice", "b slice")]
    # a's first slice ran at once (the core was idle); then each has at least
    # 4000 // SLICE_OPS slices of work left, and they alternate
    both_busy = slices[1 : 1 + 2 * (4000 // SLICE_OPS)]
    assert all(x != y for x, y in itertools.pairwise(both_busy)), both_busy


def test_a_w_op_is_run_as_that_many_writes_in_order_with_the_ops_around_it(pages: Pages, qtbot: Any) -> None:
    """``W`` ops (several writes on one socket) and ``w`` ops in one batch: every
    message arrives once, in the order written, and the drains count every write."""
    writer, reader = pages.pair("runs", "writer", "reader")
    payloads = numbered("m", 300)
    ops = [
        *writer.writes(reader, payloads[:1], runs=True),
        *writer.writes(reader, payloads[1:4]),
        *writer.writes(reader, payloads[4:], runs=True),  # 128, 128, 40
    ]
    assert [op[0] for op in ops] == ["W", "w", "w", "w", "W", "W", "W"]
    writer.send(ops)
    qtbot.waitUntil(lambda: len(reader.messages()) == len(payloads), timeout=LOAD_TIMEOUT_MS)
    pages.settle()
    assert reader.messages() == payloads
    drains = [i for i in writer.items if i[0] == "d"]
    qtbot.waitUntil(lambda: [i for i in writer.items if i[0] == "d"][-1][4] == 300, timeout=LOAD_TIMEOUT_MS)
    assert all(d[4] <= 300 for d in drains)


def test_a_w_op_to_a_socket_that_is_gone_is_refused_once_per_write(pages: Pages, qtbot: Any) -> None:
    """Each write of a ``W`` op that cannot run is refused on its own (a ``w`` event
    each, and a drain that no longer counts it), as that many ``w`` ops would be; a
    ``W`` op over its bound is refused whole and runs nothing."""
    writer, reader = pages.pair("refused", "writer", "reader")
    stranger = "ef" * 32
    writer.send([["W", writer.handle, stranger, [wire.b64(b"1"), wire.b64(b"2"), wire.b64(b"3")]]])
    qtbot.waitUntil(lambda: len([i for i in writer.items if i[0] == "w"]) == 3, timeout=LOAD_TIMEOUT_MS)
    refusals = [i for i in writer.items if i[0] == "w"]
    assert {r[3]["code"] for r in refusals} == {"ERR_NO_SUCH_SOCKET"}
    # (drains coalesce: the newest counts all three)
    assert [i[4] for i in writer.items if i[0] == "d" and i[2] == stranger] == [3]
    too_many = [wire.b64(b"x")] * (wire.MAX_WRITES_PER_OP + 1)
    writer.send([["W", writer.handle, reader.id, too_many], ["W", writer.handle, reader.id, []]])
    qtbot.waitUntil(lambda: len(writer.errors()) == 2, timeout=LOAD_TIMEOUT_MS)
    assert all("W takes" in e["message"] for e in writer.errors())
    pages.settle()
    assert reader.messages() == []


def test_a_w_op_with_a_message_it_cannot_read_refuses_that_write_alone(pages: Pages, qtbot: Any) -> None:
    """One write of a ``W`` op that is not base64 is refused on its own, after the writes
    before it went and before those after it go: the peer gets the others once, in
    order, and the drains count all five writes."""
    writer, reader = pages.pair("unreadable", "writer", "reader")
    good = numbered("g", 4)
    b64 = [wire.b64(p) for p in good]
    writer.send([["W", writer.handle, reader.id, [b64[0], b64[1], "not base64!", b64[2], b64[3]]]])
    qtbot.waitUntil(lambda: len(reader.messages()) == len(good), timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: [i[4] for i in writer.items if i[0] == "d"][-1:] == [5], timeout=LOAD_TIMEOUT_MS)
    pages.settle()
    assert reader.messages() == good
    refusals = [i for i in writer.items if i[0] == "w"]
    assert len(refusals) == 1 and refusals[0][3]["code"] == "ERR_INVALID_ARGUMENT"
    assert "not valid base64" in refusals[0][3]["message"]


# --- a page that goes away in the middle of its work ---------------------------------------------


def go_away(page: PyPage, how: str, qtbot: Any) -> None:
    """The page leaves as a user would make it: its tab closes, the browser detaches
    its bridge, or it navigates to another site."""
    if how == "detach":
        page.bridge.detach()
    elif how == "close":
        # as Tab.close(): the page is deleted later, and its bridge sees it go
        page.page.deleteLater()
        qtbot.waitUntil(lambda: page.gone, timeout=LOAD_TIMEOUT_MS)
    else:
        page.page.setUrl(QUrl("peerapp://elsewhere/"))  # the URL changes at once


@pytest.mark.parametrize("how", ["detach", "close", "navigate"])
def test_a_page_that_goes_away_mid_batch_ends_cleanly_for_everyone(
    pages: Pages, qtbot: Any, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """A page leaves with thousands of its writes still waiting to run. The rest of
    its work is dropped (never delivered later, never run for nobody), its peer gets
    what ran, in order, then the socket's close (1001, as docs/API.md says); the page
    is sent nothing more; and another pair's messages meanwhile are all delivered,
    once, in order."""
    caplog.set_level(logging.WARNING)
    leaver, peer = pages.pair("room", "leaver", "peer")
    writer, reader = pages.pair("other", "writer", "reader")
    mine, theirs = numbered("leaver", 16_000), numbered("writer", 4000)
    for i in range(4):
        leaver.send(leaver.writes(peer, mine[i * 4000 : (i + 1) * 4000]))
        writer.send(writer.writes(reader, theirs[i * 1000 : (i + 1) * 1000]))
    go_away(leaver, how, qtbot)
    assert len(peer.messages()) < 4000  # it went in the middle of its first batch
    sent_to_leaver = len(leaver.items)
    qtbot.waitUntil(
        lambda: bool(peer.closes()) and len(reader.messages()) == len(theirs), timeout=LOAD_TIMEOUT_MS
    )
    pages.settle()
    assert reader.messages() == theirs
    got = peer.messages()
    assert got == mine[: len(got)] and len(got) < len(mine)
    (close,) = peer.closes()
    assert close[2] == leaver.id and close[3:] == LEFT
    assert all(i[0] != "m" for i in peer.items[peer.items.index(close) :])  # nothing after it
    assert leaver.items[sent_to_leaver:] == []
    assert no_errors_logged(caplog) == []


def test_a_documents_queued_work_never_acts_for_the_site_the_page_went_to(
    pages: Pages, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches a document sent run for that document or not at all: if the page goes
    to another site while they wait (the core busy with another page, and this page
    sending back to back), they do not join, write or answer as the new site."""
    monkeypatch.setattr(turns_module, "BUSY_GAP_S", 3600.0)  # back to back, however slow the test
    busy, sink = pages.pair("busy", "busy", "sink")
    victim_peer = pages("room-peer")
    victim_peer.join(qtbot, "room")
    page = pages("mallory")
    busy.send(busy.writes(sink, numbered("busy", 4000)))  # the core is busy for a while
    page.send([["hello", "another document"]])  # its turn goes ahead of busy's...
    page.send([["join", 7, "room"]])  # ...so this one, right after, waits for the loop
    assert pages.core.turns._scheduled
    emitted = len(page.items)
    page.page.setUrl(QUrl("peerapp://victim/"))
    pages.settle()
    assert [i for i in victim_peer.items if i[0] == "c"] == []  # nobody joined its swarm
    assert page.items[emitted:] == []


# --- the core busy while a tab closes ---------------------------------------------------------


def test_a_tab_closed_while_the_core_is_busy_with_many_pages(
    pages: Pages, qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The tab's page is deleted between two turns, with a turn scheduled, several
    pages' work waiting (its own too), events on their way to it and from it: nothing
    fails, its peer sees what it wrote then its close, and the others lose nothing."""
    caplog.set_level(logging.WARNING)
    leaver, peer = pages.pair("room", "leaver", "peer")
    flows = [pages.pair(f"flow{n}", f"w{n}", f"r{n}") for n in range(4)]
    sent = {w.name: numbered(w.name, 3000) for w, _ in flows}
    mine = numbered("leaver", 24_000)
    for i in range(3):
        for w, r in flows:
            w.send(w.writes(r, sent[w.name][i * 1000 : (i + 1) * 1000]))
        leaver.send(leaver.writes(peer, mine[i * 8000 : (i + 1) * 8000]))
    peer.send(peer.writes(leaver, numbered("to the leaver", 500)))  # events on their way to it
    state: dict[str, Any] = {}

    def at_close() -> None:
        state["turn scheduled"] = pages.core.turns._scheduled
        state["flows done"] = sum(len(r.messages()) for _, r in flows)

    leaver.page.destroyed.connect(at_close)
    qtbot.waitUntil(lambda: len(peer.messages()) > 0, timeout=LOAD_TIMEOUT_MS)
    leaver.page.deleteLater()  # what Tab.close() does
    qtbot.waitUntil(lambda: leaver.gone, timeout=LOAD_TIMEOUT_MS)
    assert state["turn scheduled"] and state["flows done"] < 4 * 3000  # it was busy
    qtbot.waitUntil(lambda: all(len(r.messages()) == 3000 for _, r in flows), timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: bool(peer.closes()), timeout=LOAD_TIMEOUT_MS)
    pages.settle()
    for w, r in flows:
        assert r.messages() == sent[w.name]
    got = peer.messages()
    assert got == mine[: len(got)] and len(got) < len(mine)
    (close,) = peer.closes()
    assert close[3:] == LEFT
    assert no_errors_logged(caplog) == []


# --- the inbox and the inline path ---------------------------------------------------------------


def test_a_page_past_its_batches_in_flight_is_cut_off_and_nobody_else_notices(
    pages: Pages, qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """peersocket.js never sends more than PAGE_BATCHES_IN_FLIGHT batches past the
    last run count it was told; a page that calls the channel itself faster (each of
    its messages costs QWebChannel time on the GUI thread, everyone's time) is cut
    off: it is told why (ERR_CHANNEL_FLOOD), its channel is taken off the page, its
    swarms close for its peers, what it sent before arrives in order and nothing
    after; the other pages go on. A new document gets the channel back."""
    caplog.set_level(logging.WARNING, "peerbrowser")
    writer, reader = pages.pair("room", "writer", "reader")
    talker, listener = pages.pair("quiet", "talker", "listener")
    pages.settle()
    first = numbered("first", 1000)
    writer.send(writer.writes(reader, first), raw=True)  # one slice now: the rest waits
    more = numbered("more", 3 * wire.PAGE_BATCHES_IN_FLIGHT)
    for payload in more:
        writer.send(writer.writes(reader, [payload]), raw=True)
    (error,) = writer.errors()  # at once: in the send that went past the allowance
    assert error["code"] == "ERR_CHANNEL_FLOOD" and "cut off" in error["message"]
    assert writer.page.webChannel() is None
    assert "cut off" in caplog.text
    qtbot.waitUntil(lambda: len(reader.closes()) == 1, timeout=LOAD_TIMEOUT_MS)
    assert reader.closes()[0][3:] == LEFT
    got = reader.messages()
    assert got == (first + more)[: len(got)] and len(got) < len(first)  # in order, cut short
    talker.send(talker.writes(listener, [b"still fine"]))
    qtbot.waitUntil(lambda: listener.messages() == [b"still fine"], timeout=LOAD_TIMEOUT_MS)
    with qtbot.waitSignal(writer.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        writer.page.setHtml("<title>again</title>", QUrl("peerapp://writer/"))
    assert writer.page.webChannel() is not None


def test_a_page_calling_the_channel_itself_is_cut_off_however_slowly_its_batches_come(
    pages: Pages, qtbot: Any
) -> None:
    """Each of its batches runs, and the bridge tells it so, before the next one comes
    (what a loaded machine makes of calls back to back): a page that never says it
    read those counts (``seen``) still goes past what it may have in flight, and is
    cut off within the allowance. peersocket.js never does: every batch it sends
    carries what it read. What it sent before arrives, in order."""
    writer, reader = pages.pair("room", "writer", "reader")
    pages.settle()
    writer.reading = False  # from now on it never says it read anything
    sent: list[bytes] = []
    for i in range(3 * wire.PAGE_BATCHES_IN_FLIGHT):
        if writer.page.webChannel() is None:
            break
        sent.append(b"call %d" % i)
        writer.send(writer.writes(reader, sent[-1:]), raw=True)
        qtbot.waitUntil(
            lambda: bool(writer.errors()) or len(reader.messages()) == len(sent), timeout=LOAD_TIMEOUT_MS
        )
    assert writer.page.webChannel() is None, "never cut off"
    (error,) = writer.errors()
    assert error["code"] == "ERR_CHANNEL_FLOOD"
    assert len(sent) <= 2 * wire.PAGE_BATCHES_IN_FLIGHT  # what ran before it: the allowance
    assert reader.messages() == sent[:-1]  # the batch past it did not run


def test_a_page_past_its_inbox_characters_is_refused_batch_by_batch(
    pages: Pages, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox is bounded in characters too: a batch that would take it past
    inbox.MAX_CHARS is refused, while a smaller one that fits is still taken."""
    monkeypatch.setattr(bridge_inbox, "MAX_CHARS", 200_000)
    writer, reader = pages.pair("room", "writer", "reader")
    writer.send(writer.writes(reader, numbered("first", 1000)))  # keeps the core busy
    big = [b"x" * 60_000]
    for _ in range(3):
        writer.send(writer.writes(reader, big))  # 3 x 80,000 characters of base64: the third is refused
    writer.send(writer.writes(reader, [b"small"]))
    qtbot.waitUntil(lambda: reader.messages()[-1:] == [b"small"], timeout=LOAD_TIMEOUT_MS)
    assert reader.messages()[-3:] == [*big * 2, b"small"]
    assert [e["code"] for e in writer.errors()] == ["ERR_TOO_MANY"]


def test_an_idle_core_runs_a_batch_before_send_returns_and_a_busy_one_takes_its_turn(
    pages: Pages, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a lone message fast: with nothing else to do, the core runs a
    page's batch, and delivers its message, inside ``send()``. With a turn scheduled
    for a busy page, an idle page's batch still runs inside ``send()``, ahead of the
    busy page's next slice (docs/ARCHITECTURE.md, swarm/turns.py), so a ping beside a
    flood waits neither behind it nor for the loop; the busy page's slices go on in
    their turns."""
    # a turn that overran its time budget would leave its flush to the next turn:
    # not what this test is about
    monkeypatch.setattr(turns_module, "TURN_BUDGET_S", 3600.0)
    a, b = pages.pair("room", "a", "b")
    busy, sink = pages.pair("busy", "busy", "sink")
    pages.settle()
    turns = pages.core.turns.turns
    a.send(a.writes(b, [b"now"]))
    assert b.messages() == [b"now"] and pages.core.turns.turns == turns + 1
    log_slices(busy)
    busy.send(busy.writes(sink, numbered("busy", 1000)))  # one slice inline, more to come
    assert pages.core.turns._scheduled and pages.log.count("busy slice") == 1
    a.send(a.writes(b, [b"later"]))
    assert b.messages() == [b"now", b"later"]  # inside send(), ahead of the scheduled turn
    assert pages.log.count("busy slice") == 1
    qtbot.waitUntil(lambda: len(sink.messages()) == 1000, timeout=LOAD_TIMEOUT_MS)
    assert pages.log.count("busy slice") > 1


# --- real tabs ---------------------------------------------------------------------------------


def wait_js(qtbot: Any, js: Callable[..., Any], tab: Any, expr: str) -> None:
    qtbot.waitUntil(lambda: js(tab, expr) is True, timeout=LOAD_TIMEOUT_MS)


def test_tabs_flooding_while_one_closes_lose_nothing(
    open_page: Any, call: Any, js: Any, qtbot: Any, browser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Real tabs with peersocket.js, written the way docs/API.md teaches: two pairs
    flood (``write`` without waiting while under 1 MiB buffered; the reader in a ``for
    await`` loop), and a third tab writing in an ``await write()`` loop is closed
    mid-stream. Its peer gets an unbroken prefix of its messages, then its close
    (1001); the two floods arrive whole and in order."""
    caplog.set_level(logging.WARNING)
    n = 3000
    readers = []
    for k, (w_origin, r_origin) in enumerate([("alpha", "beta"), ("gamma", "alpha")]):
        w, r = open_page(w_origin, 10 + k), open_page(r_origin, 20 + k)
        call(w, f"T.join('flood{k}')")
        sr = call(r, f"T.join('flood{k}')")["self"]
        wait_js(qtbot, js, w, f"T.peers().length === 1 && T.peers()[0] === '{sr}'")
        js(
            r,
            """window.got = []; (async () => {
              for await (const m of T.socket(T.peers()[0]).readable) got.push(m) })(); true""",
        )
        readers.append((w, r))
    leaver, peer = open_page("beta", 30), open_page("gamma", 31)
    call(leaver, "T.join('room')")
    sp = call(peer, "T.join('room')")["self"]
    wait_js(qtbot, js, leaver, f"T.peers().length === 1 && T.peers()[0] === '{sp}'")
    js(
        leaver,
        "(async () => { const s = T.socket(T.peers()[0]); for (let i = 0; ; i++) await s.write(i) })(); true",
    )
    for w, _ in readers:
        js(
            w,
            f"""(async () => {{ const s = T.socket(T.peers()[0]);
              for (let i = 0; i < {n}; i++) {{ const p = s.write(i); if (s.bufferedAmount > 1 << 20) await p }}
            }})(); true""",
        )
    wait_js(qtbot, js, peer, "T.of('message').length > 100")
    browser.close_tab_object(leaver)
    for _, r in readers:
        wait_js(qtbot, js, r, f"got.length === {n}")
        assert js(r, f"got.every((m, i) => m === i) && T.of('message').length === {n}") is True
    wait_js(qtbot, js, peer, "T.of('close').length === 1")
    got = js(peer, "T.of('message').map(e => e[2])")
    assert got == list(range(len(got)))
    assert js(peer, "T.events[T.events.length - 1]")[2:] == [CLOSE_GOING_AWAY, True]
    assert no_errors_logged(caplog) == []


def test_a_reloaded_page_goes_on_receiving_events(open_page: Any, call: Any, js: Any, qtbot: Any) -> None:
    """A page's new document starts counting the batches it reads (``seen``) and the
    bridge ran for it (``p``) from zero: after a reload, every message still arrives,
    however many batches the previous document read."""
    a, b = open_page("alpha"), open_page("beta")
    call(a, "T.join('room')")
    call(b, "T.join('room')")
    wait_js(qtbot, js, a, "T.peers().length === 1")
    for i in range(3):  # the first document reads a few batches
        call(b, f"T.socket(T.peers()[0]).write({i})")
        wait_js(qtbot, js, a, f"T.of('message').length === {i + 1}")
    a.page.triggerAction(a.page.WebAction.Reload)
    qtbot.waitUntil(lambda: js(a, "typeof T === 'object' && !T.swarms.main") is True, timeout=LOAD_TIMEOUT_MS)
    call(a, "T.join('room')")
    wait_js(qtbot, js, a, "T.peers().length === 1")
    for i in range(5):  # one batch each
        call(b, f"T.socket(T.peers()[0]).write({i})")
        wait_js(qtbot, js, a, f"T.of('message').length === {i + 1}")
    assert js(a, "T.of('message').map(e => e[2])") == list(range(5))
