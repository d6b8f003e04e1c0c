"""The contract between the swarm core and a network engine.

The core knows nothing about sockets or processes. An engine (the Hyperswarm
sidecar, or the in-memory one used by tests) finds other devices for the
topics the core asks for and hands every connection to the core as a
:class:`Transport`. The core then runs the multiplexing protocol over it
(see ``swarm/protocol.py`` and ``docs/PROTOCOL.md``).

    core -> engine   join(topic) / leave(topic) / close()
    engine -> core   sink.attach(transport) -> LinkSink
                     link_sink.data_received(bytes) / link_sink.connection_lost(code, reason)
"""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    """One byte stream to one remote device, as the engine made it."""

    #: The remote device's key as the engine authenticated it (for Hyperswarm,
    #: the Noise static public key). Links are deduplicated by it.
    remote_key: bytes
    #: This device's own key on that transport: with ``initiator``, it decides which of
    #: two links to one device survives (``swarm.protocol.keeps_newer_link``).
    local_key: bytes
    #: ``(host, port)`` of the remote device when known.
    remote_address: tuple[str, int] | None
    #: True when this side dialled the connection.
    initiator: bool

    def write(self, data: bytes) -> None:
        """Queue bytes to send; never blocks."""

    def close(self) -> None:
        """Close the stream; idempotent. No ``connection_lost`` follows it."""

    def pause_reading(self) -> None:
        """Deliver nothing more until :meth:`resume_reading` (what arrives meanwhile
        waits in the engine, bounded there: docs/SIDECAR.md, "Backpressure")."""

    def resume_reading(self) -> None:
        """Deliver again, starting with what waited, in order."""


#: The code a transport is lost with when the engine cut the peer for sending far more
#: than this device read (the sidecar's bound on a connection it stopped reading,
#: docs/SIDECAR.md, "Backpressure"): the peer ignored its flow-control windows.
PEER_OVERRUN = "ERR_PEER_OVERRUN"


class LinkSink(Protocol):
    """What the core gives back for each attached transport."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self, code: str, reason: str) -> None:
        """The transport is gone: ``code`` says why (``PEER_OVERRUN``, or the engine's
        own code), ``reason`` in words."""


class EngineSink(Protocol):
    """The core as an engine sees it."""

    def attach(self, transport: Transport) -> LinkSink: ...

    def engine_state_changed(self, state: str, detail: str) -> None:
        """Engine life cycle for the UI: 'starting', 'ready', 'restarting', 'failed', 'closed'."""

    # A sink may also offer ``at_turn_end(fn)``: run ``fn`` once the work in progress (the
    # core's turn, swarm/turns.py) is done, or soon when none is. An engine that gathers
    # what to send (the Hyperswarm engine) sends it from there, in the same turn.


class Engine(Protocol):
    """A way to reach other devices."""

    @property
    def public_key(self) -> bytes | None:
        """This device's key on the network, once the engine has one (for Hyperswarm,
        the Noise static public key: what other devices see as ``remote_key``)."""

    async def start(self, sink: EngineSink) -> None: ...

    def join(self, topic: bytes) -> None:
        """Announce and look up ``topic`` (32 bytes). Idempotent."""

    def leave(self, topic: bytes) -> None:
        """Stop announcing ``topic``. Existing links stay. Idempotent."""

    async def close(self) -> None:
        """Close every transport and stop. Idempotent."""
