"""What a swarm handle hears: the events the bridge turns into page events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swarm.presence import Socket

# Close codes, as WebSocket's CloseEvent.code.
CLOSE_NORMAL = 1000  # socket.close() by this side or the peer
CLOSE_GOING_AWAY = 1001  # the peer left the swarm, or its device shut down cleanly
CLOSE_ABNORMAL = 1006  # the link to the peer's device was lost
CLOSE_PROTOCOL = 1002  # the peer's device broke the protocol
CLOSE_POLICY = 1008  # the user revoked the origin's permission to connect to peers


@dataclass(slots=True)
class Connection:
    socket: Socket


@dataclass(slots=True)
class Messages:
    """Messages that arrived on ``socket``, in order: one, or a run of them that came
    together (a peer's ``MESSAGES`` frame; the writes of a local tab that followed each
    other, ``swarm/dispatch.py``). ``size`` is their bytes in all."""

    socket: Socket
    payloads: list[bytes]
    size: int


@dataclass(slots=True)
class SessionData:
    socket: Socket
    data: bytes | None


@dataclass(slots=True)
class SocketClosed:
    socket: Socket
    code: int
    reason: str
    was_clean: bool


@dataclass(slots=True)
class Drain:
    """The peer consumed some of what was written: ``inflight`` bytes are still unread."""

    socket: Socket
    inflight: int


@dataclass(slots=True)
class SwarmClosed:
    code: int
    reason: str


HandleEvent = Connection | Messages | SessionData | SocketClosed | Drain | SwarmClosed
