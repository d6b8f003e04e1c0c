"""Recovery figures for docs/RELIABILITY.md: how long faults take to be seen and mended.

    .venv/bin/python -m bench.reliability [--rounds N]

Two devices (swarm cores on Hyperswarm sidecars, one process) on a local testnet
on 127.0.0.1 with the loopback guard. Per round:

* sidecar killed: SIGKILL to device A's sidecar; time until B's page-facing socket
  to A closes, and until a new socket to A is open and a message crosses again;
* device gone: device A's core closed abruptly (its sidecar killed, no restart);
  time until B sees the socket close.

Writes bench/results/reliability.json and prints a summary. Medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from swarm.core import SwarmCore
from swarm.events import Connection, HandleEvent, Messages, SocketClosed
from swarm.hyperswarm import HyperswarmEngine
from swarm.presence import SwarmHandle
from swarm.sidecar_options import SIDECAR_DIR, HyperswarmOptions
from swarm.topics import SwarmKey

RESULTS = Path(__file__).resolve().parent / "results"
GUARD = SIDECAR_DIR / "loopback-guard.cjs"
HANG_GUARD = 60.0


class Watch:
    """A tab's view: events with their arrival times, and a way to wait on them."""

    def __init__(self, core: SwarmCore) -> None:
        self.core = core
        self.events: list[tuple[float, HandleEvent]] = []
        self.changed = asyncio.Event()

    def __call__(self, handle: SwarmHandle, event: HandleEvent) -> None:
        if isinstance(event, Messages):
            self.core.consumed(handle, event.socket, event.size)
        self.events.append((time.perf_counter(), event))
        self.changed.set()

    async def until(self, test: Any, since: int = 0) -> float:
        """The arrival time of the first event from index ``since`` on that passes ``test``."""

        async def wait() -> float:
            while True:
                for t, e in self.events[since:]:
                    if test(e):
                        return t
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), HANG_GUARD)


def start_testnet() -> tuple[subprocess.Popen[bytes], list[str]]:
    env = {**os.environ, "PEERBROWSER_LOOPBACK_ONLY": "1"}
    proc = subprocess.Popen(
        ["node", "-r", str(GUARD), str(SIDECAR_DIR / "testnet.js"), "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=SIDECAR_DIR,
        env=env,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    bootstrap = list(info["bootstrap"])
    assert all(b.startswith("127.0.0.1:") for b in bootstrap)
    return proc, bootstrap


def device(bootstrap: list[str]) -> SwarmCore:
    options = HyperswarmOptions(
        network="bootstrap", bootstrap=tuple(bootstrap), host="127.0.0.1", loopback_only=True
    )
    return SwarmCore(HyperswarmEngine(options), grace=0)


async def one_round(bootstrap: list[str]) -> dict[str, float]:
    key = SwarmKey.open("reliability")
    a, b = device(bootstrap), device(bootstrap)
    await asyncio.gather(a.start(), b.start())
    wa, wb = Watch(a), Watch(b)
    ha = a.join("https://a.example", 0, key, "tab-a", wa)
    hb = b.join("https://b.example", 0, key, "tab-b", wb)
    a_id = ha.presence.id_hex
    await wb.until(lambda e: isinstance(e, Connection) and e.socket.id_hex == a_id)
    out: dict[str, float] = {}
    try:
        # 1. the sidecar of A is killed: B sees the socket close, then a new one
        engine = a.engine
        assert isinstance(engine, HyperswarmEngine) and engine.pid is not None
        seen = len(wb.events)
        t0 = time.perf_counter()
        os.kill(engine.pid, signal.SIGKILL)
        t_close = await wb.until(
            lambda e: isinstance(e, SocketClosed) and e.socket.id_hex == a_id, since=seen
        )
        t_back = await wb.until(lambda e: isinstance(e, Connection) and e.socket.id_hex == a_id, since=seen)
        b.write(hb, hb.require_socket(a_id), b"are you back?")
        t_msg = await wa.until(lambda e: isinstance(e, Messages) and b"are you back?" in e.payloads)
        out["sidecar_killed_close_s"] = t_close - t0
        out["sidecar_killed_reconnect_s"] = t_back - t0
        out["sidecar_killed_message_s"] = t_msg - t0
        # 2. device A goes away for good (its sidecar dies and is not restarted)
        engine.options = HyperswarmOptions(**{**engine.options.__dict__, "max_restarts": 0})
        seen = len(wb.events)
        t0 = time.perf_counter()
        assert engine.pid is not None
        os.kill(engine.pid, signal.SIGKILL)
        t_gone = await wb.until(lambda e: isinstance(e, SocketClosed) and e.socket.id_hex == a_id, since=seen)
        out["device_gone_close_s"] = t_gone - t0
    finally:
        await asyncio.gather(a.close(), b.close())
    return out


async def main(rounds: int) -> dict[str, Any]:
    proc, bootstrap = start_testnet()
    try:
        results = [await one_round(bootstrap) for _ in range(rounds)]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    summary = {k: statistics.median(r[k] for r in results) for k in results[0]}
    return {"rounds": rounds, "median_s": summary, "raw": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report = asyncio.run(main(args.rounds))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reliability.json").write_text(json.dumps(report, indent=2))
    for name, value in report["median_s"].items():
        print(f"{name:32s} {value * 1000:8.0f} ms")
