"""The swarm core: presences, swarms and sockets of one device, and its links.

Pure asyncio, no Qt. The bridge calls :meth:`SwarmCore.join` for each
``joinSwarm()`` and gets a :class:`SwarmHandle`; what the tab does with it goes
through the core (:meth:`~SwarmCore.write`, :meth:`~SwarmCore.close_handle`...),
and what it hears goes to the listener it gave ``join``. Presences on this
device reach each other directly; other devices are reached over links made by
the engine, one per remote device, with every topic and presence multiplexed on
it.

This module holds the page-facing API and the life of memberships (join,
grace period, leave). The rest is in the modules it wires together:

* ``swarm/mesh.py``: the sockets between presences, opened and closed;
* ``swarm/flow.py``: flow control (windows and credits);
* ``swarm/linkset.py``: the links to other devices and what they say;
* ``swarm/dispatch.py``: the event queue (events reach listeners on a later
  loop turn, in order, so a listener may call back into the core freely) and
  the observers of the core's state;
* ``swarm/snapshot.py``: the core as plain data for the PeerSocket panel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

from swarm import limits
from swarm.budget import Clock, OwnChanges, TokenBucket
from swarm.dispatch import EventQueue, Listener, Observers
from swarm.engine import Engine, LinkSink, Transport
from swarm.errors import PeerSocketError
from swarm.events import CLOSE_GOING_AWAY, CLOSE_NORMAL, SessionData, SwarmClosed
from swarm.flow import Flow, runs_of
from swarm.link import Link
from swarm.linkset import LinkSet
from swarm.mesh import Mesh
from swarm.presence import Membership, Presence, Socket, SwarmHandle
from swarm.snapshot import PresenceSnapshot, Snapshot, presence_snapshots, snapshot
from swarm.topics import SwarmKey
from swarm.turns import Turns

log = logging.getLogger("peerbrowser.swarm")

DEFAULT_GRACE = 3.0
DEFAULT_HANDSHAKE_TIMEOUT = 10.0


class Refusal(NamedTuple):
    """A write :meth:`SwarmCore.write_many` refused: which one (``at``, its place in the
    payloads), why, and what the socket then had unread by its peer (``Socket.inflight``,
    for the page's drain)."""

    at: int
    error: PeerSocketError
    inflight: int


class SwarmCore:
    def __init__(
        self,
        engine: Engine | None = None,
        *,
        grace: float = DEFAULT_GRACE,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Clock | None = None,
        paced: bool = True,
    ) -> None:
        """``clock``: the time and timers the budgets are counted with (the loop's by
        default; a test's fake to move time by hand). ``paced``: other devices'
        membership frames are read at ``limits.MEMBERSHIP_PACE`` at most, so that a flood
        of them within its budget takes a bounded share of the thread the pages share
        (docs/PROTOCOL.md, "Budgets"); off only for tests of the budgets themselves."""
        self._loop = loop
        self._clock = clock
        self.engine = engine
        self.grace = grace
        self.engine_state = ("none", "no network engine: presences on this device only")
        self.presences: dict[tuple[str, int], Presence] = {}
        self.closed = False
        self._handles: dict[int, SwarmHandle] = {}
        self._owned: dict[object, int] = {}  # owner (a page's document) -> open handles
        self._flush_scheduled = False
        self._own = OwnChanges()  # what the pages may make this device send its peers
        #: How the core shares its thread: pages and links in slices, deferred work in
        #: one loop callback per turn (``swarm/turns.py``).
        self.turns = Turns(self._get_loop, inline=True)
        self._events = EventQueue(self.turns.late, self._get_clock)
        self._observers = Observers(self.turns.after)  # once the pages' batches left
        self._mesh = Mesh(self._events, self._observers)
        self._flow = Flow(self._mesh, self._events, self._schedule_flush)
        self._events.on_dropped = self._flow.consumed  # messages of a socket that vanished
        self._links = LinkSet(
            self._mesh,
            self._flow,
            self._events,
            self._observers,
            loop=self._get_loop,
            handshake_timeout=handshake_timeout,
            schedule=self._schedule_flush,
            ready=self.turns.ready,
            clock=self._get_clock,
            paced=paced,
        )

    @property
    def topics(self) -> dict[bytes, set[Membership]]:
        """The local memberships of each topic this device is in."""
        return self._mesh.topics

    @property
    def links(self) -> dict[bytes, Link]:
        """The live link to each remote device, by its key."""
        return self._links.links

    @property
    def handshake_timeout(self) -> float:
        """Seconds a new link has to complete its handshake before it is dropped."""
        return self._links.handshake_timeout

    @handshake_timeout.setter
    def handshake_timeout(self, seconds: float) -> None:
        self._links.handshake_timeout = seconds

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
        self._links.close_all()
        self._events.dispatch()
        if self.engine is not None:
            await self.engine.close()
        self._observers.clear()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop timers and events run on: the one given, else the running one."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    def _get_clock(self) -> Clock:
        return self._clock if self._clock is not None else self.loop

    # --- the page-facing API (through the bridge) -----------------------------------------

    def join(
        self,
        origin: str,
        identity: int,
        key: SwarmKey,
        owner: object,
        listener: Listener,
    ) -> SwarmHandle:
        """Join ``key`` as presence (origin, identity) for one tab (``owner``);
        ``listener`` hears the handle's events until its ``SwarmClosed``."""
        if self.closed:
            raise PeerSocketError.core_closed()
        if self._owned.get(owner, 0) >= limits.MAX_HANDLES_PER_OWNER:
            raise PeerSocketError.too_many("swarms open in this page", limits.MAX_HANDLES_PER_OWNER)
        self._check_room(origin, identity, key.topic)
        self._check_pace(origin, identity, key.topic)
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
        handle = SwarmHandle(membership, owner)
        membership.handles.add(handle)
        self._handles[handle.id] = handle
        self._events.listen(handle, listener)
        self._owned[owner] = self._owned.get(owner, 0) + 1
        self._observers.changed()
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

    def _check_pace(self, origin: str, identity: int, topic: bytes) -> None:
        """Refuse a join that would make this device change what it announces to its
        peers faster than their budgets allow (``limits.OWN_MEMBERSHIP_*``)."""
        presence = self.presences.get((origin, identity))
        if (presence is not None and topic in presence.memberships) or not self.links:
            return  # nothing new to announce, or nobody to announce it to
        cost = self._own.membership_cost(topic not in self.topics, presence is None)
        bound = (
            f"a device changes what it announces to its peers by at most {limits.OWN_MEMBERSHIP_RATE} "
            f"frames a second (a burst of {limits.OWN_MEMBERSHIP_BUDGET}; a new swarm membership "
            "counts 2 to 8)"
        )
        self._spend(self._own.membership, cost, "joinSwarm() calls", bound)

    def _spend(self, bucket: TokenBucket, cost: int, what: str, bound: str) -> None:
        now = self._get_clock().time()
        if not bucket.take(cost, now):
            raise PeerSocketError.too_fast(what, bound, bucket.wait(cost, now))

    def handles_of(self, owner: object) -> list[SwarmHandle]:
        return [h for h in self._handles.values() if h.owner is owner]

    def release(self, owner: object) -> None:
        """A tab closed or navigated away: close all of its handles."""
        for handle in self.handles_of(owner):
            self.close_handle(handle)

    def close_handle(self, handle: SwarmHandle) -> None:
        """``swarm.close()``: this tab leaves the swarm (the presence too, after the
        grace period, when it was its last tab there)."""
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
            log.info(
                "%s: %d swarm object(s) closed, %d membership(s) left: %s",
                origin,
                len(handles),
                len(memberships),
                reason,
            )
        return len(handles)

    def write(self, handle: SwarmHandle, socket: Socket, payload: bytes) -> None:
        """Send one message. The page keeps within the socket's window (see
        ``limits.WINDOW``); past ``limits.MAX_INFLIGHT`` unread bytes this refuses."""
        refused = self.write_many(handle, socket, (payload,))
        if refused:
            raise refused[0].error

    def write_many(self, handle: SwarmHandle, socket: Socket, payloads: Sequence[bytes]) -> list[Refusal]:
        """Send several messages on one socket, in order: what :meth:`write` does for
        each, one after the other (a page's ``W`` op), with the socket checked and its
        route found once. Returns the writes refused, in order, as :class:`Refusal`; the
        others are on their way. Raises, for all of them, when the socket cannot be
        written at all (the swarm or the socket closed)."""
        self._check(handle, socket)
        send, link = self._sender(handle, socket)
        sizes = list(map(len, payloads))
        total = sum(sizes)
        refused: list[Refusal] = []
        if sizes and max(sizes) <= limits.MAX_MESSAGE and self._flow.sending_all(socket, len(sizes), total):
            # none could be refused: counted and sent together
            counted = True
            queued = send(payloads)
            if not queued:  # its peer is not reachable here: not in flight after all
                socket.inflight -= total
        else:  # one by one, as they are refused
            sending = self._flow.sending
            counted = queued = False
            for index, payload in enumerate(payloads):
                size = sizes[index]
                try:
                    if size > limits.MAX_MESSAGE:
                        raise PeerSocketError.too_large("the message", size, limits.MAX_MESSAGE)
                    sending(socket, size)
                except PeerSocketError as err:
                    refused.append(Refusal(index, err, socket.inflight))
                    continue
                counted = True
                if send((payload,)):
                    queued = True
                else:  # its peer is not reachable here: not in flight after all
                    socket.inflight -= size
        if queued and link is not None:
            self._links.mark_dirty(link)
        if counted:
            self._observers.changed()
        return refused

    def _sender(
        self, handle: SwarmHandle, socket: Socket
    ) -> tuple[Callable[[Sequence[bytes]], bool], Link | None]:
        """How messages written on ``socket`` by ``handle``'s page go: a function that
        sends some, in order, and says whether they went (to this device's tabs, or
        queued on the link, which is returned beside it), or not (their peer is not
        reachable here)."""
        flow, membership = self._flow, socket.membership
        if socket.loopback:  # to the presence's other tabs

            def to_other_tabs(payloads: Sequence[bytes]) -> bool:
                for run in runs_of(payloads):
                    flow.deliver(socket, run, exclude=handle)
                return True

            return to_other_tabs, None
        link = socket.link
        if link is None:  # to a presence of this device
            peer_socket = self._mesh.local_peer_socket(membership, socket.peer_id)
            if peer_socket is None:
                return (lambda _payloads: False), None

            def to_this_device(payloads: Sequence[bytes]) -> bool:
                for run in runs_of(payloads):
                    flow.deliver(peer_socket, run)
                return True

            return to_this_device, None
        send_messages = link.protocol.send_messages
        topic, me, peer = membership.topic, membership.presence.id, socket.peer_id
        return (lambda payloads: send_messages(topic, me, peer, payloads)), link

    def consumed(self, handle: SwarmHandle, socket: Socket, nbytes: int) -> None:
        """``handle``'s page has consumed ``nbytes`` of the messages ``socket`` delivered it."""
        self._flow.consumed(handle, socket, nbytes)
        self._events.consumed(handle, socket, nbytes)

    def set_session_data(self, handle: SwarmHandle, data: bytes | None) -> None:
        """Publish the presence's session data in this swarm (the loopback's)."""
        if handle.closed:
            raise PeerSocketError.swarm_closed()
        if data is not None and len(data) > limits.MAX_SESSION_DATA:
            raise PeerSocketError.too_large("the session data", len(data), limits.MAX_SESSION_DATA)
        membership = handle.membership
        if self._links.shares(membership.topic):
            bound = (
                f"a device sends its peers at most {limits.OWN_SESSION_RATE // limits.KiB} KiB of "
                f"session data a second (a burst of {limits.OWN_SESSION_BUDGET // limits.MiB} MiB; "
                f"each value counts at least {limits.SESSION_MIN_COST // limits.KiB} KiB)"
            )
            self._spend(self._own.session, self._own.session_cost(data), "setSessionData() calls", bound)
        loopback = membership.loopback
        loopback.session_data = data
        for other in membership.handles:
            if other is not handle:
                self._events.emit(other, SessionData(loopback, data))
        me = membership.presence.id
        for other_membership in self.topics.get(membership.topic, ()):
            peer_socket = other_membership.sockets.get(me)
            if peer_socket is not None and peer_socket.state == "open":
                peer_socket.session_data = data
                self._events.emit_all(other_membership, SessionData(peer_socket, data))
        self._links.session_changed(membership, data)

    def close_socket(self, handle: SwarmHandle, socket: Socket, reason: str = "") -> None:
        """``socket.close()``: closed for every tab of the presence, and the peer's."""
        self._check(handle, socket)
        if socket.loopback:
            raise PeerSocketError.loopback_close()
        membership = socket.membership
        reason = reason[: limits.MAX_REASON_LEN]
        self._mesh.close_socket(socket, CLOSE_NORMAL, reason or "closed by this side", True)
        if socket.link is None:
            peer_socket = self._mesh.local_peer_socket(membership, socket.peer_id)
            if peer_socket is not None:
                self._mesh.close_socket(peer_socket, CLOSE_NORMAL, reason or "closed by the peer", True)
        else:
            me = membership.presence.id
            socket.link.protocol.close_socket(membership.topic, me, socket.peer_id, CLOSE_NORMAL, reason)
            self._links.mark_dirty(socket.link)

    def _check(self, handle: SwarmHandle, socket: Socket) -> None:
        if handle.closed:
            raise PeerSocketError.swarm_closed()
        if socket.membership is not handle.membership:
            raise PeerSocketError.invalid_argument("that socket belongs to another swarm")
        if socket.state != "open":
            raise PeerSocketError.socket_closed()

    # --- what a person sees (the PeerSocket panel) ---------------------------------------

    def add_observer(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs once per loop turn at most while anything changed."""
        self._observers.add(callback)

    def remove_observer(self, callback: Callable[[], None]) -> None:
        self._observers.remove(callback)

    def snapshot(self) -> Snapshot:
        """Everything a person may want to see, as plain data (``swarm/snapshot.py``)."""
        key = self.engine.public_key if self.engine is not None else None
        lan_devices = getattr(self.engine, "lan_devices", None)  # the 'lan' network only
        return snapshot(self.presences.values(), self.links.values(), self.engine_state, key, lan_devices)

    def origin_snapshot(self, origin: str) -> list[PresenceSnapshot]:
        """The presences of one origin, as in ``snapshot()["presences"]`` (the peers indicator)."""
        return presence_snapshots(p for p in self.presences.values() if p.origin == origin)

    # --- EngineSink ------------------------------------------------------------------------

    def attach(self, transport: Transport) -> LinkSink:
        return self._links.attach(transport)

    def engine_state_changed(self, state: str, detail: str) -> None:
        self.engine_state = (state, detail)
        log.info("network engine %s: %s", state, detail)
        self._observers.changed()

    # --- memberships -------------------------------------------------------------------------

    def _enter(self, membership: Membership) -> None:
        topic = membership.topic
        me = membership.presence
        locals_ = self.topics.setdefault(topic, set())
        first = not locals_
        for other in locals_:
            if other.presence is me:
                continue
            self._mesh.open_socket(membership, other.presence.id, None, other.loopback.session_data)
            self._mesh.open_socket(other, me.id, None, membership.loopback.session_data)
        locals_.add(membership)
        self._links.joined(membership)
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
        self._flow.forget(handle)
        self._events.emit(handle, SwarmClosed(code, reason))
        if not membership.handles and membership.active:
            if linger and self.grace > 0 and not self.closed:
                membership.grace_timer = self.loop.call_later(self.grace, self._grace_expired, membership)
            else:
                self._leave(membership)
        self._observers.changed()

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
            self._mesh.close_socket(socket, CLOSE_GOING_AWAY, "this presence left the swarm", True)
        locals_ = self.topics.get(topic, set())
        locals_.discard(membership)
        for other in locals_:
            peer_socket = other.sockets.pop(presence.id, None)
            if peer_socket is not None:
                self._mesh.close_socket(peer_socket, CLOSE_GOING_AWAY, "the peer left the swarm", True)
            other.closed_peers.discard(presence.id)
        del presence.memberships[topic]
        last_here = not locals_
        if last_here:
            self.topics.pop(topic, None)
        self._links.left(membership, last_here)
        if last_here and self.engine is not None:
            self.engine.leave(topic)
        if not presence.memberships:
            self.presences.pop((presence.origin, presence.identity), None)
            log.info("presence %s forgotten", presence)
        self._observers.changed()

    # --- the end of a loop turn ------------------------------------------------------------

    def at_turn_end(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once this turn's work is done (the next turn's, outside one): what
        an engine sends goes out in the turn that queued it (``swarm/engine.py``)."""
        self.turns.at_end(fn)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.turns.soon(self._flush)

    def _flush(self) -> None:
        """Once per loop turn: credits owed to writers, then what links have to send."""
        self._flush_scheduled = False
        self._flow.flush()
        self._links.flush()
