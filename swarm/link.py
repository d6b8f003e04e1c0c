"""A link: one transport to one remote device with the protocol running on it."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from swarm.budget import Cancellable, LinkBudget
from swarm.engine import PEER_OVERRUN, Transport
from swarm.protocol import LINK_LOST, LinkProtocol, LinkState


class Link:
    """Glue between a :class:`Transport` and a :class:`LinkProtocol`.

    The engine feeds it bytes (it is the engine's ``LinkSink``). After each
    input it calls ``on_input(link)``: its owner then sends what the protocol
    queued and acts on the protocol's events. Whoever queues something on the
    protocol has it sent: :meth:`output_pending` calls the owner's
    ``on_output(link)``, which sends it at the end of the loop turn with whatever
    else was queued by then (the core, which knows the owner, tells it directly).

    With ``ready`` (the core's :class:`swarm.turns.Turns`), bytes are not read where
    they arrive: they wait in the link's inbox and are read in slices (:meth:`run_slice`),
    so one device's flood does not hold up the pages and the other devices. A slice
    reads at most ``SLICE_BYTES``, in pieces of at most ``SLICE_PIECE`` bytes, the owner
    acting on each piece's frames before the next; it ends after the piece during which
    ``SLICE_SECONDS`` passed on the core's clock. So a slice of small frames that each
    cost the core work (32 KiB are some 3,000 JOIN frames, or 230 PRESENCE frames with a
    signature to check each) is cut short by time, not only by bytes.

    Bytes reach the protocol with the time they are read (``now()``, the core's
    clock): the peer's budgets (``swarm/budget.py``) are counted against it.

    The transport is paused while anything holds the link's reading
    (:meth:`hold_reading`): ``"inbox"`` past ``INBOX_HIGH`` bytes waiting (until it
    is back under ``INBOX_LOW``), ``"budget"`` while a budget of the peer's has run
    out (the protocol then reads nothing; what still arrives waits in the inbox).
    """

    #: Bytes read from the inbox in one turn at most.
    SLICE_BYTES = 32 * 1024
    #: Bytes given to the protocol at once (or the rest of a frame already started):
    #: the owner acts on their frames before the clock is read again.
    SLICE_PIECE = 1024
    #: A slice ends after the piece during which this many seconds passed.
    SLICE_SECONDS = 0.002
    #: The inbox's bounds: stop reading the transport above HIGH, read on below LOW.
    INBOX_HIGH = 1024 * 1024
    INBOX_LOW = 256 * 1024

    def __init__(
        self,
        transport: Transport,
        on_input: Callable[[Link], None],
        on_output: Callable[[Link], None],
        now: Callable[[], float],
        ready: Callable[[Link], None] | None = None,
        *,
        budget: LinkBudget | None = None,
    ) -> None:
        """``budget``: what the peer may send, and the pace its membership frames are read
        at (``LinkBudget``; by default paced at ``limits.MEMBERSHIP_PACE``)."""
        self.transport = transport
        self.remote_key = transport.remote_key
        self.remote_address = transport.remote_address
        self.protocol = LinkProtocol(budget=budget if budget is not None else LinkBudget(paced=True))
        self.handshake_timer: asyncio.TimerHandle | None = None
        #: When reading goes on after a budget ran out (``LinkSet``).
        self.resume_timer: Cancellable | None = None
        self.transport_closed = False
        self._on_input = on_input
        self._on_output = on_output
        self._now = now
        self._ready = ready
        self._holds: set[str] = set()  # why the transport is paused; empty: it reads
        self._inbox: deque[bytes] = deque()
        self._inbox_bytes = 0
        #: Bytes the transport handed over, in all (what the link carried).
        self.received = 0
        self._offset = 0  # of the inbox's first chunk: read up to there
        self._lost: str | None = None  # why the transport went, once the inbox is read

    @property
    def state(self) -> LinkState:
        return self.protocol.state

    @property
    def inbox_bytes(self) -> int:
        """Bytes received and not read yet."""
        return self._inbox_bytes

    # --- LinkSink ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self._ready is None:
            self.protocol.receive_data(data, self._now())
            self._on_input(self)
            return
        if not data or self._lost is not None:
            return
        self._inbox.append(data)
        self._inbox_bytes += len(data)
        if self._inbox_bytes > self.INBOX_HIGH:
            self.hold_reading("inbox", True)
        self._ready(self)

    def connection_lost(self, code: str, reason: str) -> None:
        self.transport_closed = True
        if code == PEER_OVERRUN:
            # the transport cut the peer for sending far past its flow-control windows:
            # it broke the protocol, and what it sent is not read
            self._inbox.clear()
            self._inbox_bytes = self._offset = 0
            why, lost_code = reason or code, PEER_OVERRUN
        else:
            why, lost_code = (f"{code}: {reason}" if reason else code), LINK_LOST
        if self._ready is not None and self._inbox:
            self._lost = why  # after what arrived before it
            self._ready(self)
            return
        self.protocol.connection_lost(why, code=lost_code)
        self._on_input(self)

    def run_slice(self) -> bool:
        """Read up to ``SLICE_BYTES`` of the inbox (or the rest of a large frame already
        started: one frame is one piece of work), in pieces of ``SLICE_PIECE``, the owner
        acting on each (``on_input``), until ``SLICE_SECONDS`` passed; True if more is
        waiting and may be read now (not while a budget holds the protocol: :meth:`kick`
        after it)."""
        protocol = self.protocol
        budget = max(self.SLICE_BYTES, protocol.frame_needed)
        inbox = self._inbox
        now = self._now()
        deadline = now + self.SLICE_SECONDS
        acted = False
        while inbox and budget > 0 and not protocol.reading_paused and protocol.state is not LinkState.CLOSED:
            piece_left = min(budget, max(self.SLICE_PIECE, protocol.frame_needed))
            while inbox and piece_left > 0:
                chunk = inbox[0]
                start = self._offset
                end = min(len(chunk), start + piece_left)
                if end == len(chunk):
                    inbox.popleft()
                    self._offset = 0
                else:
                    self._offset = end
                piece = chunk if start == 0 and end == len(chunk) else memoryview(chunk)[start:end]
                piece_left -= end - start
                budget -= end - start
                self._inbox_bytes -= end - start
                protocol.receive_data(piece, now)  # type: ignore[arg-type]
            if not inbox and self._lost is not None:
                why, self._lost = self._lost, None
                protocol.connection_lost(why)
            self._on_input(self)
            acted = True
            now = self._now()
            if now >= deadline:
                break
        if self._inbox_bytes < self.INBOX_LOW:
            self.hold_reading("inbox", False)
        if not inbox and self._lost is not None:
            why, self._lost = self._lost, None
            protocol.connection_lost(why)
            acted = False
        if not acted:
            self._on_input(self)
        return bool(inbox) and not protocol.reading_paused and protocol.state is not LinkState.CLOSED

    def kick(self) -> None:
        """Bytes may be read again (a budget refilled): take a slice if any wait."""
        if self._ready is not None and (self._inbox or self._lost is not None):
            self._ready(self)

    # --- used by the core -------------------------------------------------------------

    def hold_reading(self, reason: str, hold: bool) -> None:
        """Pause the transport's reading for ``reason`` (``hold``), or lift that reason:
        it reads again once no reason holds it."""
        held = bool(self._holds)
        if hold:
            self._holds.add(reason)
        else:
            self._holds.discard(reason)
        if self.transport_closed or held == bool(self._holds):
            return
        if self._holds:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    @property
    def reading_held(self) -> frozenset[str]:
        """Why the transport is paused (empty: it reads)."""
        return frozenset(self._holds)

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
        if self.resume_timer is not None:
            self.resume_timer.cancel()
            self.resume_timer = None
        self._inbox.clear()
        self._inbox_bytes = 0
        self._offset = 0
        if not self.transport_closed:
            self.transport_closed = True
            self.transport.close()

    def __repr__(self) -> str:
        return f"<Link {self.remote_key.hex()[:8]} {self.state.value}>"
