"""What goes to the sidecar's stdin: frames gathered during a loop turn, written at once.

"A loop turn" is the core's turn when the writer is given ``defer`` (the core's
``Turns.at_end``): frames queued while the core works are written as that turn ends,
after every link has been flushed, not one trip through the event loop later (under
qasync that trip is a Qt timer, behind whatever Qt has queued). Without ``defer``, or
outside a turn, the flush is a ``call_soon``.

Acknowledgements of the bytes the core has taken (``ack``, one per connection and
flush) go first: they let the sidecar read on. They ride with the next frames written
and go on their own only once :data:`ACK_ALONE` bytes are owed: the sidecar stops
reading a connection at 4 MiB unacknowledged (docs/SIDECAR.md), so a quarter MiB
owed never holds it back, and a message that needs no answer costs no pipe write
(on a VM, a write that wakes the sidecar takes the writer ~0.1 ms). Control frames (``join``, ``end``...)
keep their order with the data. Writes to one connection that follow each other
within a turn are coalesced into one ``write`` frame of at most
:data:`WRITE_CHUNK` bytes: one frame becomes one Hyperswarm message, and those
must stay under 16 MiB. Past :data:`STDIN_HIGH_WATER` bytes buffered in the
pipe, writing waits until the sidecar has read them (frames keep queueing
meanwhile).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from swarm.sidecar_frames import encode_frame

WRITE_CHUNK = 4 * 1024 * 1024
STDIN_HIGH_WATER = 8 * 1024 * 1024
#: Acknowledgements owed, in bytes, past which they are written without other frames.
ACK_ALONE = 256 * 1024


class _Writes:
    """Bytes for one connection, coalesced within one loop turn."""

    __slots__ = ("conn_id", "parts", "size")

    def __init__(self, conn_id: int) -> None:
        self.conn_id = conn_id
        self.parts: list[bytes] = []
        self.size = 0


class FrameWriter:
    """Frames for one sidecar at a time: :meth:`attach` its stdin when it starts,
    :meth:`detach` when it is gone (what was queued for it is dropped)."""

    def __init__(self) -> None:
        #: Runs the flush when the work in progress ends (``Turns.at_end``); None: call_soon.
        self.defer: Callable[[Callable[[], None]], None] | None = None
        self._stdin: asyncio.StreamWriter | None = None
        self._queue: list[bytes | _Writes] = []
        self._acks: dict[int, int] = {}  # connection id -> bytes taken, to acknowledge
        self._owed = 0  # their sum
        self._flush_scheduled = False
        self._draining = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def attached(self) -> bool:
        return self._stdin is not None

    def attach(self, stdin: asyncio.StreamWriter) -> None:
        self._stdin = stdin
        self._queue.clear()
        self._drop_all_acks()
        self._draining = False

    def detach(self) -> None:
        self._stdin = None
        self._queue.clear()
        self._drop_all_acks()

    def ack(self, conn_id: int, nbytes: int) -> None:
        """The core took ``nbytes`` more of connection ``conn_id``: say so with the next
        frames written, or now once ``ACK_ALONE`` bytes are owed."""
        if self._stdin is None:
            return
        self._acks[conn_id] = self._acks.get(conn_id, 0) + nbytes
        self._owed += nbytes
        if self._owed >= ACK_ALONE:
            self._schedule_flush()

    def flush_soon(self) -> None:
        """Have what is queued written (at the end of the turn, or soon), if it is worth a
        write (frames, or acknowledgements past ``ACK_ALONE``)."""
        if self._stdin is not None and self._worth_writing():
            self._schedule_flush()

    def drop_acks(self, conn_id: int | None = None) -> None:
        """Acknowledge nothing more for ``conn_id`` (closed), or for any connection."""
        if conn_id is None:
            self._drop_all_acks()
        else:
            self._owed -= self._acks.pop(conn_id, 0)

    def _drop_all_acks(self) -> None:
        self._acks.clear()
        self._owed = 0

    def _worth_writing(self) -> bool:
        return bool(self._queue) or self._owed >= ACK_ALONE

    def control(self, *frame: Any) -> None:
        """Queue one frame, ``control('join', topic)``; dropped while detached."""
        if self._stdin is None:
            return
        self._queue.append(encode_frame(*frame))
        self._schedule_flush()

    def write(self, conn_id: int, data: bytes) -> None:
        """Queue bytes for connection ``conn_id``; dropped while detached."""
        if self._stdin is None:
            return
        for start in range(0, len(data), WRITE_CHUNK):
            piece = data[start : start + WRITE_CHUNK] if len(data) > WRITE_CHUNK else data
            last = self._queue[-1] if self._queue else None
            if (
                not isinstance(last, _Writes)
                or last.conn_id != conn_id
                or last.size + len(piece) > WRITE_CHUNK
            ):
                last = _Writes(conn_id)
                self._queue.append(last)
            last.parts.append(piece)
            last.size += len(piece)
        self._schedule_flush()

    def flush(self) -> None:
        """Write what is queued now (unless the pipe is still draining)."""
        self._flush_scheduled = False
        stdin = self._stdin
        if self._draining or not self._worth_writing() or stdin is None:
            return
        if stdin.is_closing():
            self._queue.clear()
            self._drop_all_acks()
            return
        # acknowledgements first: they let the sidecar read on
        chunks = [encode_frame("ack", conn_id, n) for conn_id, n in self._acks.items()]
        self._drop_all_acks()
        for item in self._queue:
            if isinstance(item, _Writes):
                chunks.append(encode_frame("write", item.conn_id, b"".join(item.parts)))
            else:
                chunks.append(item)
        self._queue.clear()
        stdin.write(b"".join(chunks))
        if stdin.transport.get_write_buffer_size() > STDIN_HIGH_WATER:
            self._draining = True
            task = asyncio.create_task(self._drain(stdin))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        """Stop waiting for a pipe to drain (the engine is closing)."""
        for task in list(self._tasks):
            task.cancel()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            if self.defer is not None:
                self.defer(self.flush)
            else:
                asyncio.get_running_loop().call_soon(self.flush)

    async def _drain(self, stdin: asyncio.StreamWriter) -> None:
        try:
            await stdin.drain()
        except Exception:  # the sidecar went away; supervision handles it
            pass
        finally:
            self._draining = False
            if self._worth_writing() and self._stdin is stdin:
                self._schedule_flush()
