"""A link: one transport to one remote device with the protocol running on it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from swarm.engine import Transport
from swarm.protocol import LinkProtocol, LinkState

if TYPE_CHECKING:
    from swarm.core import SwarmCore


class Link:
    """Glue between a :class:`Transport` and a :class:`LinkProtocol`.

    The engine feeds it bytes (it is the engine's ``LinkSink``); the core
    reads the protocol's events through :meth:`SwarmCore._pump`.
    """

    def __init__(self, core: SwarmCore, transport: Transport) -> None:
        self.core = core
        self.transport = transport
        self.remote_key = transport.remote_key
        self.remote_address = transport.remote_address
        self.protocol = LinkProtocol()
        self.handshake_timer: asyncio.TimerHandle | None = None
        self.transport_closed = False

    @property
    def state(self) -> LinkState:
        return self.protocol.state

    # --- LinkSink ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self.core._pump(self)

    def connection_lost(self, code: str, reason: str) -> None:
        self.transport_closed = True
        self.protocol.connection_lost(f"{code}: {reason}" if reason else code)
        self.core._pump(self)

    # --- used by the core ---------------------------------------------------------

    def flush(self) -> None:
        out = self.protocol.data_to_send()
        if out and not self.transport_closed:
            self.transport.write(out)

    def close_transport(self) -> None:
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None
        if not self.transport_closed:
            self.transport_closed = True
            self.transport.close()

    def __repr__(self) -> str:
        return f"<Link {self.remote_key.hex()[:8]} {self.state.value}>"
