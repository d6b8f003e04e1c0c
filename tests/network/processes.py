"""Starting real processes for the network tests, and reading what they print."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PEERBROWSER = Path(sys.executable).with_name("peerbrowser")
HANG_GUARD = 90.0  # seconds; only so that a broken test fails instead of hanging


class Proc:
    """A child process whose stdout and stderr lines are collected by threads."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path = REPO,
        stdin: bool = False,
        env: dict[str, str] | None = None,
        inherit: bool = True,
    ) -> None:
        # inherit=False: ``env`` is the whole environment (an installed browser's must not
        # get the tests' PYTHONPATH back, which points at the checkout)
        env = {
            **(os.environ if inherit else {}),
            "PEERBROWSER_LOOPBACK_ONLY": "1",
            "QT_QPA_PLATFORM": "offscreen",
            **(env or {}),
        }
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[None] = queue.Queue()
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))
            self._new.put(None)
        self._new.put(None)

    def wait_for(self, test: Callable[[list[str]], Any], what: str, guard: float = HANG_GUARD) -> Any:
        """Wait until ``test(lines)`` is truthy (woken by each new line); return it. After
        ``guard`` seconds (a hang guard) raise AssertionError with the last lines."""
        deadline = time.monotonic() + guard
        while not (found := test(self.lines)):
            if self.proc.poll() is not None and self._new.empty():
                raise AssertionError(
                    f"{what}: {self.argv[:3]} exited ({self.proc.returncode}):\n" + self.tail()
                )
            try:
                self._new.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"hang guard: still waiting for {what}:\n{self.tail()}") from None
        return found

    def json_events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines:
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def send_line(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    def stop(self) -> int:
        """SIGTERM, wait; SIGKILL only if it does not exit (our own child, by PID)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def browser(bootstrap: list[str], *urls: str) -> Proc:
    return Proc([str(PEERBROWSER), "--headless", "--bootstrap", ",".join(bootstrap), *urls])


class DeviceProc:
    """One device as its own process (``tests/network/device_proc.py``), driven by JSON
    lines: join tabs, write, and read what its tabs saw. ``wrap`` runs the command some
    other way (inside a network namespace: ``lab.exec``)."""

    def __init__(
        self,
        bootstrap: list[str],
        *,
        refresh: float | None = None,
        extra: list[str] | None = None,
        wrap: Callable[[list[str]], list[str]] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        argv = [sys.executable, "-m", "tests.network.device_proc", "--bootstrap", ",".join(bootstrap)]
        if refresh is not None:
            argv += ["--refresh", str(refresh)]
        argv += extra or []
        self.p = Proc(wrap(argv) if wrap else argv, stdin=True, env=env)
        self.ids: dict[int, str] = {}

    def ready(self) -> None:
        self.p.wait_for(lambda _: self.events("ready"), "device ready")
        assert self.events("ready")[0]["state"] == "ready"

    def events(self, kind: str | None = None, peer: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.p.json_events()
            if (kind is None or e.get("event") == kind) and (peer is None or e.get("peer") == peer)
        ]

    def do(self, **cmd: Any) -> None:
        self.p.send_line(json.dumps(cmd))

    def join(self, tab: int, origin: str, identity: int, swarm: str | None) -> str:
        self.do(op="join", tab=tab, origin=origin, identity=identity, swarm=swarm)
        joined = self.p.wait_for(
            lambda _: [e for e in self.events("joined") if e["tab"] == tab], f"tab {tab} joined"
        )
        self.ids[tab] = joined[0]["id"]
        return self.ids[tab]

    def peers(self, tab: int) -> set[str]:
        """The peers tab ``tab`` was told of: connections less closes."""
        seen: set[str] = set()
        for e in self.p.json_events():
            if e.get("tab") != tab:
                continue
            if e["event"] == "connection":
                seen.add(e["peer"])
            elif e["event"] == "close":
                seen.discard(e["peer"])
        return seen

    def connections(self, tab: int) -> list[str]:
        return [e["peer"] for e in self.events("connection") if e["tab"] == tab]

    def wait_count(self, kind: str, peer: str, n: int, what: str) -> None:
        """Wait until at least ``n`` events of ``kind`` concerning ``peer`` came."""
        self.p.wait_for(lambda _: len(self.events(kind, peer)) >= n, what)
