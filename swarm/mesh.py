"""The sockets of one device: in each swarm, one socket from every local presence
to every other presence it can reach (a full mesh).

A socket to a presence of this device has no link; one to a presence of another
device goes over the link to that device. :class:`Mesh` keeps the local
memberships of each topic and opens, finds and closes those sockets, telling
the tabs (``Connection``, ``SocketClosed``). When to do so is decided by the
core (joins, leaves, ``close()``) and by the links (``swarm/linkset.py``: what
the other device said).
"""

from __future__ import annotations

from swarm.dispatch import EventQueue, Observers
from swarm.events import CLOSE_NORMAL, Connection, SocketClosed
from swarm.link import Link
from swarm.presence import Membership, Socket


class Mesh:
    def __init__(self, events: EventQueue, observers: Observers) -> None:
        self.topics: dict[bytes, set[Membership]] = {}  # local memberships per topic
        self._events = events
        self._observers = observers

    def open_socket(
        self, membership: Membership, peer_id: bytes, link: Link | None, session: bytes | None
    ) -> None:
        """A socket from ``membership`` to presence ``peer_id``, unless one is open
        already (the first way found wins) or the two closed theirs for good."""
        if peer_id in membership.closed_peers:
            return
        existing = membership.sockets.get(peer_id)
        if existing is not None and existing.state == "open":
            return
        socket = Socket(membership, peer_id, link, session)
        membership.sockets[peer_id] = socket
        self._events.emit_all(membership, Connection(socket))
        self._observers.changed()

    def close_socket(self, socket: Socket, code: int, reason: str, was_clean: bool) -> None:
        """Close ``socket`` for every tab. A normal close (``socket.close()``) keeps the
        pair apart for as long as both stay in the swarm; any other frees the slot."""
        if socket.state == "closed":
            return
        socket.state = "closed"
        membership = socket.membership
        if code == CLOSE_NORMAL:
            membership.closed_peers.add(socket.peer_id)
        if membership.sockets.get(socket.peer_id) is socket and code != CLOSE_NORMAL:
            del membership.sockets[socket.peer_id]
        self._events.emit_all(membership, SocketClosed(socket, code, reason, was_clean))
        self._observers.changed()

    def local_peer_socket(self, membership: Membership, peer_id: bytes) -> Socket | None:
        """The open socket the local presence ``peer_id`` holds back to ``membership``'s."""
        for other in self.topics.get(membership.topic, ()):
            if other.presence.id == peer_id:
                socket = other.sockets.get(membership.presence.id)
                if socket is not None and socket.state == "open":
                    return socket
        return None

    def addressed(self, topic: bytes, to_id: bytes, peer_id: bytes) -> Socket | None:
        """The socket of local presence ``to_id`` to ``peer_id`` in ``topic``, if any:
        where a frame from a remote ``peer_id`` to ``to_id`` belongs."""
        for m in self.topics.get(topic, ()):
            if m.presence.id == to_id:
                return m.sockets.get(peer_id)
        return None

    def link_sockets(self, link: Link, topic: bytes, peer_id: bytes) -> list[Socket]:
        """Every local socket to ``peer_id`` in ``topic`` that goes over ``link``."""
        found = []
        for m in self.topics.get(topic, ()):
            socket = m.sockets.get(peer_id)
            if socket is not None and socket.link is link:
                found.append(socket)
        return found
