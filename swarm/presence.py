"""Presences, their swarm memberships, sockets and per-tab handles.

Plain objects holding state; the rules that change them live in
``swarm/core.py`` and the modules it uses. A *presence* is (origin, debug
identity) with its own ed25519 key pair; a *membership* is one presence in one
swarm; a *socket* is that membership's connection to one other presence (or to
itself: the loopback); a *handle* is one ``joinSwarm()`` result in one tab. A
handle only reads: what a tab does goes through the core (``SwarmCore.write``,
``close_handle``...), and what it hears goes to the listener it gave
``SwarmCore.join``.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Literal

from nacl.signing import SigningKey

from swarm.errors import PeerSocketError
from swarm.topics import SwarmKey

if TYPE_CHECKING:
    from swarm.link import Link

_handle_ids = itertools.count(1)


class Presence:
    def __init__(self, origin: str, identity: int) -> None:
        self.origin = origin
        self.identity = identity
        self._key = SigningKey.generate()
        self.id: bytes = bytes(self._key.verify_key)
        self.id_hex = self.id.hex()  # (every event for a page names its socket so)
        self.memberships: dict[bytes, Membership] = {}  # topic -> membership

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._key.sign(message).signature
        return signature

    def __repr__(self) -> str:
        return f"<Presence {self.origin} #{self.identity} {self.id_hex[:8]}>"


class Socket:
    """One membership's connection to one peer presence (shared by all its tabs)."""

    def __init__(
        self,
        membership: Membership,
        peer_id: bytes,
        link: Link | None,
        session_data: bytes | None,
    ) -> None:
        self.membership = membership
        self.peer_id = peer_id
        self.id_hex = peer_id.hex()
        self.link = link
        self.loopback = peer_id == membership.presence.id
        self.session_data = session_data
        self.state: Literal["open", "closed"] = "open"
        self.sent = 0
        self.received = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        # flow control (see swarm/flow.py)
        self.inflight = 0  # bytes written here that the peer has not consumed yet
        self.held = 0  # bytes the peer wrote that we have not credited back yet
        self.owed: dict[int, int] = {}  # handle id -> bytes delivered to it, not yet consumed
        self.shown: dict[int, int] = {}  # handle id -> of those, bytes handed to its page

    @property
    def address(self) -> tuple[str, int] | None:
        return self.link.remote_address if self.link is not None else None

    def __repr__(self) -> str:
        return f"<Socket {self.membership.presence.id_hex[:8]}->{self.id_hex[:8]} {self.state}>"


class Membership:
    """One presence in one swarm."""

    def __init__(self, presence: Presence, key: SwarmKey) -> None:
        self.presence = presence
        self.key = key
        self.topic = key.topic
        self.handles: set[SwarmHandle] = set()
        self.sockets: dict[bytes, Socket] = {}  # peer id -> socket (loopback excluded)
        self.loopback = Socket(self, presence.id, None, None)
        self.closed_peers: set[bytes] = set()  # sockets closed for as long as both stay
        self.grace_timer: asyncio.TimerHandle | None = None
        self.active = True

    def open_sockets(self) -> list[Socket]:
        return [s for s in self.sockets.values() if s.state == "open"]


class SwarmHandle:
    """One ``joinSwarm()`` result: a tab's view of a membership."""

    def __init__(self, membership: Membership, owner: object) -> None:
        self.id = next(_handle_ids)
        self.membership = membership
        self.owner = owner
        self.closed = False

    @property
    def key(self) -> SwarmKey:
        return self.membership.key

    @property
    def presence(self) -> Presence:
        return self.membership.presence

    @property
    def loopback(self) -> Socket:
        return self.membership.loopback

    def sockets(self) -> list[Socket]:
        return self.membership.open_sockets() if not self.closed else []

    def get_socket(self, peer_id_hex: str) -> Socket | None:
        if self.closed:
            return None
        if peer_id_hex == self.presence.id_hex:
            return self.loopback
        try:
            peer_id = bytes.fromhex(peer_id_hex)
        except ValueError:
            return None
        socket = self.membership.sockets.get(peer_id)
        return socket if socket is not None and socket.state == "open" else None

    def require_socket(self, peer_id_hex: str) -> Socket:
        if self.closed:
            raise PeerSocketError.swarm_closed()
        socket = self.get_socket(peer_id_hex)
        if socket is None:
            if peer_id_hex in {s.id_hex for s in self.membership.sockets.values()}:
                raise PeerSocketError.socket_closed()
            raise PeerSocketError.no_such_socket(peer_id_hex)
        return socket

    def __repr__(self) -> str:
        return f"<SwarmHandle {self.id} {self.key.kind}:{self.key.name} {self.presence!r}>"
