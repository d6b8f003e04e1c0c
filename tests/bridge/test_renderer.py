"""bridge/renderer.py: a renderer's priority lowered while its page is cut off, and given
back, thread by thread, to the process it was taken from and no other."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bridge import renderer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness: Linux")

# a process with a second thread, both blocked until its stdin closes (the fixture
# kills it first), which says when both are there
TWO_THREADS = (
    "import sys, threading\n"
    "threading.Thread(target=threading.Event().wait, daemon=True).start()\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def process():
    child = subprocess.Popen(
        [sys.executable, "-c", TWO_THREADS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        yield child
    finally:
        child.kill()
        child.communicate()  # (and closes its pipes)


def niceness(pid: int) -> list[int]:
    return [os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in sorted(os.listdir(f"/proc/{pid}/task"))]


def test_every_thread_is_lowered_and_gets_its_own_niceness_back(process):
    threads = sorted(int(t) for t in os.listdir(f"/proc/{process.pid}/task"))
    assert len(threads) == 2
    os.setpriority(os.PRIO_PROCESS, threads[1], 5)  # a thread of its own niceness
    lowered = renderer.lower(process.pid)
    assert lowered is not None
    assert niceness(process.pid) == [renderer.LOWERED_NICE] * 2
    restored = renderer.restore(lowered)
    if os.geteuid() == 0:  # (raising a priority back needs the privilege to)
        assert restored and niceness(process.pid) == [0, 5]
    else:
        assert not restored and niceness(process.pid) == [renderer.LOWERED_NICE] * 2


def test_a_process_that_is_gone_is_not_touched(process):
    lowered = renderer.lower(process.pid)
    assert lowered is not None
    process.kill()
    process.wait()
    assert not renderer.restore(lowered)


def test_a_pid_now_another_process_s_is_not_touched(process):
    lowered = renderer.lower(process.pid)
    assert lowered is not None
    other = renderer.Lowered(lowered.pid, "another start time", lowered.before)
    assert not renderer.restore(other)
    assert niceness(process.pid) == [renderer.LOWERED_NICE] * 2


def test_no_renderer_no_change():
    assert renderer.lower(0) is None
