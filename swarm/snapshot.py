"""What the core shows of itself, as plain data: one schema for every reader.

:func:`socket_info` is a socket as a page sees it (``socket.info``, and the
bridge's ``connection`` event). :func:`snapshot` is the device as a person sees
it in the PeerSocket panel (``SwarmCore.snapshot()``): the device (its key,
the network engine's state, its links), then every presence with its swarms
and sockets. Ids, keys and topics are lower-case hex.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NotRequired, TypedDict

from swarm.link import Link
from swarm.presence import Presence, Socket
from swarm.topics import SwarmKind


class SocketInfo(TypedDict):
    id: str  # the remote presence's id (the loopback's: its own)
    host: str | None  # the remote device's address, when known
    port: int | None
    loopback: bool


class SocketSnapshot(SocketInfo):
    state: Literal["open", "closed"]
    sent: int  # messages
    received: int
    unread: int  # bytes written here that the peer has not consumed yet
    to_read: int  # bytes the peer wrote that this device's tabs have not all consumed yet


class SwarmSnapshot(TypedDict):
    type: SwarmKind
    name: str | None  # an open swarm's id
    topic: str
    tabs: int
    state: Literal["joined", "leaving"]  # leaving: no tab left, in its grace period
    sockets: list[SocketSnapshot]  # the loopback first


class PresenceSnapshot(TypedDict):
    origin: str
    identity: int
    id: str
    swarms: list[SwarmSnapshot]


class LinkSnapshot(TypedDict):
    remote: str  # the other device's key
    host: str | None
    port: int | None
    state: str  # swarm.protocol.LinkState's value
    topics: int  # swarms both devices are in


class EngineSnapshot(TypedDict):
    state: str  # 'none', 'starting', 'ready', 'restarting', 'failed', 'closed'
    detail: str
    lan_devices: NotRequired[int]  # the 'lan' network: other devices found by multicast DNS


class DeviceSnapshot(TypedDict):
    key: str | None  # this device's key on the network, once the engine has one
    engine: EngineSnapshot
    links: list[LinkSnapshot]


class Snapshot(TypedDict):
    device: DeviceSnapshot
    presences: list[PresenceSnapshot]


def socket_info(socket: Socket) -> SocketInfo:
    address = socket.address
    return {
        "id": socket.id_hex,
        "host": address[0] if address else None,
        "port": address[1] if address else None,
        "loopback": socket.loopback,
    }


def snapshot(
    presences: Iterable[Presence],
    links: Iterable[Link],
    engine_state: tuple[str, str],
    device_key: bytes | None,
    lan_devices: int | None = None,
) -> Snapshot:
    state, detail = engine_state
    engine: EngineSnapshot = {"state": state, "detail": detail}
    if lan_devices is not None:
        engine["lan_devices"] = lan_devices
    return {
        "device": {
            "key": device_key.hex() if device_key is not None else None,
            "engine": engine,
            "links": [_link(link) for link in links],
        },
        "presences": presence_snapshots(presences),
    }


def presence_snapshots(presences: Iterable[Presence]) -> list[PresenceSnapshot]:
    """Presences with their swarms and sockets, as in :func:`snapshot`."""
    return [_presence(p) for p in presences]


def _presence(presence: Presence) -> PresenceSnapshot:
    swarms: list[SwarmSnapshot] = []
    for m in presence.memberships.values():
        swarms.append(
            {
                "type": m.key.kind,
                "name": m.key.name if m.key.kind == "open" else None,
                "topic": m.topic.hex(),
                "tabs": len({h.owner for h in m.handles}),
                "state": "joined" if m.grace_timer is None else "leaving",
                "sockets": [_socket(s) for s in (m.loopback, *m.sockets.values())],
            }
        )
    return {"origin": presence.origin, "identity": presence.identity, "id": presence.id_hex, "swarms": swarms}


def _socket(socket: Socket) -> SocketSnapshot:
    return {
        **socket_info(socket),
        "state": socket.state,
        "sent": socket.sent,
        "received": socket.received,
        "unread": socket.inflight,
        "to_read": socket.held,
    }


def _link(link: Link) -> LinkSnapshot:
    address = link.remote_address
    return {
        "remote": link.remote_key.hex(),
        "host": address[0] if address else None,
        "port": address[1] if address else None,
        "state": link.state.value,
        "topics": len(link.protocol.shared_topics()),
    }
