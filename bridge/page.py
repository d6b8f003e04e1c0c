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
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtWebChannel import QWebChannel
from PyQt6.QtWebEngineCore import QWebEnginePage

from bridge import wire
from bridge.origin import origin_of
from swarm.core import SwarmCore
from swarm.errors import PeerSocketError
from swarm.events import (
    Connection,
    Drain,
    HandleEvent,
    Message,
    SessionData,
    SocketClosed,
    SwarmClosed,
)
from swarm.presence import Socket, SwarmHandle
from swarm.topics import SwarmKey

log = logging.getLogger("peerbrowser.bridge")

CHANNEL_NAME = "peersocket"


class Document:
    """One document's share of the page: its identity and its handles."""

    def __init__(self, token: str, origin: str, identity: int) -> None:
        self.token = token
        self.origin = origin
        self.identity = identity
        self.used = False  # any PeerSocket call made: the identity is fixed
        self.handles: dict[int, SwarmHandle] = {}
        self.alive = True

    def __repr__(self) -> str:
        return f"<Document {self.origin} #{self.identity}>"


class PageBridge(QObject):
    """The ``peersocket`` object a page sees on its QWebChannel."""

    #: A batch of results and events for the page (JSON text, see bridge/wire.py).
    events = pyqtSignal(str)
    #: The page's debug identity changed (setDebugIdentity, or a new document).
    identityChanged = pyqtSignal(int)

    def __init__(self, page: QWebEnginePage, core: SwarmCore | None, identity: int | None = None) -> None:
        super().__init__(page)
        self._page = page
        self._core = core
        self.default_identity = identity or 0
        self._doc: Document | None = None
        self._out: list[list[Any]] = []
        self._flush_scheduled = False
        self._detached = False
        self.ops_handled = 0
        page.urlChanged.connect(self._on_url_changed)

    # --- what the page calls -------------------------------------------------------------

    @pyqtSlot(str)
    def send(self, batch: str) -> None:
        """One batch of operations from the page. Never raises."""
        try:
            self._handle_batch(batch)
        except Exception:
            log.exception("bridge: an operation failed unexpectedly")
            self._queue(["E", PeerSocketError("ERR_INTERNAL", "internal error in the browser").to_dict()])

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
        self._release_document()
        with contextlib.suppress(TypeError, RuntimeError):
            self._page.urlChanged.disconnect(self._on_url_changed)

    def _on_url_changed(self, url: Any) -> None:
        doc = self._doc
        if doc is not None and origin_of(url) != doc.origin:
            log.debug("page left %s: releasing its handles", doc.origin)
            self._release_document()

    def _release_document(self) -> None:
        doc, self._doc = self._doc, None
        if doc is None:
            return
        doc.alive = False
        if self._core is not None and not self._core.closed:
            self._core.release(doc)
        doc.handles.clear()

    # --- operations -------------------------------------------------------------------------

    def _handle_batch(self, batch: str) -> None:
        if self._detached:
            return
        try:
            ops = wire.parse_batch(batch)
        except PeerSocketError as err:
            self._queue(["E", err.to_dict()])
            return
        for op in ops:
            self.ops_handled += 1
            if isinstance(op, PeerSocketError):
                req = getattr(op, "req", None)
                if req is not None:
                    self._queue(["r", req, False, op.to_dict()])
                else:
                    self._queue(["E", op.to_dict()])
                continue
            if op.name == "hello":
                self._hello(op.args[0])
                continue
            if op.name == "ack":
                self._ack(op.args)
                continue
            try:
                result = self._dispatch(op)
            except PeerSocketError as err:
                self._queue(["r", op.req, False, err.to_dict()])
            else:
                self._queue(["r", op.req, True, result])

    def _hello(self, token: str) -> None:
        if self._doc is not None and self._doc.token == token:
            return
        self._release_document()
        self._doc = Document(token, self.origin, self.default_identity)
        self.identityChanged.emit(self._doc.identity)

    def _document(self) -> Document:
        """The current document; refuses calls from none (see ``_on_url_changed``)."""
        if self._doc is None:
            # Every peersocket.js document says hello first. A call without one is in
            # flight from a document the page already left (another origin, perhaps):
            # it acts for nobody.
            raise PeerSocketError(
                "ERR_NO_DOCUMENT", "this call came from a document the page has left", "InvalidStateError"
            )
        return self._doc

    def _ack(self, acks: tuple[Any, ...]) -> None:
        """The page consumed messages: let the core credit their writers."""
        doc = self._doc
        if doc is None:
            return
        for handle_id, peer, nbytes in acks:
            handle = doc.handles.get(handle_id)
            socket = handle.get_socket(peer) if handle is not None else None
            if handle is not None and socket is not None:
                handle.consumed(socket, nbytes)

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
        if op.name == "join":
            return self._join(core, doc, op.args[0])
        handle = self._handle(doc, op.args[0])
        if op.name == "leave":
            handle.close()
            doc.handles.pop(handle.id, None)
            return None
        if op.name == "write":
            socket = handle.require_socket(wire.peer_id(op.args[1]))
            handle.write(socket, wire.message_payload(op.args[2]))
            return None
        if op.name == "session":
            handle.set_session_data(wire.session_payload(op.args[1]))
            return None
        if op.name == "close":
            socket = handle.require_socket(wire.peer_id(op.args[1]))
            handle.close_socket(socket, wire.reason(op.args[2]))
            return None
        raise PeerSocketError.invalid_argument(f"unknown operation {op.name!r}")  # pragma: no cover

    def _join(self, core: SwarmCore, doc: Document, swarm_id: object) -> dict[str, Any]:
        key = SwarmKey.for_origin(doc.origin) if swarm_id is None else SwarmKey.open(swarm_id)
        handle = core.join(doc.origin, doc.identity, key, doc, self._listener(doc))
        doc.handles[handle.id] = handle
        return {
            "handle": handle.id,
            "type": key.kind,
            "id": key.name if key.kind == "open" else None,
            "self": handle.presence.id_hex,
            "loopback": _socket_json(handle.loopback),
            "sockets": [_socket_json(s) for s in handle.sockets()],
        }

    def _handle(self, doc: Document, value: object) -> SwarmHandle:
        handle = doc.handles.get(wire.handle_id(value))
        if handle is None:
            raise PeerSocketError(
                "ERR_INVALID_HANDLE",
                "no such swarm in this page (closed, or never joined here)",
                "InvalidStateError",
            )
        return handle

    def _require_core(self) -> SwarmCore:
        if self._core is None or self._core.closed:
            raise PeerSocketError(
                "ERR_UNAVAILABLE", "PeerSocket is not available in this browser", "NotSupportedError"
            )
        return self._core

    # --- core events -> page -------------------------------------------------------------------

    def _listener(self, doc: Document) -> Callable[[SwarmHandle, HandleEvent], None]:
        def on_event(handle: SwarmHandle, event: HandleEvent) -> None:
            if not doc.alive or self._detached:
                return
            h = handle.id
            if isinstance(event, Message):
                self._queue(["m", h, event.socket.id_hex, wire.b64(event.payload)])
            elif isinstance(event, Drain):
                # the count now, not when the core emitted it: every write accepted
                # until now has its reply queued before this, and no later one is in it
                self._queue(["d", h, event.socket.id_hex, event.socket.inflight])
            elif isinstance(event, Connection):
                self._queue(["c", h, _socket_json(event.socket)])
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
        self._out.append(item)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            if self._core is not None:
                self._core.loop.call_soon(self._flush)
            else:
                QTimer.singleShot(0, self._flush)

    def _flush(self) -> None:
        if sip.isdeleted(self):  # the page (our parent) is gone; so are we
            return
        self._flush_scheduled = False
        if not self._out or self._detached:
            self._out.clear()
            return
        out, self._out = self._out, []
        with contextlib.suppress(RuntimeError):  # the page object is already gone
            self.events.emit(wire.dumps(out))


def _socket_json(socket: Socket) -> dict[str, Any]:
    address = socket.address
    return {
        "id": socket.id_hex,
        "host": address[0] if address else None,
        "port": address[1] if address else None,
        "loopback": socket.loopback,
        "session": wire.b64(socket.session_data),
    }


def attach_page(page: QWebEnginePage, core: SwarmCore | None, identity: int | None = None) -> PageBridge:
    """Create the page's bridge and register it on the page's QWebChannel."""
    bridge = PageBridge(page, core, identity)
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
