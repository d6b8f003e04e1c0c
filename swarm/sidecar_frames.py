"""Framing for the stdio link to the Hyperswarm sidecar (see docs/SIDECAR.md).

The same length-prefixed msgpack framing as the links between devices
(``swarm/framing.py``), with the sidecar's bounds: a frame is an array
``[type, *args]`` whose type is a string.
"""

from __future__ import annotations

from typing import Any

from swarm import framing

#: Largest frame read from the sidecar. Its data frames carry one Hyperswarm message
#: each, and those are under 16 MiB.
MAX_FRAME = 32 * 1024 * 1024

Frame = list[Any]


class FrameError(framing.FrameError):
    """The byte stream from the sidecar is not a valid frame sequence."""

    code = "ERR_FRAME"


def encode_frame(*items: Any) -> bytes:
    """One frame: ``encode_frame('join', topic)``."""
    return framing.encode_frame(list(items))


class FrameDecoder(framing.FrameDecoder):
    """Incremental decoder: ``feed(chunk)`` returns the frames completed by it."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        super().__init__(max_frame, max_array=64, max_str=1024 * 1024)

    def feed(self, data: bytes) -> list[Frame]:
        try:
            frames = super().feed(data)
        except framing.FrameError as exc:
            raise FrameError(str(exc)) from None
        for frame in frames:
            if not isinstance(frame, list) or not frame or not isinstance(frame[0], str):
                raise FrameError("a frame must be an array starting with its type")
        return frames
