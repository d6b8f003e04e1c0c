"""A link: one transport to one remote device with the protocol running on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from swarm.engine import Transport
from swarm.protocol import LinkProtocol, LinkState


class Link:
    """Glue between a :class:`Transport` and a :class:`LinkProtocol`.

    The engine feeds it bytes (it is the engine's ``LinkSink``). After each
    input it calls ``on_input(link)``: its owner then sends what the protocol
    queued and acts on the protocol's events. Whoever queues something on the
    protocol has it sent: :meth:`output_pending` calls the owner's
    ``on_output(link)``, which sends it at the end of the loop turn with whatever
    else was queued by then (the core, which knows the owner, tells it directly).
    """

    def __init__(
        self,
        transport: Transport,
        on_input: Callable[[Link], None],
        on_output: Callable[[Link], None],
    ) -> None:
        self.transport = transport
        self.remote_key = transport.remote_key
        self.remote_address = transport.remote_address
        self.protocol = LinkProtocol()
        self.handshake_timer: asyncio.TimerHandle | None = None
        self.transport_closed = False
        self._on_input = on_input
        self._on_output = on_output

    @property
    def state(self) -> LinkState:
        return self.protocol.state

    # --- LinkSink ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self._on_input(self)

    def connection_lost(self, code: str, reason: str) -> None:
        self.transport_closed = True
        self.protocol.connection_lost(f"{code}: {reason}" if reason else code)
        self._on_input(self)

    # --- used by the core -------------------------------------------------------------

    def output_pending(self) -> None:
        """Something was queued on the protocol: have it sent this loop turn."""
        self._on_output(self)

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
