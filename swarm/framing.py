"""Length-prefixed msgpack frames: a 4-byte big-endian length, then the body.

Used on links between devices and on the sidecar's stdio. Pure: bytes in,
values out. Every length is bounded before anything is allocated for it.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

PREFIX = struct.Struct(">I")


class FrameError(Exception):
    """The byte stream cannot be read as frames; the stream must be closed."""


def encode_frame(value: Any) -> bytes:
    body: bytes = msgpack.packb(value, use_bin_type=True)
    return PREFIX.pack(len(body)) + body


class FrameDecoder:
    """Turns a byte stream into msgpack values, one per frame.

    ``max_frame`` bounds a frame's body; ``max_array``, ``max_map`` (default: as
    ``max_array``) and ``max_str`` bound what msgpack may allocate inside it.
    """

    def __init__(
        self, max_frame: int, max_array: int = 16, max_str: int = 1024, max_map: int | None = None
    ) -> None:
        self.max_frame = max_frame
        self.max_array = max_array
        self.max_map = max_array if max_map is None else max_map
        self.max_str = max_str
        self._buf = bytearray()
        self._pos = 0

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    @property
    def needed(self) -> int:
        """Bytes still missing from the frame in progress (0: none started, or its
        length not read yet)."""
        have = len(self._buf) - self._pos
        if have < PREFIX.size:
            return 0
        size: int = PREFIX.unpack_from(self._buf, self._pos)[0]
        return max(0, PREFIX.size + size - have)

    def feed(self, data: bytes) -> list[Any]:
        """Add bytes; return every complete frame's value. Raises FrameError."""
        self.push(data)
        out: list[Any] = []
        while (frame := self.next_frame()) is not None:
            out.append(frame[0])
        return out

    def push(self, data: bytes) -> None:
        """Add bytes, to be read with :meth:`next_frame`."""
        pos, buf = self._pos, self._buf
        if pos and (pos == len(buf) or (pos > 65536 and pos * 2 > len(buf))):
            del buf[:pos]  # what was read, once it is all or most of the buffer
            self._pos = 0
        buf += data

    def next_frame(self) -> tuple[Any, int] | None:
        """The next complete frame's value and its size (prefix included), or None
        when no whole frame is buffered. What follows stays buffered. Raises FrameError."""
        buf = self._buf
        if len(buf) - self._pos < PREFIX.size:
            return None
        (size,) = PREFIX.unpack_from(buf, self._pos)
        if size > self.max_frame:
            raise FrameError(f"frame of {size} bytes is over the {self.max_frame}-byte limit")
        if size == 0:
            raise FrameError("empty frame")
        start = self._pos + PREFIX.size
        if len(buf) - start < size:
            return None
        with memoryview(buf) as view:  # no copy of the body; released before buf changes
            value = self._decode(view[start : start + size])
        self._pos = start + size
        return value, PREFIX.size + size

    def _decode(self, body: bytes | memoryview) -> Any:
        try:
            return msgpack.unpackb(
                body,
                raw=False,
                strict_map_key=True,
                max_bin_len=self.max_frame,
                max_str_len=self.max_str,
                max_array_len=self.max_array,
                max_map_len=self.max_map,
                max_ext_len=0,
            )
        except Exception as exc:  # msgpack raises several unrelated types
            raise FrameError(f"frame is not valid msgpack: {exc.__class__.__name__}: {exc}") from None
