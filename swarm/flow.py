"""Flow control: what a writer may have in flight, and when it gets it back.

Per socket and direction a writer may have ``limits.WINDOW`` bytes written
that the reader has not consumed (the page keeps to it; past
``limits.MAX_INFLIGHT`` the core refuses a write with ``ERR_BUFFER_FULL``).
A message delivered to a membership's tabs counts as consumed once every one
of those tabs has said so (``consumed``); only then is the writer credited:
over the link for a remote writer, directly for a local one. Credits are
gathered during a loop turn and sent once at its end (:meth:`Flow.flush`),
and the writer's tabs hear a ``Drain`` with what is still unread.

Socket fields used: ``inflight`` (written here, not consumed there), ``held``
(received here, not credited back yet) and ``owed`` (per handle: delivered to
it, not consumed yet; of that, ``shown`` is what its page was handed: the rest
waits for the page's window in ``swarm/dispatch.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from swarm import limits
from swarm.dispatch import EventQueue
from swarm.errors import PeerSocketError
from swarm.events import Drain
from swarm.mesh import Mesh
from swarm.presence import Socket, SwarmHandle


def runs_of(payloads: Sequence[bytes]) -> Iterator[Sequence[bytes]]:
    """``payloads`` in order, cut into the runs a ``MESSAGES`` frame could carry (at most
    ``limits.MAX_MESSAGES_PER_FRAME`` messages and ``limits.MESSAGES_FRAME_BYTES``
    bytes, a larger message alone): what a tab's writes to another tab of this device
    are delivered as, like a peer's."""
    most, frame_bytes = limits.MAX_MESSAGES_PER_FRAME, limits.MESSAGES_FRAME_BYTES
    if len(payloads) <= 1 or (len(payloads) <= most and sum(map(len, payloads)) <= frame_bytes):
        yield payloads  # (one run: a W op of small messages)
        return
    run: list[bytes] = []
    size = 0
    for payload in payloads:
        n = len(payload)
        if run and (len(run) >= most or size + n > frame_bytes):
            yield run
            run, size = [], 0
        run.append(payload)
        size += n
    if run:
        yield run


class Flow:
    def __init__(self, mesh: Mesh, events: EventQueue, schedule: Callable[[], None]) -> None:
        """``schedule()`` asks for :meth:`flush` at the end of this loop turn."""
        self._mesh = mesh
        self._events = events
        self._schedule = schedule
        self._due: set[Socket] = set()

    def sending(self, socket: Socket, size: int) -> None:
        """Count ``size`` bytes about to be written to ``socket``; refuse them
        while more than ``limits.MAX_INFLIGHT`` would then be unread."""
        if socket.inflight and socket.inflight + size > limits.MAX_INFLIGHT:
            raise PeerSocketError.buffer_full(socket.inflight)
        socket.sent += 1
        socket.bytes_sent += size
        socket.inflight += size

    def sending_all(self, socket: Socket, count: int, nbytes: int) -> bool:
        """Count ``count`` writes of ``nbytes`` in all to ``socket``, as :meth:`sending`
        would one by one, when none of them can be refused (together they stay within
        ``limits.MAX_INFLIGHT``); False, counting nothing, otherwise."""
        if socket.inflight + nbytes > limits.MAX_INFLIGHT:
            return False
        socket.sent += count
        socket.bytes_sent += nbytes
        socket.inflight += nbytes
        return True

    def deliver(self, socket: Socket, payloads: Sequence[bytes], exclude: SwarmHandle | None = None) -> None:
        """Hand messages that arrived on ``socket``, in order, to every tab (but ``exclude``)."""
        size = sum(map(len, payloads))
        socket.received += len(payloads)
        socket.bytes_received += size
        socket.held += size
        owed, emit = socket.owed, self._events.emit_messages
        for handle in socket.membership.handles:
            if handle is not exclude:
                owed[handle.id] = owed.get(handle.id, 0) + size
                emit(handle, socket, payloads, size)
        self._credit_later(socket)

    def consumed(self, handle: SwarmHandle, socket: Socket, nbytes: int) -> None:
        """``handle``'s page has consumed ``nbytes`` of the messages ``socket`` delivered it."""
        owed = socket.owed.get(handle.id)
        if owed is None or nbytes <= 0:
            return
        socket.owed[handle.id] = max(0, owed - nbytes)
        self._credit_later(socket)

    def forget(self, handle: SwarmHandle) -> None:
        """``handle`` closed: what it had not consumed no longer holds the writers back."""
        membership = handle.membership
        for socket in (membership.loopback, *membership.sockets.values()):
            socket.shown.pop(handle.id, None)
            if socket.owed.pop(handle.id, None) is not None:
                self._credit_later(socket)

    def drained(self, socket: Socket, nbytes: int) -> None:
        """The reader consumed ``nbytes`` of what was written to ``socket``."""
        socket.inflight = max(0, socket.inflight - nbytes)
        self._events.emit_all(socket.membership, Drain(socket, socket.inflight))

    def flush(self) -> None:
        """Credit every writer whose messages every tab has consumed since the last flush."""
        due, self._due = self._due, set()
        for socket in due:
            if socket.state != "open" or socket.held == 0:
                continue
            # every tab got the same stream of messages (from when it joined): what
            # some tab has not consumed yet is at most what the slowest one owes
            release = socket.held - max(socket.owed.values(), default=0)
            if release <= 0:
                continue
            socket.held -= release
            membership = socket.membership
            if socket.loopback:
                self.drained(socket, release)
            elif socket.link is None:
                writer = self._mesh.local_peer_socket(membership, socket.peer_id)
                if writer is not None:
                    self.drained(writer, release)
            else:
                me = membership.presence.id
                if socket.link.protocol.credit(membership.topic, me, socket.peer_id, release):
                    socket.link.output_pending()

    def _credit_later(self, socket: Socket) -> None:
        self._due.add(socket)
        self._schedule()
