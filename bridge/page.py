"""One bridge object per page: page calls in, swarm-core events out.

``attach_page(page, core, identity)`` puts a :class:`PageBridge` on the page's
QWebChannel under the name ``peersocket``. ``js/peersocket.js`` talks to it
with one ``send(batch)`` call per JavaScript task and hears one ``events``
signal per event-loop turn (see ``bridge/wire.py`` for both formats).

The page's origin comes from the page's URL on this side, never from what
the page sends. Handles belong to the document that made them: a new
document (reload, navigation), a navigation to another origin, or the page
going away releases them, and the core's grace period keeps the presence in
its swarms across a reload.

Every ``join`` first passes the page's permission gate (``bridge/consent.py``):
the core hears of it only once the gate allows it, so a join that is refused
or still waiting has made no presence and announced nothing. A join waiting
for the user gets its reply when the answer comes; if the document goes away
first, the question is withdrawn and nothing is joined. With
``hide_addresses`` the page sees every ``socket.info.host`` / ``.port`` as
null (``_socket_json``, the one place a socket is described to the page).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from PyQt6 import QtCore, sip
from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtWebChannel import QWebChannel
from PyQt6.QtWebEngineCore import QWebEnginePage

from bridge import renderer, wire
from bridge.consent import MAX_PENDING_JOINS, Gate, PeerRequest, RefuseAll, Ticket
from bridge.inbox import ChannelFlood, Inbox
from bridge.origin import origin_of
from bridge.outbox import Outbox
from swarm.core import SwarmCore
from swarm.errors import PeerSocketError
from swarm.events import (
    Connection,
    Drain,
    HandleEvent,
    Messages,
    SessionData,
    SocketClosed,
    SwarmClosed,
)
from swarm.presence import Socket, SwarmHandle
from swarm.snapshot import SocketInfo, socket_info
from swarm.topics import SwarmKey

pyqtProperty = QtCore.pyqtProperty  # type: ignore[attr-defined]  # not in PyQt6's stubs

log = logging.getLogger("peerbrowser.bridge")

#: The name the bridge object has on the page's QWebChannel (js/peersocket.js uses it).
CHANNEL_NAME = "peersocket"
#: One page's slice of a turn: at most this many operations, and this many characters
#: of messages (base64), before every other page and link gets theirs.
SLICE_OPS = 128
SLICE_CHARS = 256 * 1024


class PageSocket(SocketInfo):
    """A socket as ``js/peersocket.js`` gets it: ``socket.info`` and its session data."""

    session: str | None  # base64


class Document:
    """One document's share of the page: its identity and its handles."""

    def __init__(self, token: str, origin: str, identity: int) -> None:
        self.token = token
        self.origin = origin
        self.identity = identity
        self.used = False  # any PeerSocket call made: the identity is fixed
        self.handles: dict[int, SwarmHandle] = {}
        self.pending: dict[int, PendingJoin] = {}  # req -> a join waiting for its permission
        self.alive = True
        #: (handle id, peer id) -> this document's writes on that socket the bridge ran
        self.writes: dict[tuple[int, str], int] = {}

    def __repr__(self) -> str:
        return f"<Document {self.origin} #{self.identity}>"


class PendingJoin:
    """A ``join`` the gate has not answered yet."""

    def __init__(self, req: int, key: SwarmKey) -> None:
        self.req = req
        self.key = key
        self.ticket: Ticket | None = None


class PageBridge(QObject):
    """The ``peersocket`` object a page sees on its QWebChannel."""

    #: A batch of results and events for the page (JSON text, see bridge/wire.py).
    events = pyqtSignal(str)
    #: The page's debug identity changed (setDebugIdentity, or a new document).
    identityChanged = pyqtSignal(int)

    def __init__(
        self,
        page: QWebEnginePage,
        core: SwarmCore | None,
        identity: int | None = None,
        *,
        gate: Gate | None = None,
        hide_addresses: bool = False,
    ) -> None:
        super().__init__(page)
        self._page = page
        self._core = core
        self._gate: Gate = gate if gate is not None else RefuseAll()
        self._hide_addresses = hide_addresses
        self.default_identity = identity or 0
        self._doc: Document | None = None
        self._outbox = Outbox(self._emit, self._schedule_flush)
        self._inbox = Inbox(self._outbox)  # batches from the page, not run yet
        self._cut: QWebChannel | None = None  # the channel taken off a page that flooded it
        self._lowered: renderer.Lowered | None = None  # its renderer, while it is cut off
        self._ops: deque[wire.Op | wire.BadOp] = deque()  # the rest of the batch being run
        self._detached = False
        #: Channel messages: batches from the page, and batches of events sent to it.
        self.batches_in = 0
        self.batches_out = 0
        page.urlChanged.connect(self._on_url_changed)
        page.loadStarted.connect(self._on_load_started)

    # --- what the page calls -------------------------------------------------------------

    @pyqtSlot(str)
    def send(self, batch: str) -> None:
        """One batch of operations from the page. It is not run here: it waits in the
        page's inbox and runs in slices, one a turn (:meth:`run_slice`), so that no page
        makes the others wait behind all of its work. Never raises."""
        self.batches_in += 1
        if self._detached or self._cut is not None:
            return
        if not isinstance(batch, str):  # pragma: no cover - QWebChannel converts to str
            return
        try:
            self._inbox.put(batch)
        except ChannelFlood as flood:
            self._cut_off(str(flood))
            return
        except PeerSocketError as refused:
            self._queue(["E", refused.to_dict()])
            return
        if self._core is None:  # no core: nothing to share the thread with
            while self.run_slice():
                pass
            return
        self._core.turns.ready(self)

    def _no_inbox(self) -> str:
        return ""  # write-only: what was written is in the inbox, not here

    #: Where peersocket.js writes its batches (``bridge.inbox = batch``): the same as
    #: :meth:`send`, but a property write, which QWebChannel does not answer, where it
    #: sends every call's caller a response message (a crossing back to the page, and
    #: work on the browser's main thread, per batch).
    inbox = pyqtProperty(str, fget=_no_inbox, fset=send, constant=True)

    def run_slice(self) -> bool:
        """Run up to ``SLICE_OPS`` operations (``SLICE_CHARS`` of messages) from the
        inbox; True if more are waiting."""
        ops, budget, chars = self._ops, SLICE_OPS, SLICE_CHARS
        while budget > 0 and chars > 0 and (ops or self._inbox):
            if self._detached:
                ops.clear()
                self._inbox.clear()
                return False
            if not ops:
                try:
                    ops.extend(wire.parse_batch(self._inbox.pop()))
                except PeerSocketError as err:
                    self._queue(["E", err.to_dict()])
                try:
                    self._inbox.check(ops, self._doc.token if self._doc is not None else None)
                except ChannelFlood as flood:
                    self._cut_off(str(flood))
                    continue  # nothing is left to run
                if not ops:
                    self._batch_ran()
                    continue
            op = ops[0]
            if type(op) is wire.Op:
                if op.name == "W":  # each write counts (parse_batch checked the list)
                    messages = op.args[2]
                    if len(messages) > budget and budget < SLICE_OPS:
                        break  # it waits for a slice of its own: slices stay within SLICE_OPS
                    budget -= len(messages) - 1
                    chars -= sum(len(m) for m in messages if type(m) is str)
                elif op.name == "w" and type(op.args[2]) is str:
                    chars -= len(op.args[2])
            ops.popleft()
            budget -= 1
            try:
                self._run_op(op)
            except Exception:
                log.exception("bridge: an operation failed unexpectedly")
                self._queue(["E", PeerSocketError.internal().to_dict()])
            if not ops:
                self._batch_ran()
        return bool(ops or self._inbox)

    # --- lifetime ---------------------------------------------------------------------------

    @property
    def identity(self) -> int:
        return self._doc.identity if self._doc is not None else self.default_identity

    @property
    def origin(self) -> str:
        return origin_of(self._page.url())

    def detach(self) -> None:
        """The tab is closing: release everything this page holds. Idempotent."""
        if self._detached:
            return
        self._detached = True
        self._inbox.clear()
        self._ops.clear()
        self._outbox.close()
        if self._core is not None:
            self._core.turns.drop(self)
        self._release_document()
        self._restore_renderer()
        with contextlib.suppress(TypeError, RuntimeError):
            self._page.urlChanged.disconnect(self._on_url_changed)

    def _restore_renderer(self) -> None:
        lowered, self._lowered = self._lowered, None
        if lowered is not None:
            renderer.restore(lowered)

    @property
    def withheld_total(self) -> int:
        """Batches whose run count waited for the page's budget, ever."""
        return self._inbox.withheld_total

    @property
    def cut_off(self) -> bool:
        """The page flooded its channel and lost it until it loads again (``_cut_off``)."""
        return self._cut is not None

    def _batch_ran(self) -> None:
        """One of the page's batches ran: the page is told, as its budget allows."""
        wait = self._inbox.batch_ran()
        if wait is not None:
            self._release_later(wait)

    def _release_later(self, wait: float) -> None:
        QTimer.singleShot(int(wait * 1000) + 1, self._release_withheld)

    def _release_withheld(self) -> None:
        if sip.isdeleted(self) or self._detached:
            return
        wait = self._inbox.release()
        if wait is not None:
            self._release_later(wait)

    def _restart_counts(self, *, drop: bool, received: int) -> None:
        """A new document (or none): the batch counts start again."""
        self._outbox.restart(drop=drop)
        self._inbox.restart(received)

    def _cut_off(self, why: str) -> None:
        """The page sent more batches than it may have in flight: peersocket.js never
        sends more than ``PAGE_BATCHES_IN_FLIGHT`` past the count of them it read ran
        (seen when they arrive, past the count it was told; or when they run, past the
        count its ``seen`` says it read), nor starts documents faster than pages load
        (``bridge/inbox.py``). Only a page that calls the channel itself
        does, usually as fast as it can, and each message costs QWebChannel time on the GUI
        thread, every other page's time, before the bridge even sees it. So the page's
        channel is taken off it until it loads a new document: what it sends then is
        dropped before QWebChannel reads it (in its renderer: the browser process never
        hears of it). Its swarms close for it (its peers see it leave) and it is told why.
        Its renderer runs at the lowest CPU priority until then (``bridge/renderer.py``):
        the loop that flooded usually goes on, a core of its own otherwise."""
        page = self._page
        log.warning(
            "%s went past what it may send on the PeerSocket channel (%s): its PeerSocket is "
            "cut off until it loads a new page",
            self.origin,
            why,
        )
        refused = PeerSocketError(
            "ERR_CHANNEL_FLOOD",
            f"this page went past what it may send on the PeerSocket channel ({why}; at most "
            f"{wire.PAGE_BATCHES_IN_FLIGHT} batches in flight): PeerSocket is cut off until the "
            "page is loaded again",
            "QuotaExceededError",
        )
        self._emit(wire.dumps([["E", refused.to_dict()]]))
        self._inbox.clear()
        self._ops.clear()
        self._restart_counts(drop=True, received=0)
        self._release_document()
        self._cut = page.webChannel()
        page.setWebChannel(None)
        # what it sends now stays in its renderer, but the loop sending it goes on there
        self._lowered = renderer.lower(page.renderProcessPid())

    def _on_load_started(self) -> None:
        """A new document: a page that was cut off gets its channel back."""
        channel, self._cut = self._cut, None
        self._restore_renderer()
        if channel is not None and not self._detached:
            self._page.setWebChannel(channel)

    def _on_url_changed(self, url: Any) -> None:
        doc = self._doc
        if doc is not None and origin_of(url) != doc.origin:
            log.debug("page left %s: releasing its handles", doc.origin)
            self._release_document()
            # what the document queued was for it alone: never run it for the next one
            self._inbox.clear()
            self._ops.clear()
            self._restart_counts(drop=True, received=0)

    def _release_document(self) -> None:
        doc, self._doc = self._doc, None
        if doc is None:
            return
        doc.alive = False
        pending = list(doc.pending.values())
        doc.pending.clear()
        for join in pending:  # withdrawn: the document that asked is gone
            if join.ticket is not None:
                join.ticket.cancel()
        if self._core is not None and not self._core.closed:
            self._core.release(doc)
        doc.handles.clear()

    # --- operations -------------------------------------------------------------------------

    def _run_op(self, op: wire.Op | wire.BadOp) -> None:
        if isinstance(op, wire.BadOp):
            if op.req is not None:
                self._queue(["r", op.req, False, op.error.to_dict()])
            else:
                self._queue(["E", op.error.to_dict()])
            return
        name = op.name
        if name == "w":
            self._write(op.args[0], op.args[1], (op.args[2],))
        elif name == "W":
            self._write(*op.args)
        elif name == "ack":
            self._ack(op.args)
        elif name == "seen":
            self._outbox.page_saw(op.args[0])
        elif name == "hello":
            self._hello(op.args[0])
        elif name == "join":
            self._request_join(op)
        else:
            try:
                result = self._dispatch(op)
            except PeerSocketError as err:
                self._queue(["r", op.req, False, err.to_dict()])
            else:
                self._queue(["r", op.req, True, result])

    def _write(self, handle_id: object, peer_id: object, messages: list[Any] | tuple[Any, ...]) -> None:
        """``socket.write()``, once for each of ``messages`` (``w``: one, ``W``: several
        on one socket): no reply. A refused write comes back as a ``w`` event on its
        socket, with a drain that no longer counts it as on its way; the writes after it
        are run as they would be alone."""
        doc = self._doc
        if doc is None:
            return  # from a document the page has left
        try:
            handle = self._handle(doc, handle_id)
            peer = wire.peer_id(peer_id)
        except PeerSocketError as err:
            self._queue(["E", err.to_dict()])
            return
        key = (handle.id, peer)
        before = doc.writes.get(key, 0)  # this socket's writes the page made before the op
        doc.writes[key] = before + len(messages)
        # The op's messages go to the core together (SwarmCore.write_many); one it cannot
        # decode is refused after those before it went, as if they were written alone.
        decoded = wire.message_payloads(messages) if len(messages) > 1 else None
        if decoded is not None:  # (all of them are messages: the usual op of several)
            self._write_run(handle, peer, decoded, before)
            return
        payloads: list[bytes] = []
        start = 0  # the place in `messages` of payloads[0]
        for at, message in enumerate(messages):
            try:
                payload = wire.message_payload(message)
            except PeerSocketError as err:
                self._write_run(handle, peer, payloads, before + start)
                self._refused(handle, peer, err, before + at + 1)
                payloads, start = [], at + 1
            else:
                payloads.append(payload)
        self._write_run(handle, peer, payloads, before + start)

    def _write_run(self, handle: SwarmHandle, peer: str, payloads: list[bytes], before: int) -> None:
        """Writes on one socket, the first of them the page's ``before + 1``-th there."""
        if not payloads:
            return
        try:
            core = self._require_core()
            refused = core.write_many(handle, handle.require_socket(peer), payloads)
        except PeerSocketError as err:  # the socket or the swarm closed: none went
            for at in range(len(payloads)):
                self._refused(handle, peer, err, before + at + 1)
            return
        for refusal in refused:
            self._refused(handle, peer, refusal.error, before + refusal.at + 1, refusal.inflight)

    def _refused(
        self, handle: SwarmHandle, peer: str, err: PeerSocketError, count: int, inflight: int | None = None
    ) -> None:
        """Tell the page its ``count``-th write on the socket was refused, and what the
        peer had unread then (``inflight``; by default, what the socket has now)."""
        if inflight is None:
            known = handle.get_socket(peer)
            inflight = known.inflight if known is not None else 0
        self._queue(["w", handle.id, peer, err.to_dict()])
        self._queue(["d", handle.id, peer, inflight, count])

    def _hello(self, token: str) -> None:
        if self._doc is not None and self._doc.token == token:
            return
        self._release_document()
        self._restart_counts(drop=False, received=1 + len(self._inbox))  # this batch, those behind
        self._doc = Document(token, self.origin, self.default_identity)
        self.identityChanged.emit(self._doc.identity)

    def _document(self) -> Document:
        """The current document; refuses calls from none (see ``_on_url_changed``)."""
        if self._doc is None:
            # Every peersocket.js document says hello first. A call without one is in
            # flight from a document the page already left (another origin, perhaps):
            # it acts for nobody.
            raise PeerSocketError.no_document()
        return self._doc

    def _ack(self, acks: tuple[Any, ...]) -> None:
        """The page consumed messages: let the core credit their writers."""
        doc = self._doc
        if doc is None:
            return
        for handle_id, peer, nbytes in acks:
            handle = doc.handles.get(handle_id)
            socket = handle.get_socket(peer) if handle is not None else None
            if handle is not None and socket is not None and self._core is not None:
                self._core.consumed(handle, socket, nbytes)

    def _dispatch(self, op: wire.Op) -> Any:
        doc = self._document()
        if op.name == "identity":
            n = wire.identity(op.args[0])
            if doc.used:
                raise PeerSocketError.identity_locked()
            doc.identity = n
            self.identityChanged.emit(n)
            return None
        doc.used = True
        core = self._require_core()
        handle = self._handle(doc, op.args[0])
        if op.name == "leave":
            core.close_handle(handle)
            doc.handles.pop(handle.id, None)
            return None
        if op.name == "session":
            core.set_session_data(handle, wire.session_payload(op.args[1]))
            return None
        if op.name == "close":
            socket = handle.require_socket(wire.peer_id(op.args[1]))
            core.close_socket(handle, socket, wire.reason(op.args[2]))
            return None
        raise PeerSocketError.invalid_argument(f"unknown operation {op.name!r}")  # pragma: no cover

    def _request_join(self, op: wire.Op) -> None:
        """Check the join, then ask the gate; the reply follows its answer."""
        assert op.req is not None
        try:
            doc = self._document()
            doc.used = True
            self._require_core()
            swarm_id = op.args[0]
            key = SwarmKey.for_origin(doc.origin) if swarm_id is None else SwarmKey.open(swarm_id)
            if op.req in doc.pending:  # only a page calling the channel itself does this
                raise PeerSocketError.invalid_argument(f"request {op.req} is already waiting for an answer")
            if len(doc.pending) >= MAX_PENDING_JOINS:
                raise PeerSocketError.too_many("joinSwarm() calls waiting for permission", MAX_PENDING_JOINS)
        except PeerSocketError as err:
            self._queue(["r", op.req, False, err.to_dict()])
            return
        join = PendingJoin(op.req, key)
        doc.pending[op.req] = join
        request = PeerRequest(doc.origin, key.name if key.kind == "open" else None)
        ticket = self._gate.request(request, lambda allowed, why: self._answered(doc, join, allowed, why))
        if doc.pending.get(op.req) is join:  # not answered at once: waiting for the user
            join.ticket = ticket

    def _answered(self, doc: Document, join: PendingJoin, allowed: bool, why: str) -> None:
        """The gate answered ``join``: join now, or refuse it (``NotAllowedError``)."""
        if doc.pending.get(join.req) is not join:
            return  # withdrawn meanwhile
        del doc.pending[join.req]
        if not doc.alive or self._detached or doc is not self._doc:
            return
        try:
            if not allowed:
                raise PeerSocketError.permission_denied(doc.origin, why)
            result = self._join(self._require_core(), doc, join.key)
        except PeerSocketError as err:
            self._queue(["r", join.req, False, err.to_dict()])
        else:
            self._queue(["r", join.req, True, result])

    def _join(self, core: SwarmCore, doc: Document, key: SwarmKey) -> dict[str, Any]:
        handle = core.join(doc.origin, doc.identity, key, doc, self._listener(doc))
        doc.handles[handle.id] = handle
        return {
            "handle": handle.id,
            "type": key.kind,
            "id": key.name if key.kind == "open" else None,
            "self": handle.presence.id_hex,
            "loopback": self._socket_json(handle.loopback),
            "sockets": [self._socket_json(s) for s in handle.sockets()],
        }

    def _socket_json(self, socket: Socket) -> PageSocket:
        """A socket as the page sees it (``socket.info`` and more): the one place."""
        info = socket_info(socket)
        if self._hide_addresses:
            info["host"] = info["port"] = None
        return {**info, "session": wire.b64(socket.session_data)}

    def _handle(self, doc: Document, value: object) -> SwarmHandle:
        handle = doc.handles.get(wire.handle_id(value))
        if handle is None:
            raise PeerSocketError.invalid_handle()
        return handle

    def _require_core(self) -> SwarmCore:
        if self._core is None or self._core.closed:
            raise PeerSocketError.unavailable()
        return self._core

    # --- core events -> page -------------------------------------------------------------------

    def _listener(self, doc: Document) -> Callable[[SwarmHandle, HandleEvent], None]:
        def on_event(handle: SwarmHandle, event: HandleEvent) -> None:
            if not doc.alive or self._detached:
                return
            h = handle.id
            if type(event) is Messages:
                payloads = event.payloads
                if len(payloads) == 1:  # (a round trip's message: the shorter way)
                    self._outbox.put_message(h, event.socket.id_hex, wire.b64(payloads[0]))
                else:
                    self._outbox.put_messages(h, event.socket.id_hex, wire.b64_all(payloads))
            elif isinstance(event, Drain):
                # the counts now, not when the core emitted it: every write of this
                # document run until now is in `inflight`, and no later one
                peer = event.socket.id_hex
                self._queue(["d", h, peer, event.socket.inflight, doc.writes.get((h, peer), 0)])
            elif isinstance(event, Connection):
                self._queue(["c", h, self._socket_json(event.socket)])
            elif isinstance(event, SessionData):
                self._queue(["s", h, event.socket.id_hex, wire.b64(event.data)])
            elif isinstance(event, SocketClosed):
                s = event.socket
                self._queue(["x", h, s.id_hex, event.code, event.reason, event.was_clean])
            elif isinstance(event, SwarmClosed):
                doc.handles.pop(h, None)
                self._queue(["X", h, event.code, event.reason])

        return on_event

    def _queue(self, item: list[Any]) -> None:
        if not self._detached:
            self._outbox.put(item)

    def _schedule_flush(self) -> None:
        """The outbox has something: send it at the end of the core's turn."""
        if self._core is not None:
            self._core.turns.at_end(self._flush)
        else:
            QTimer.singleShot(0, self._flush)

    def _flush(self) -> None:
        if sip.isdeleted(self):  # the page (our parent) is gone; so are we
            return
        self._outbox.flush()

    def _emit(self, text: str) -> None:
        self.batches_out += 1
        with contextlib.suppress(RuntimeError):  # the page object is already gone
            self.events.emit(text)


def attach_page(
    page: QWebEnginePage,
    core: SwarmCore | None,
    identity: int | None = None,
    *,
    gate: Gate | None = None,
    hide_addresses: bool = False,
) -> PageBridge:
    """Create the page's bridge and register it on the page's QWebChannel.

    ``gate`` answers whether the page's origin may join (none: nothing may).
    """
    bridge = PageBridge(page, core, identity, gate=gate, hide_addresses=hide_addresses)
    channel = page.webChannel()
    if channel is None:
        channel = QWebChannel(page)
        page.setWebChannel(channel)
    channel.registerObject(CHANNEL_NAME, bridge)
    page.destroyed.connect(lambda *_: _release_orphan(bridge))
    # QWebChannel publishes QObject's own deleteLater() slot too, so a page can delete
    # its bridge: it cuts only itself off, and its presences leave now, not when the
    # tab closes (a peer that never reads would hold its writers meanwhile)
    bridge.destroyed.connect(lambda *_: _release_orphan(bridge))
    return bridge


def _release_orphan(bridge: PageBridge) -> None:
    """The page is being destroyed (the tab closed): release what it held."""
    with contextlib.suppress(RuntimeError):  # the wrapped QObject is already deleted
        bridge.detach()
