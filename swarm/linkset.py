"""The links of one device: at most one to each other device, and what they say.

The engine hands the core each new connection (``SwarmCore.attach``);
:class:`LinkSet` keeps one link per device (of two, the one the protocol's rule
picks, ``keeps_newer_link``, so that both devices keep the same one),
gives the peer ``handshake_timeout`` seconds to finish the handshake, tells
the new link every topic and presence of this device, and from then on turns
the link protocol's events into changes to the local sockets (``swarm/mesh.py``):
a peer joined or left, a message or a credit arrived, a socket or the whole
link closed. The core tells it what the local presences do (:meth:`joined`,
:meth:`left`, :meth:`session_changed`), and every link with something to send
is flushed once at the end of the loop turn (:meth:`flush`).

It also keeps the peers to their budgets (``swarm/budget.py``, docs/PROTOCOL.md
"Budgets"): a link whose peer ran out of one reads nothing more until the
protocol may read on; a device whose link was closed for its rate
(``ERR_RATE_LIMIT``) is refused for a while, and links from devices not seen
lately are taken at a bounded rate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

from swarm import limits
from swarm.budget import Clock, LinkBudget, NewDevices, Refusals, SharedPace
from swarm.dispatch import EventQueue, LoopGetter, Observers
from swarm.engine import PEER_OVERRUN, Transport
from swarm.events import CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_PROTOCOL, SessionData
from swarm.flow import Flow
from swarm.link import Link
from swarm.mesh import Mesh
from swarm.presence import Membership
from swarm.protocol import (
    LinkClosed,
    LinkOpened,
    LinkState,
    PeerClosedSocket,
    PeerCredit,
    PeerJoined,
    PeerLeft,
    PeerMessage,
    PeerMessages,
    PeerSessionData,
    ReadingPaused,
    keeps_newer_link,
)
from swarm.trim import Trimmer

log = logging.getLogger("peerbrowser.swarm")


class LinkSet:
    def __init__(
        self,
        mesh: Mesh,
        flow: Flow,
        events: EventQueue,
        observers: Observers,
        *,
        loop: LoopGetter,
        handshake_timeout: float,
        schedule: Callable[[], None],
        clock: Callable[[], Clock],
        ready: Callable[[Link], None] | None = None,
        paced: bool = True,
    ) -> None:
        """``schedule()`` asks for :meth:`flush` at the end of this loop turn; ``clock()``
        gives the time and timers the budgets are counted with (the loop, or a test's);
        ``ready`` (the core's ``Turns.ready``) has links read their bytes in slices;
        ``paced``: links read membership frames at ``limits.MEMBERSHIP_PACE`` at most each,
        and at ``limits.MEMBERSHIP_PACE_ALL`` all together."""
        self.paced = paced
        #: The pace all links share (None: not paced).
        self.all_links_pace = SharedPace() if paced else None
        self.links: dict[bytes, Link] = {}  # remote device key -> live link
        self.handshake_timeout = handshake_timeout
        self.closing = False
        self._mesh = mesh
        self._flow = flow
        self._events = events
        self._observers = observers
        self._loop = loop
        self._schedule = schedule
        self._ready = ready
        self._clock = clock
        self._dirty: set[Link] = set()
        #: Devices refused for their rate, and the pace of links from new ones.
        self.refusals = Refusals()
        self.new_devices = NewDevices()
        #: Memory a link that carried a lot held goes back to the system after it closed.
        self.trimmer = Trimmer(lambda delay, fn: self._loop().call_later(delay, fn))

    # --- links coming and going -----------------------------------------------------------

    def attach(self, transport: Transport) -> Link:
        """A new connection from the engine: the link that will run on it."""
        budget = LinkBudget(paced=self.paced, all_links=self.all_links_pace)
        link = Link(transport, self.pump, self.mark_dirty, self._now, self._ready, budget=budget)
        if self.closing:
            self._refuse(link, "ERR_DEVICE_CLOSING", "the device is shutting down")
            return link
        refused = self._admission(transport.remote_key)
        if refused is not None:
            log.info("link from %s refused: %s", transport.remote_key.hex()[:8], refused)
            self._refuse(link, "ERR_RATE_LIMIT", refused)
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
            if loser is link:
                self._refuse(link, "ERR_DUPLICATE_LINK", reason)
                return link
            existing.protocol.close("ERR_DUPLICATE_LINK", reason)
            self.pump(existing)
        self.links[transport.remote_key] = link
        for topic, memberships in self._mesh.topics.items():
            link.protocol.add_topic(topic)
            for m in memberships:
                link.protocol.join(topic, m.presence.id, m.presence.sign, m.loopback.session_data)
        link.handshake_timer = self._loop().call_later(self.handshake_timeout, self._handshake_expired, link)
        link.flush()
        self._observers.changed()
        return link

    def close_all(self) -> None:
        """The device is shutting down: say goodbye on every link, now."""
        self.closing = True
        for link in list(self.links.values()):
            link.protocol.close("ERR_DEVICE_CLOSING", "the device is shutting down")
            self.pump(link)
        self.flush()

    def _now(self) -> float:
        return self._clock().time()

    def _admission(self, key: bytes) -> str | None:
        """Why a new link from device ``key`` is refused now, or None."""
        now = self._now()
        seconds = self.refusals.refused_for(key, now)
        if seconds > 0:
            return (
                f"links from your device are refused for {math.ceil(seconds)} more seconds: "
                "its last link went over its budget"
            )
        if not self.new_devices.admit(key, now):
            return (
                f"more than {limits.NEW_DEVICE_RATE} new devices a second are linking to this "
                "one: try again in a few seconds"
            )
        return None

    @staticmethod
    def _refuse(link: Link, code: str, reason: str) -> None:
        link.protocol.close(code, reason)
        link.flush()
        link.close_transport()

    def _handshake_expired(self, link: Link) -> None:
        link.handshake_timer = None
        if link.state is LinkState.HANDSHAKE:
            link.protocol.close("ERR_HANDSHAKE_TIMEOUT", "the peer did not complete the handshake")
            self.pump(link)

    # --- what the local presences do -------------------------------------------------------

    def joined(self, membership: Membership) -> None:
        """A local presence joined a swarm: announce it, and open its sockets to the
        peers the links already know there."""
        topic, me = membership.topic, membership.presence
        for link in self.links.values():
            link.protocol.add_topic(topic)
            link.protocol.join(topic, me.id, me.sign, membership.loopback.session_data)
            for peer_id, session in link.protocol.peers_in(topic).items():
                self._mesh.open_socket(membership, peer_id, link, session)
            self.mark_dirty(link)

    def left(self, membership: Membership, last_here: bool) -> None:
        """A local presence left a swarm (``last_here``: the last one of this device)."""
        topic, presence = membership.topic, membership.presence
        for link in self.links.values():
            if last_here:
                link.protocol.remove_topic(topic)
            else:
                link.protocol.leave(topic, presence.id)
            if not presence.memberships:
                link.protocol.forget_presence(presence.id)
            self.mark_dirty(link)

    def session_changed(self, membership: Membership, data: bytes | None) -> None:
        for link in self.links.values():
            link.protocol.set_session(membership.topic, membership.presence.id, data)
            self.mark_dirty(link)

    def shares(self, topic: bytes) -> bool:
        """Whether some link shares ``topic`` with its peer (session data goes there)."""
        return any(link.protocol.shares(topic) for link in self.links.values())

    # --- sending ----------------------------------------------------------------------------

    def mark_dirty(self, link: Link) -> None:
        self._dirty.add(link)
        self._schedule()

    def flush(self) -> None:
        """Send what every link has queued (and act on what that changed)."""
        dirty, self._dirty = self._dirty, set()
        for link in dirty:
            self.pump(link)

    # --- what the other devices say ----------------------------------------------------------

    def pump(self, link: Link) -> None:
        """Send what the protocol queued and act on what it heard."""
        link.flush()
        for event in link.protocol.events_received():
            if isinstance(event, PeerMessage):
                self._on_peer_message(link, event.topic, event.to_id, event.peer_id, (event.payload,))
            elif isinstance(event, PeerMessages):
                self._on_peer_message(link, event.topic, event.to_id, event.peer_id, event.payloads)
            elif isinstance(event, PeerJoined):
                self._on_peer_joined(link, event)
            elif isinstance(event, PeerLeft):
                self._on_peer_left(link, event)
            elif isinstance(event, PeerSessionData):
                for socket in self._mesh.link_sockets(link, event.topic, event.peer_id):
                    socket.session_data = event.session_data
                    self._events.emit_all(socket.membership, SessionData(socket, event.session_data))
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
            elif isinstance(event, ReadingPaused):
                self._pause(link, event)
        link.flush()

    # --- budgets -----------------------------------------------------------------------------

    def _pause(self, link: Link, event: ReadingPaused) -> None:
        """The peer ran out of a budget: read nothing more from it until ``event.until``."""
        if link.state is LinkState.CLOSED:
            return
        clock = self._clock()
        if not link.reading_held and not event.paced:
            log.info(
                "link to %s over its %s budget: reading paused for %.1f s",
                link.remote_key.hex()[:8],
                event.budget,
                event.until - clock.time(),
            )
        if not event.paced:
            # paced only: the link's inbox stops being read, and its own bound pauses the
            # transport if the peer goes on (no pause and resume every few milliseconds)
            link.hold_reading("budget", True)
        if link.resume_timer is not None:
            link.resume_timer.cancel()
        link.resume_timer = clock.call_later(max(0.0, event.until - clock.time()), lambda: self._resume(link))

    def _resume(self, link: Link) -> None:
        link.resume_timer = None
        if link.state is LinkState.CLOSED:
            return
        link.protocol.resume_reading(self._now())
        self.pump(link)
        if not link.protocol.reading_paused and not link.protocol.is_closed:
            link.hold_reading("budget", False)
            link.kick()  # what waited in the link's inbox meanwhile

    def _on_peer_message(
        self, link: Link, topic: bytes, to_id: bytes, peer_id: bytes, payloads: Sequence[bytes]
    ) -> None:
        # Mesh.addressed(), written out: this runs for every frame of messages
        for m in self._mesh.topics.get(topic, ()):
            if m.presence.id == to_id:
                socket = m.sockets.get(peer_id)
                if socket is not None and socket.link is link and socket.state == "open":
                    if socket.held + sum(map(len, payloads)) > limits.MAX_HELD:
                        # (what came before this frame was delivered; none of it is)
                        reason = f"the peer wrote over {limits.MAX_HELD} unread bytes to one socket"
                        link.protocol.close("ERR_PROTOCOL", reason)
                        return
                    self._flow.deliver(socket, payloads)
                return

    def _on_peer_credit(self, link: Link, event: PeerCredit) -> None:
        socket = self._mesh.addressed(event.topic, event.to_id, event.peer_id)
        if socket is not None and socket.link is link and socket.state == "open":
            self._flow.drained(socket, event.nbytes)

    def _on_peer_closed_socket(self, link: Link, event: PeerClosedSocket) -> None:
        socket = self._mesh.addressed(event.topic, event.to_id, event.peer_id)
        if socket is not None and socket.link is link:
            self._mesh.close_socket(socket, CLOSE_NORMAL, event.reason or "closed by the peer", True)

    def _on_peer_joined(self, link: Link, event: PeerJoined) -> None:
        for m in list(self._mesh.topics.get(event.topic, ())):
            if m.presence.id == event.peer_id:
                continue
            old = m.sockets.get(event.peer_id)
            if old is not None and old.state == "open" and old.link is not link:
                if old.link is None:
                    continue  # a presence of this device: a remote claim can only be stale
                # The presence proved itself on a newer link: its device came back (a
                # restarted sidecar has a new key) while the old link has not timed out.
                # The old socket is dead; say so, then open the new one.
                self._mesh.close_socket(old, CLOSE_ABNORMAL, "the peer's device reconnected", False)
            self._mesh.open_socket(m, event.peer_id, link, event.session_data)

    def _on_peer_left(self, link: Link, event: PeerLeft) -> None:
        for socket in self._mesh.link_sockets(link, event.topic, event.peer_id):
            self._mesh.close_socket(socket, CLOSE_GOING_AWAY, "the peer left the swarm", True)
            socket.membership.closed_peers.discard(event.peer_id)
            socket.membership.sockets.pop(event.peer_id, None)

    def _on_link_closed(self, link: Link, event: LinkClosed) -> None:
        if event.code == "ERR_RATE_LIMIT" and not event.by_peer:
            seconds = self.refusals.cut(link.remote_key, self._now())
            log.warning(
                "link to %s closed, the device refused for %g s: %s",
                link.remote_key.hex()[:8],
                seconds,
                event.reason,
            )
        elif event.code in ("ERR_PROTOCOL", "ERR_VERSION", PEER_OVERRUN):
            log.warning("link to %s closed: %s %s", link.remote_key.hex()[:8], event.code, event.reason)
        else:
            log.info("link to %s closed: %s %s", link.remote_key.hex()[:8], event.code, event.reason)
        if event.code in ("ERR_PROTOCOL", PEER_OVERRUN):
            # it broke the protocol (sending far past its windows is one way): its pages
            # hear 1002, and what it sent past a page's window goes with it
            code, clean = CLOSE_PROTOCOL, False
        elif event.by_peer and event.code == "ERR_DEVICE_CLOSING":
            code, clean = CLOSE_GOING_AWAY, True
        else:
            code, clean = CLOSE_ABNORMAL, False
        reason = f"link to the peer's device closed ({event.code}: {event.reason})"
        topics = self._mesh.topics
        for memberships in topics.values():
            for m in memberships:
                for socket in list(m.sockets.values()):
                    if socket.link is link:
                        self._mesh.close_socket(socket, code, reason, clean)
                        m.sockets.pop(socket.peer_id, None)
                        m.closed_peers.discard(socket.peer_id)
        self.trimmer.released(link.received)
        link.flush()
        link.close_transport()
        link.protocol.budget.give_up_turn()
        if self.links.get(link.remote_key) is link:
            del self.links[link.remote_key]
        # a peer that is still there over another link (its device reconnected) gets a socket
        for topic, memberships in topics.items():
            for other in self.links.values():
                for peer_id, session in other.protocol.peers_in(topic).items():
                    for m in memberships:
                        if m.presence.id != peer_id and peer_id not in m.sockets:
                            self._mesh.open_socket(m, peer_id, other, session)
        self._dirty.discard(link)
        self._observers.changed()
