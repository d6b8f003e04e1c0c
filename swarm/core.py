"""The swarm core: presences, swarms and sockets of one device, and its links.

Pure asyncio, no Qt. The bridge calls :meth:`SwarmCore.join` for each
``joinSwarm()`` and gets a :class:`SwarmHandle` whose listener hears that
tab's events. Presences on this device reach each other directly; other
devices are reached over links made by the engine, one per remote device,
with every topic and presence multiplexed on it.

Events are never delivered from inside the call that caused them: they are
queued and dispatched on the next loop turn, in order, so a listener may call
back into the core freely.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from swarm import limits
from swarm.engine import Engine, LinkSink, Transport
from swarm.errors import PeerSocketError
from swarm.events import (
    CLOSE_ABNORMAL,
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL,
    Connection,
    Drain,
    HandleEvent,
    Message,
    SessionData,
    SocketClosed,
    SwarmClosed,
)
from swarm.link import Link
from swarm.presence import Listener, Membership, Presence, Socket, SwarmHandle
from swarm.protocol import (
    LinkClosed,
    LinkOpened,
    LinkState,
    PeerClosedSocket,
    PeerCredit,
    PeerJoined,
    PeerLeft,
    PeerMessage,
    PeerSessionData,
    keeps_newer_link,
)
from swarm.topics import SwarmKey

log = logging.getLogger("peerbrowser.swarm")

DEFAULT_GRACE = 3.0
DEFAULT_HANDSHAKE_TIMEOUT = 10.0


class SwarmCore:
    def __init__(
        self,
        engine: Engine | None = None,
        *,
        grace: float = DEFAULT_GRACE,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._loop = loop
        self.engine = engine
        self.grace = grace
        self.handshake_timeout = handshake_timeout
        self.engine_state = ("none", "no network engine: presences on this device only")
        self.presences: dict[tuple[str, int], Presence] = {}
        self.topics: dict[bytes, set[Membership]] = {}  # local memberships per topic
        self.links: dict[bytes, Link] = {}  # remote device key -> live link
        self.closed = False
        self._handles: dict[int, SwarmHandle] = {}
        self._owned: dict[object, int] = {}  # owner (a page's document) -> open handles
        self._queue: deque[list[Any]] = deque()  # [handle, event] cells
        # (handle id, socket id) -> the queued cell of a SessionData nothing followed yet
        self._session_cells: dict[tuple[int, int], list[Any]] = {}
        self._dispatch_scheduled = False
        self._dirty_links: set[Link] = set()
        self._credit_due: set[Socket] = set()
        self._flush_scheduled = False
        self._observers: list[Callable[[], None]] = []
        self._notify_scheduled = False

    # --- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        if self.engine is not None:
            await self.engine.start(self)

    async def close(self) -> None:
        """Close every handle, link and the engine. Idempotent."""
        if self.closed:
            return
        self.closed = True
        for handle in list(self._handles.values()):
            self._close_handle(handle, CLOSE_GOING_AWAY, "the browser is shutting down")
        for presence in list(self.presences.values()):
            for membership in list(presence.memberships.values()):
                self._leave(membership)
        for link in list(self.links.values()):
            link.protocol.close("ERR_DEVICE_CLOSING", "the device is shutting down")
            self._pump(link)
        self._flush_links()
        self._dispatch()
        if self.engine is not None:
            await self.engine.close()
        self._observers.clear()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop timers and events run on: the one given, else the running one."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    # --- the page-facing API (through the bridge) -----------------------------------------

    def join(
        self,
        origin: str,
        identity: int,
        key: SwarmKey,
        owner: object,
        listener: Listener,
    ) -> SwarmHandle:
        """Join ``key`` as presence (origin, identity) for one tab (``owner``)."""
        if self.closed:
            raise PeerSocketError.core_closed()
        if self._owned.get(owner, 0) >= limits.MAX_HANDLES_PER_OWNER:
            raise PeerSocketError.too_many("swarms open in this page", limits.MAX_HANDLES_PER_OWNER)
        self._check_room(origin, identity, key.topic)
        presence = self.presences.get((origin, identity))
        if presence is None:
            presence = Presence(origin, identity)
            self.presences[(origin, identity)] = presence
            log.info("presence %s created", presence)
        membership = presence.memberships.get(key.topic)
        if membership is None:
            membership = Membership(presence, key)
            presence.memberships[key.topic] = membership
            self._enter(membership)
        elif membership.grace_timer is not None:
            membership.grace_timer.cancel()
            membership.grace_timer = None
        handle = SwarmHandle(self, membership, owner, listener)
        membership.handles.add(handle)
        self._handles[handle.id] = handle
        self._owned[owner] = self._owned.get(owner, 0) + 1
        self._changed()
        return handle

    def _check_room(self, origin: str, identity: int, topic: bytes) -> None:
        """Refuse a join that would take this device, or this origin, past its bounds
        (``limits``); checked before anything is made, so a refused join leaves no trace."""
        presence = self.presences.get((origin, identity))
        if presence is not None and topic in presence.memberships:
            return  # another tab of a membership that exists: nothing new
        if presence is None:
            if len(self.presences) >= limits.MAX_PRESENCES_PER_DEVICE:
                raise PeerSocketError.too_many("presences on this device", limits.MAX_PRESENCES_PER_DEVICE)
            if sum(1 for o, _ in self.presences if o == origin) >= limits.MAX_IDENTITIES_PER_ORIGIN:
                raise PeerSocketError.too_many(
                    f"debug identities in use by {origin}", limits.MAX_IDENTITIES_PER_ORIGIN
                )
        if sum(len(p.memberships) for p in self.presences.values()) >= limits.MAX_MEMBERSHIPS_PER_DEVICE:
            raise PeerSocketError.too_many(
                "swarm memberships on this device", limits.MAX_MEMBERSHIPS_PER_DEVICE
            )
        if topic not in self.topics and len(self.topics) >= limits.MAX_TOPICS_PER_DEVICE:
            raise PeerSocketError.too_many("swarms joined on this device", limits.MAX_TOPICS_PER_DEVICE)
        joined = {t for p in self.presences.values() if p.origin == origin for t in p.memberships}
        if topic not in joined and len(joined) >= limits.MAX_SWARMS_PER_ORIGIN:
            raise PeerSocketError.too_many(f"swarms joined by {origin}", limits.MAX_SWARMS_PER_ORIGIN)

    def handles_of(self, owner: object) -> list[SwarmHandle]:
        return [h for h in self._handles.values() if h.owner is owner]

    def release(self, owner: object) -> None:
        """A tab closed or navigated away: close all of its handles."""
        for handle in self.handles_of(owner):
            self.close_handle(handle)

    def close_handle(self, handle: SwarmHandle) -> None:
        self._close_handle(handle, CLOSE_NORMAL, "swarm.close() was called")

    def close_origin(self, origin: str, code: int, reason: str) -> int:
        """Close every swarm of ``origin`` now, in every tab, and leave them.

        Each of its handles gets ``SwarmClosed(code, reason)`` (its page sees the
        swarm and its sockets close with that code), and each of its presences
        leaves every swarm at once, with no grace period: peers see its sockets
        close. Used when the user revokes the origin's permission (code 1008,
        "permission revoked") or disconnects it. Returns the number of handles
        closed.
        """
        handles = [h for h in self._handles.values() if h.presence.origin == origin]
        memberships = [
            m for p in list(self.presences.values()) if p.origin == origin for m in p.memberships.values()
        ]
        for handle in handles:
            self._close_handle(handle, code, reason, linger=False)
        for membership in memberships:
            self._leave(membership)
        if handles or memberships:
            log.info("%s: %d swarm object(s) closed, %d membership(s) left: %s",
                     origin, len(handles), len(memberships), reason)
        return len(handles)

    def write(self, handle: SwarmHandle, socket: Socket, payload: bytes) -> None:
        """Send one message. The page keeps within the socket's window (see
        ``limits.WINDOW``); past ``limits.MAX_INFLIGHT`` unread bytes this refuses."""
        self._check(handle, socket)
        size = len(payload)
        if size > limits.MAX_MESSAGE:
            raise PeerSocketError.too_large("the message", size, limits.MAX_MESSAGE)
        if socket.inflight and socket.inflight + size > limits.MAX_INFLIGHT:
            raise PeerSocketError(
                "ERR_BUFFER_FULL",
                f"{socket.inflight} bytes written to this socket are still unread by the peer: "
                "wait for write() to resolve (or for bufferedamountlow) before writing more",
                "OperationError",
            )
        socket.sent += 1
        socket.bytes_sent += size
        socket.inflight += size
        membership = socket.membership
        delivered = True
        if socket.loopback:
            self._deliver(socket, payload, exclude=handle)
        elif socket.link is None:
            peer_socket = self._local_peer_socket(membership, socket.peer_id)
            if peer_socket is not None:
                self._deliver(peer_socket, payload)
            else:
                delivered = False
        else:
            link = socket.link
            me = membership.presence.id
            delivered = link.protocol.send_message(membership.topic, me, socket.peer_id, payload)
            if delivered:
                self._mark_dirty(link)
        if not delivered:
            socket.inflight -= size
        self._changed()

    def consumed(self, handle: SwarmHandle, socket: Socket, nbytes: int) -> None:
        """``handle``'s page has consumed ``nbytes`` of the messages ``socket`` delivered it."""
        owed = socket.owed.get(handle.id)
        if owed is None or nbytes <= 0:
            return
        socket.owed[handle.id] = max(0, owed - nbytes)
        self._credit_later(socket)

    def set_session_data(self, handle: SwarmHandle, data: bytes | None) -> None:
        if handle.closed:
            raise PeerSocketError.swarm_closed()
        if data is not None and len(data) > limits.MAX_SESSION_DATA:
            raise PeerSocketError.too_large("the session data", len(data), limits.MAX_SESSION_DATA)
        membership = handle.membership
        loopback = membership.loopback
        loopback.session_data = data
        for other in membership.handles:
            if other is not handle:
                self._emit(other, SessionData(loopback, data))
        me = membership.presence.id
        for other_membership in self.topics.get(membership.topic, ()):
            peer_socket = other_membership.sockets.get(me)
            if peer_socket is not None and peer_socket.state == "open":
                peer_socket.session_data = data
                self._emit_all(other_membership, SessionData(peer_socket, data))
        for link in self.links.values():
            link.protocol.set_session(membership.topic, me, data)
            self._mark_dirty(link)

    def close_socket(self, handle: SwarmHandle, socket: Socket, reason: str = "") -> None:
        self._check(handle, socket)
        if socket.loopback:
            raise PeerSocketError(
                "ERR_LOOPBACK_CLOSE",
                "the loopback socket lives as long as the swarm: close the swarm instead",
                "InvalidAccessError",
            )
        membership = socket.membership
        reason = reason[: limits.MAX_REASON_LEN]
        self._close_socket(socket, CLOSE_NORMAL, reason or "closed by this side", True)
        if socket.link is None:
            peer_socket = self._local_peer_socket(membership, socket.peer_id)
            if peer_socket is not None:
                self._close_socket(peer_socket, CLOSE_NORMAL, reason or "closed by the peer", True)
        else:
            me = membership.presence.id
            socket.link.protocol.close_socket(membership.topic, me, socket.peer_id, CLOSE_NORMAL, reason)
            self._mark_dirty(socket.link)

    # --- observers (the UI panel) ------------------------------------------------------

    def add_observer(self, callback: Callable[[], None]) -> None:
        self._observers.append(callback)

    def remove_observer(self, callback: Callable[[], None]) -> None:
        if callback in self._observers:
            self._observers.remove(callback)

    def snapshot(self) -> dict[str, Any]:
        """Everything a person may want to see, as plain data."""
        presences = [_presence_info(p) for p in self.presences.values()]
        links = [
            {
                "remote": link.remote_key.hex(),
                "host": link.remote_address[0] if link.remote_address else None,
                "port": link.remote_address[1] if link.remote_address else None,
                "state": link.state.value,
                "topics": len(link.protocol.shared_topics()),
            }
            for link in self.links.values()
        ]
        state, detail = self.engine_state
        engine: dict[str, Any] = {"state": state, "detail": detail}
        lan_devices = getattr(self.engine, "lan_devices", None)  # the 'lan' network only
        if lan_devices is not None:
            engine["lan_devices"] = lan_devices
        return {
            "device": {"engine": engine, "links": links},
            "presences": presences,
        }

    def origin_snapshot(self, origin: str) -> list[dict[str, Any]]:
        """The presences of one origin, as in ``snapshot()["presences"]`` (the peers indicator)."""
        return [_presence_info(p) for p in self.presences.values() if p.origin == origin]

    # --- EngineSink ------------------------------------------------------------------------

    def attach(self, transport: Transport) -> LinkSink:
        link = Link(self, transport)
        if self.closed:
            link.protocol.close("ERR_DEVICE_CLOSING", "the device is shutting down")
            link.flush()
            link.close_transport()
            return link
        existing = self.links.get(transport.remote_key)
        if existing is not None and existing.state is not LinkState.CLOSED:
            # one link per device; which one survives is the protocol's rule, so that both
            # devices close the same one (docs/PROTOCOL.md, "Duplicate links")
            old, new = existing.transport, transport
            if keeps_newer_link(new.local_key, new.remote_key, old.initiator, new.initiator):
                loser, reason = existing, "replaced by a newer link to this device"
            else:
                loser, reason = link, "a link to this device already exists"
            log.info("duplicate link to %s closed: %s", transport.remote_key.hex()[:8], reason)
            loser.protocol.close("ERR_DUPLICATE_LINK", reason)
            if loser is link:
                link.flush()
                link.close_transport()
                return link
            self._pump(existing)
        self.links[transport.remote_key] = link
        for topic, memberships in self.topics.items():
            link.protocol.add_topic(topic)
            for m in memberships:
                link.protocol.join(topic, m.presence.id, m.presence.sign, m.loopback.session_data)
        link.handshake_timer = self.loop.call_later(self.handshake_timeout, self._handshake_expired, link)
        link.flush()
        self._changed()
        return link

    def engine_state_changed(self, state: str, detail: str) -> None:
        self.engine_state = (state, detail)
        log.info("network engine %s: %s", state, detail)
        self._changed()

    # --- internals: memberships -------------------------------------------------------------

    def _enter(self, membership: Membership) -> None:
        topic = membership.topic
        me = membership.presence
        locals_ = self.topics.setdefault(topic, set())
        first = not locals_
        for other in locals_:
            if other.presence is me:
                continue
            self._open_socket(membership, other.presence.id, None, other.loopback.session_data)
            self._open_socket(other, me.id, None, membership.loopback.session_data)
        locals_.add(membership)
        for link in self.links.values():
            link.protocol.add_topic(topic)
            link.protocol.join(topic, me.id, me.sign, membership.loopback.session_data)
            for peer_id, session in link.protocol.peers_in(topic).items():
                self._open_socket(membership, peer_id, link, session)
            self._mark_dirty(link)
        if first and self.engine is not None:
            self.engine.join(topic)

    def _close_handle(self, handle: SwarmHandle, code: int, reason: str, *, linger: bool = True) -> None:
        """Close one tab's handle; its membership lingers for the grace period when it
        was the last handle (``linger``), else it leaves now."""
        if handle.closed:
            return
        handle.closed = True
        del self._handles[handle.id]
        left = self._owned.pop(handle.owner, 1) - 1
        if left:
            self._owned[handle.owner] = left
        membership = handle.membership
        membership.handles.discard(handle)
        for socket in (membership.loopback, *membership.sockets.values()):
            if socket.owed.pop(handle.id, None) is not None:
                self._credit_later(socket)
        self._emit(handle, SwarmClosed(code, reason))
        if not membership.handles and membership.active:
            if linger and self.grace > 0 and not self.closed:
                membership.grace_timer = self.loop.call_later(self.grace, self._grace_expired, membership)
            else:
                self._leave(membership)
        self._changed()

    def _grace_expired(self, membership: Membership) -> None:
        membership.grace_timer = None
        if not membership.handles:
            self._leave(membership)

    def _leave(self, membership: Membership) -> None:
        """The presence leaves the swarm: every socket of it closes, peers see it."""
        if not membership.active:
            return
        membership.active = False
        if membership.grace_timer is not None:
            membership.grace_timer.cancel()
            membership.grace_timer = None
        presence, topic = membership.presence, membership.topic
        for socket in list(membership.sockets.values()):
            self._close_socket(socket, CLOSE_GOING_AWAY, "this presence left the swarm", True)
        locals_ = self.topics.get(topic, set())
        locals_.discard(membership)
        for other in locals_:
            peer_socket = other.sockets.pop(presence.id, None)
            if peer_socket is not None:
                self._close_socket(peer_socket, CLOSE_GOING_AWAY, "the peer left the swarm", True)
            other.closed_peers.discard(presence.id)
        del presence.memberships[topic]
        last_here = not locals_
        if last_here:
            self.topics.pop(topic, None)
        for link in self.links.values():
            if last_here:
                link.protocol.remove_topic(topic)
            else:
                link.protocol.leave(topic, presence.id)
            if not presence.memberships:
                link.protocol.forget_presence(presence.id)
            self._mark_dirty(link)
        if last_here and self.engine is not None:
            self.engine.leave(topic)
        if not presence.memberships:
            self.presences.pop((presence.origin, presence.identity), None)
            log.info("presence %s forgotten", presence)
        self._changed()

    # --- internals: sockets -------------------------------------------------------------------

    def _open_socket(
        self, membership: Membership, peer_id: bytes, link: Link | None, session: bytes | None
    ) -> None:
        if peer_id in membership.closed_peers:
            return
        existing = membership.sockets.get(peer_id)
        if existing is not None and existing.state == "open":
            return  # reachable another way already: the first one wins
        socket = Socket(membership, peer_id, link, session)
        membership.sockets[peer_id] = socket
        self._emit_all(membership, Connection(socket))
        self._changed()

    def _close_socket(self, socket: Socket, code: int, reason: str, was_clean: bool) -> None:
        if socket.state == "closed":
            return
        socket.state = "closed"
        membership = socket.membership
        if code == CLOSE_NORMAL:
            membership.closed_peers.add(socket.peer_id)
        if membership.sockets.get(socket.peer_id) is socket and code != CLOSE_NORMAL:
            del membership.sockets[socket.peer_id]
        self._emit_all(membership, SocketClosed(socket, code, reason, was_clean))
        self._changed()

    def _local_peer_socket(self, membership: Membership, peer_id: bytes) -> Socket | None:
        """The socket the local peer presence holds back to ``membership``'s presence."""
        for other in self.topics.get(membership.topic, ()):
            if other.presence.id == peer_id:
                socket = other.sockets.get(membership.presence.id)
                if socket is not None and socket.state == "open":
                    return socket
        return None

    def _deliver(self, socket: Socket, payload: bytes, exclude: SwarmHandle | None = None) -> None:
        """Hand a message to every tab; it counts as consumed once every one of them
        has said so (``consumed``), and only then is the writer credited."""
        size = len(payload)
        socket.received += 1
        socket.bytes_received += size
        socket.held += size
        owed = socket.owed
        for handle in socket.membership.handles:
            if handle is not exclude:
                owed[handle.id] = owed.get(handle.id, 0) + size
                self._emit(handle, Message(socket, payload))
        self._credit_later(socket)

    # --- internals: flow control ------------------------------------------------------------

    def _credit_later(self, socket: Socket) -> None:
        self._credit_due.add(socket)
        self._schedule_flush()

    def _flush_credits(self) -> None:
        due, self._credit_due = self._credit_due, set()
        for socket in due:
            if socket.state != "open" or socket.held == 0:
                continue
            # every tab got the same stream of messages (from when it joined): what
            # some tab has not consumed yet is at most what the slowest one owes
            release = socket.held - max(socket.owed.values(), default=0)
            if release <= 0:
                continue
            socket.held -= release
            membership = socket.membership
            if socket.loopback:
                self._drained(socket, release)
            elif socket.link is None:
                writer = self._local_peer_socket(membership, socket.peer_id)
                if writer is not None:
                    self._drained(writer, release)
            else:
                me = membership.presence.id
                if socket.link.protocol.credit(membership.topic, me, socket.peer_id, release):
                    self._mark_dirty(socket.link)

    def _drained(self, socket: Socket, nbytes: int) -> None:
        socket.inflight = max(0, socket.inflight - nbytes)
        self._emit_all(socket.membership, Drain(socket, socket.inflight))

    def _check(self, handle: SwarmHandle, socket: Socket) -> None:
        if handle.closed:
            raise PeerSocketError.swarm_closed()
        if socket.membership is not handle.membership:
            raise PeerSocketError.invalid_argument("that socket belongs to another swarm")
        if socket.state != "open":
            raise PeerSocketError.socket_closed()

    # --- internals: links ------------------------------------------------------------------------

    def _pump(self, link: Link) -> None:
        """Send what the protocol queued and act on what it heard."""
        link.flush()
        for event in link.protocol.events_received():
            if isinstance(event, PeerMessage):
                self._on_peer_message(link, event)
            elif isinstance(event, PeerJoined):
                self._on_peer_joined(link, event)
            elif isinstance(event, PeerLeft):
                self._on_peer_left(link, event)
            elif isinstance(event, PeerSessionData):
                for socket in self._link_sockets(link, event.topic, event.peer_id):
                    socket.session_data = event.session_data
                    self._emit_all(socket.membership, SessionData(socket, event.session_data))
            elif isinstance(event, PeerCredit):
                self._on_peer_credit(link, event)
            elif isinstance(event, PeerClosedSocket):
                self._on_peer_closed_socket(link, event)
            elif isinstance(event, LinkOpened):
                if link.handshake_timer is not None:
                    link.handshake_timer.cancel()
                    link.handshake_timer = None
                log.info("link to %s open", link.remote_key.hex()[:8])
            elif isinstance(event, LinkClosed):
                self._on_link_closed(link, event)
        link.flush()

    def _on_peer_message(self, link: Link, event: PeerMessage) -> None:
        for m in self.topics.get(event.topic, ()):
            if m.presence.id == event.to_id:
                socket = m.sockets.get(event.peer_id)
                if socket is not None and socket.link is link and socket.state == "open":
                    if socket.held + len(event.payload) > limits.MAX_HELD:
                        reason = f"the peer wrote over {limits.MAX_HELD} unread bytes to one socket"
                        link.protocol.close("ERR_PROTOCOL", reason)
                        return
                    self._deliver(socket, event.payload)
                return

    def _on_peer_credit(self, link: Link, event: PeerCredit) -> None:
        for m in self.topics.get(event.topic, ()):
            if m.presence.id == event.to_id:
                socket = m.sockets.get(event.peer_id)
                if socket is not None and socket.link is link and socket.state == "open":
                    self._drained(socket, event.nbytes)
                return

    def _on_peer_joined(self, link: Link, event: PeerJoined) -> None:
        for m in list(self.topics.get(event.topic, ())):
            if m.presence.id == event.peer_id:
                continue
            old = m.sockets.get(event.peer_id)
            if old is not None and old.state == "open" and old.link is not link:
                if old.link is None:
                    continue  # a presence of this device: a remote claim can only be stale
                # The presence proved itself on a newer link: its device came back (a
                # restarted sidecar has a new key) while the old link has not timed out.
                # The old socket is dead; say so, then open the new one.
                self._close_socket(old, CLOSE_ABNORMAL, "the peer's device reconnected", False)
            self._open_socket(m, event.peer_id, link, event.session_data)

    def _on_peer_left(self, link: Link, event: PeerLeft) -> None:
        for socket in self._link_sockets(link, event.topic, event.peer_id):
            self._close_socket(socket, CLOSE_GOING_AWAY, "the peer left the swarm", True)
            socket.membership.closed_peers.discard(event.peer_id)
            socket.membership.sockets.pop(event.peer_id, None)

    def _on_peer_closed_socket(self, link: Link, event: PeerClosedSocket) -> None:
        for m in self.topics.get(event.topic, ()):
            if m.presence.id == event.to_id:
                socket = m.sockets.get(event.peer_id)
                if socket is not None and socket.link is link:
                    self._close_socket(socket, CLOSE_NORMAL, event.reason or "closed by the peer", True)

    def _on_link_closed(self, link: Link, event: LinkClosed) -> None:
        if event.code in ("ERR_PROTOCOL", "ERR_VERSION"):
            log.warning("link to %s closed: %s", link.remote_key.hex()[:8], event.reason)
        else:
            log.info("link to %s closed: %s %s", link.remote_key.hex()[:8], event.code, event.reason)
        if event.code == "ERR_PROTOCOL":
            code, clean = CLOSE_PROTOCOL, False
        elif event.by_peer and event.code == "ERR_DEVICE_CLOSING":
            code, clean = CLOSE_GOING_AWAY, True
        else:
            code, clean = CLOSE_ABNORMAL, False
        reason = f"link to the peer's device closed ({event.code}: {event.reason})"
        for memberships in self.topics.values():
            for m in memberships:
                for socket in list(m.sockets.values()):
                    if socket.link is link:
                        self._close_socket(socket, code, reason, clean)
                        m.sockets.pop(socket.peer_id, None)
                        m.closed_peers.discard(socket.peer_id)
        link.flush()
        link.close_transport()
        if self.links.get(link.remote_key) is link:
            del self.links[link.remote_key]
        # a peer that is still there over another link (its device reconnected) gets a socket
        for topic, memberships in self.topics.items():
            for other in self.links.values():
                for peer_id, session in other.protocol.peers_in(topic).items():
                    for m in memberships:
                        if m.presence.id != peer_id and peer_id not in m.sockets:
                            self._open_socket(m, peer_id, other, session)
        self._dirty_links.discard(link)
        self._changed()

    def _link_sockets(self, link: Link, topic: bytes, peer_id: bytes) -> list[Socket]:
        found = []
        for m in self.topics.get(topic, ()):
            socket = m.sockets.get(peer_id)
            if socket is not None and socket.link is link:
                found.append(socket)
        return found

    def _handshake_expired(self, link: Link) -> None:
        link.handshake_timer = None
        if link.state is LinkState.HANDSHAKE:
            link.protocol.close("ERR_HANDSHAKE_TIMEOUT", "the peer did not complete the handshake")
            self._pump(link)

    def _mark_dirty(self, link: Link) -> None:
        self._dirty_links.add(link)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Once per loop turn: credits owed to writers, then what links have to send."""
        self._flush_scheduled = False
        self._flush_credits()
        self._flush_links()

    def _flush_links(self) -> None:
        dirty, self._dirty_links = self._dirty_links, set()
        for link in dirty:
            self._pump(link)

    # --- internals: events ---------------------------------------------------------------------

    def _emit(self, handle: SwarmHandle, event: HandleEvent) -> None:
        if isinstance(event, SessionData):
            key = (handle.id, id(event.socket))
            cell = self._session_cells.get(key)
            if cell is not None:
                # the previous value was not dispatched yet and nothing came after it on
                # this socket: the page gets only the newest (a peer device setting its
                # session data in a loop cannot flood the page)
                cell[1] = event
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
        self._schedule_dispatch()

    def _schedule_dispatch(self) -> None:
        if not self._dispatch_scheduled:
            self._dispatch_scheduled = True
            try:
                self.loop.call_soon(self._dispatch)
            except RuntimeError:  # no running loop: the core is being torn down
                self._dispatch_scheduled = False

    def _emit_all(self, membership: Membership, event: HandleEvent) -> None:
        for handle in membership.handles:
            self._emit(handle, event)

    def _dispatch(self) -> None:
        self._dispatch_scheduled = False
        queue = self._queue
        while queue:
            handle, event = queue.popleft()
            if isinstance(event, SessionData):
                self._session_cells.pop((handle.id, id(event.socket)), None)
            if handle.closed and not isinstance(event, SwarmClosed):
                continue
            try:
                handle.listener(handle, event)
            except Exception:
                log.exception("a swarm listener raised; the event was dropped for that handle")

    def _changed(self) -> None:
        if self._notify_scheduled or not self._observers:
            return
        self._notify_scheduled = True
        try:
            self.loop.call_soon(self._notify)
        except RuntimeError:
            self._notify_scheduled = False

    def _notify(self) -> None:
        self._notify_scheduled = False
        for callback in list(self._observers):
            try:
                callback()
            except Exception:
                log.exception("a core observer raised")


def _presence_info(presence: Presence) -> dict[str, Any]:
    swarms = []
    for m in presence.memberships.values():
        swarms.append(
            {
                "type": m.key.kind,
                "name": m.key.name if m.key.kind == "open" else None,
                "topic": m.topic.hex(),
                "tabs": len({h.owner for h in m.handles}),
                "state": "joined" if m.grace_timer is None else "leaving",
                "sockets": [_socket_info(s) for s in (m.loopback, *m.sockets.values())],
            }
        )
    return {"origin": presence.origin, "identity": presence.identity, "id": presence.id_hex, "swarms": swarms}


def _socket_info(socket: Socket) -> dict[str, Any]:
    address = socket.address
    return {
        "id": socket.id_hex,
        "host": address[0] if address else None,
        "port": address[1] if address else None,
        "loopback": socket.loopback,
        "state": socket.state,
        "sent": socket.sent,
        "received": socket.received,
        "unread": socket.inflight,
    }
