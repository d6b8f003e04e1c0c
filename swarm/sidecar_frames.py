"""Framing for the stdio link to the Hyperswarm sidecar (see docs/SIDECAR.md).

A frame is a 4-byte big-endian length followed by that many bytes of msgpack, an
array ``[type, *args]``. The same framing runs in both directions.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

HEADER = struct.Struct(">I")
#: Largest frame read from the sidecar. Its data frames carry one Hyperswarm message
#: each, and those are under 16 MiB.
MAX_FRAME = 32 * 1024 * 1024

Frame = list[Any]


class FrameError(Exception):
    """The byte stream from the sidecar is not a valid frame sequence."""

    code = "ERR_FRAME"


def encode_frame(*items: Any) -> bytes:
    """One frame: ``encode_frame('join', topic)``."""
    body: bytes = msgpack.packb(list(items), use_bin_type=True)
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder: ``feed(chunk)`` returns the frames completed by it."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buf += chunk
        frames: list[Frame] = []
        pos = 0
        buf = self._buf
        while len(buf) - pos >= HEADER.size:
            (size,) = HEADER.unpack_from(buf, pos)
            if size > self.max_frame:
                raise FrameError(f"frame of {size} bytes exceeds {self.max_frame}")
            end = pos + HEADER.size + size
            if len(buf) < end:
                break
            try:
                frame = msgpack.unpackb(
                    bytes(buf[pos + HEADER.size : end]), raw=False, strict_map_key=False
                )
            except (ValueError, msgpack.UnpackException) as exc:
                raise FrameError(f"undecodable frame: {exc}") from exc
            if not isinstance(frame, list) or not frame or not isinstance(frame[0], str):
                raise FrameError("a frame must be an array starting with its type")
            frames.append(frame)
            pos = end
        if pos:
            del buf[:pos]
        return frames
