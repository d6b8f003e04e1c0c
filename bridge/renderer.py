"""A renderer process's CPU priority, lowered while its page is cut off.

A page cut off for flooding its channel (``PageBridge._cut_off``) loses the channel,
and what it sends afterwards never leaves its renderer (measured: 100,000 sends a
second, the browser process idle). But a page that floods is usually a loop, and the
loop goes on in its renderer, a whole core of a small machine, which every other tab
then shares with it. So its renderer drops to the lowest CPU priority (niceness
``LOWERED_NICE``) until the page loads a new document or closes, as Chromium lowers
background renderers on some systems.

Niceness on Linux is a thread's: every thread of the process is lowered, and each
gets its own value back. Raising a priority back needs the privilege to (root, or a
``RLIMIT_NICE`` that allows it): without it the renderer stays lowered until it exits,
which only a page that called the channel itself can bring about. The renderer may
host other pages of the same site; they are lowered with it. A process is recognised by
its pid and its start time, so a pid the system reused meanwhile is never touched.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: The niceness a cut-off page's renderer runs at (19: the least CPU when others want it).
LOWERED_NICE = 19


@dataclass(frozen=True)
class Lowered:
    """A renderer whose priority was lowered, and what each of its threads had."""

    pid: int
    started: str  # the process's start time (/proc/<pid>/stat), "" where there is none
    before: dict[int, int]  # thread (or process) id -> its niceness before


def lower(pid: int) -> Lowered | None:
    """Lower the renderer ``pid`` to ``LOWERED_NICE``; None if there is no such process
    or this system cannot."""
    if pid <= 0 or not hasattr(os, "setpriority"):
        return None
    ids = _threads(pid)
    before: dict[int, int] = {}
    for tid in ids:
        try:
            nice = os.getpriority(os.PRIO_PROCESS, tid)
            if nice < LOWERED_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, LOWERED_NICE)
                before[tid] = nice
        except OSError:  # the thread ended meanwhile
            continue
    if not before:
        return None
    log.info("renderer %d now runs at niceness %d", pid, LOWERED_NICE)
    return Lowered(pid, _started(pid), before)


def restore(lowered: Lowered) -> bool:
    """Give the threads of ``lowered`` still running their niceness back. False if the
    process is gone (or its pid is another process's now) or this process may not raise
    a priority; the renderer then stays lowered."""
    if _started(lowered.pid) != lowered.started:  # gone, or another process now
        return False
    restored = True
    for tid, nice in lowered.before.items():
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except PermissionError:
            restored = False
        except OSError:  # the thread ended
            continue
    if not restored:
        log.info("renderer %d keeps niceness %d: raising it back needs privileges", lowered.pid, LOWERED_NICE)
    return restored


def _linux() -> bool:
    return sys.platform.startswith("linux")


def _threads(pid: int) -> list[int]:
    """The ids ``setpriority`` takes for each of ``pid``'s threads (Linux: niceness is
    per thread), or the process itself elsewhere."""
    if not _linux():
        return [pid]
    try:
        return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []


def _started(pid: int) -> str:
    if not _linux():
        return ""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime
