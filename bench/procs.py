"""Processes a benchmark starts (stopped by PID, also on failure) and what they cost."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
SIDECAR_DIR = ROOT / "swarm" / "sidecar"
GUARD = SIDECAR_DIR / "loopback-guard.cjs"


def checkout_path(env: dict[str, str]) -> str:
    """``env``'s PYTHONPATH with this checkout first: a Python child (the browser from
    the venv's ``peerbrowser`` entry point, a core peer) runs the code being measured,
    whichever checkout the venv was installed from."""
    return os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)


def loopback_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PEERBROWSER_LOOPBACK_ONLY": "1", **extra}
    env["PYTHONPATH"] = checkout_path(env)
    return env


def node_command(script: Path, *args: str) -> list[str]:
    """Node with the project's loopback guard preloaded (refuses any non-loopback address)."""
    return ["node", "-r", str(GUARD), str(script), *args]


class Children:
    """Every process started through it is stopped by PID on exit, in reverse order."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdin", subprocess.PIPE)
        kwargs.setdefault("stdout", subprocess.PIPE)
        proc = subprocess.Popen(cmd, **kwargs)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        self.procs.clear()

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_all()


def stop(proc: subprocess.Popen[bytes], grace: float = 8.0) -> None:
    """Close stdin (our helpers exit on EOF), then SIGTERM, then SIGKILL: this PID only."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def read_json_line(proc: subprocess.Popen[bytes], timeout: float) -> Any:
    """The next stdout line of ``proc`` as JSON, waiting at most ``timeout`` seconds."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise TimeoutError(f"{proc.args!r} printed nothing within {timeout:g} s")
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{proc.args!r} exited with {proc.wait()}")
            line = line.strip()
            if line.startswith(b"{"):
                return json.loads(line)


def send_json(proc: subprocess.Popen[bytes], obj: Any) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(obj).encode() + b"\n")
    proc.stdin.flush()


def tree(pid: int | None = None) -> list[psutil.Process]:
    """A process and all its descendants (QtWebEngineProcess, Node sidecars)."""
    root = psutil.Process(pid or os.getpid())
    return [root, *root.children(recursive=True)]


def _threads_of(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:  # gone meanwhile
        return []


def cores_apart(apart: set[int], root: int | None = None) -> set[int]:
    """Give the processes ``apart`` (every thread of each) a CPU of their own and the rest
    of ``root``'s tree (this process's by default) the other CPUs; return the CPUs
    ``apart`` got. Threads started later inherit their creator's CPUs. ``cores_shared``
    undoes it. Needs two CPUs or more (RuntimeError otherwise)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise RuntimeError(f"a core of their own needs two CPUs or more; this process may use {len(cpus)}")
    alone, rest = {cpus[0]}, set(cpus[1:])
    for _ in range(2):  # twice: a thread an unpinned one started during the first pass
        for p in tree(root):
            for tid in _threads_of(p.pid):
                with contextlib.suppress(OSError):  # a thread that ended meanwhile
                    os.sched_setaffinity(tid, alone if p.pid in apart else rest)
    return alone


def cores_shared(cpus: set[int], root: int | None = None) -> None:
    """Every thread of ``root``'s tree on ``cpus`` again (after ``cores_apart``)."""
    for p in tree(root):
        for tid in _threads_of(p.pid):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, cpus)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def memory(procs: list[psutil.Process]) -> dict[str, int]:
    """RSS and PSS (shared pages split between sharers) summed over ``procs``, in bytes."""
    rss = pss = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            full = p.memory_full_info()
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
    return {"rss": rss, "pss": pss}


@contextlib.contextmanager
def cpu_meter(pid: int | None = None) -> Iterator[dict[str, float]]:
    """Measures CPU seconds of a process tree over the block: out['cpu_s'], out['wall_s']."""
    procs = tree(pid)
    out: dict[str, float] = {}
    c0, t0 = cpu_seconds(procs), time.perf_counter()
    yield out
    procs = [p for p in procs if p.is_running()] + [p for p in tree(pid) if p not in procs]
    out["cpu_s"] = cpu_seconds(procs) - c0
    out["wall_s"] = time.perf_counter() - t0
