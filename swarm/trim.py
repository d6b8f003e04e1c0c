"""Giving freed memory back to the system after a link that carried a lot closed.

What a link carried (64 KiB messages, say: those that waited for a page, and those
that passed through to one that read them) is freed to the C allocator as it goes;
glibc keeps most of it in its heap, fragmented among what is still alive, so the
process stays as large as at the flood's peak.
``malloc_trim(0)`` returns the free pages. It is asked for once, a moment after such
a close (when the core has let go of what the link carried), and only where glibc is
the allocator; elsewhere nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("peerbrowser.swarm")

#: A link that carried at least this much (received, in all) is worth a trim when it closes.
TRIM_AFTER = 4 * 1024 * 1024
#: Seconds after the close: the events that drop what waited run in the turns after it.
TRIM_DELAY = 1.0

_trim: Callable[[int], int] | None = None
_looked = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked
    if not _looked:
        _looked = True
        name = ctypes.util.find_library("c")
        try:
            _trim = ctypes.CDLL(name).malloc_trim if name else None
        except (OSError, AttributeError):  # not glibc
            _trim = None
    return _trim


class Trimmer:
    """Asks for one trim a moment after a large close (several closes: still one)."""

    def __init__(self, call_later: Callable[[float, Callable[[], None]], Any]) -> None:
        self._call_later = call_later
        self._pending = False

    def released(self, nbytes: int) -> None:
        """A link that carried ``nbytes`` closed."""
        if nbytes < TRIM_AFTER or self._pending or _malloc_trim() is None:
            return
        self._pending = True
        self._call_later(TRIM_DELAY, self._run)

    def _run(self) -> None:
        self._pending = False
        trim = _malloc_trim()
        if trim is not None:
            trim(0)
