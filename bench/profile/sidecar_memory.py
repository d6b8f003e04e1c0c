"""Where a flooded sidecar's memory sits, and whether it goes back down.

Two Hyperswarm engines (one Node sidecar each) on a loopback testnet, driven from this
process as the core would drive them. The writer sends ``--mib`` MiB as fast as its
stream takes them; the reader's core either takes nothing (``overrun``: the sidecar stops
reading at 4 MiB unacknowledged and destroys the connection once it holds 32 MiB) or
takes everything (``flow``). The reader's sidecar reports its memory (``stats``: RSS,
V8's heap, ``external`` and ``arrayBuffers``) before, at its peak, right after the
connection ends (or the last byte arrived) and ``--idle`` seconds later.

    python -m bench.profile.sidecar_memory [--mode overrun|flow] [--mib N] [--idle S]

Extra environment for the sidecars (e.g. ``MALLOC_ARENA_MAX=2``) is taken from ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench import procs
from bench.devices import start_testnet

MiB = 2**20


class Sink:
    """What the core would do with an engine's links: keep the bytes, or not."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.links: list[Any] = []
        self.changed = asyncio.Event()

    def attach(self, transport: Any) -> Any:
        sink = self

        class Link:
            def __init__(self) -> None:
                self.transport = transport
                self.received = 0
                self.lost: tuple[str, str] | None = None

            def data_received(self, data: bytes) -> None:
                self.received += len(data)
                sink.changed.set()

            def connection_lost(self, code: str, reason: str) -> None:
                self.lost = (code, reason)
                sink.changed.set()

        link = Link()
        self.links.append(link)
        self.changed.set()
        return link

    def engine_state_changed(self, state: str, detail: str) -> None:
        self.changed.set()

    async def until(self, test: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := test()):
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("waited too long")
            await asyncio.wait_for(self.changed.wait(), left)
        return found


def mem(stats: dict[str, Any]) -> dict[str, float]:
    keys = ("rss", "heapUsed", "heapTotal", "external", "arrayBuffers")
    return {k: round(stats.get(k, 0) / MiB, 1) for k in keys}


def maps(pid: int) -> dict[str, float]:
    """Where the process's resident memory is (MiB): the malloc heap (``[heap]``), other
    anonymous mappings (V8's pages, malloc's other arenas, large allocations), files."""
    out: dict[str, float] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5:
            name = head[5] if len(head) > 5 else "[anon]"
            if not name.startswith("["):
                name = "[files]"
        elif head[0] == "Rss:":
            out[name] = out.get(name, 0.0) + int(head[1]) / 1024
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1]) if v >= 0.5}


async def run(mode: str, mib: int, idle: float, chunk_kib: int) -> dict[str, Any]:
    from swarm.hyperswarm import HyperswarmEngine
    from swarm.sidecar_options import HyperswarmOptions

    env = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "NODE_OPTIONS"))}
    out: dict[str, Any] = {"mode": mode, "mib": mib, "chunk_kib": chunk_kib, "env": env}
    with procs.Children() as children:
        bootstrap = start_testnet(children)
        opts = HyperswarmOptions(network="bootstrap", bootstrap=tuple(bootstrap), host="127.0.0.1",
                                 loopback_only=True)  # fmt: skip
        reader, writer = HyperswarmEngine(opts), HyperswarmEngine(opts)
        rsink, wsink = Sink(keep=mode == "flow"), Sink(keep=True)
        before = {c.pid for c in psutil.Process().children()}
        await reader.start(rsink)
        sidecar = next(c for c in psutil.Process().children() if c.pid not in before)
        await writer.start(wsink)
        try:
            topic = secrets.token_bytes(32)
            reader.join(topic)
            writer.join(topic)
            wlink = await wsink.until(lambda: next((x for x in wsink.links if x.lost is None), None))
            rlink = await rsink.until(lambda: next((x for x in rsink.links if x.lost is None), None))
            out["start"] = mem(await reader.sidecar_stats())
            if mode == "overrun":
                rlink.transport.pause_reading()
            chunk = secrets.token_bytes(chunk_kib * 1024)
            per_mib = MiB // len(chunk)
            peak: dict[str, float] = {}
            sampling = True

            async def sample() -> None:
                while sampling:
                    now = mem(await reader.sidecar_stats())
                    for k, v in now.items():
                        peak[k] = max(peak.get(k, 0.0), v)
                    await asyncio.sleep(0.1)

            sampler = asyncio.ensure_future(sample())
            t0 = time.monotonic()
            for _ in range(mib):
                if wlink.lost is not None:
                    break
                for _ in range(per_mib):
                    wlink.transport.write(chunk)
                await asyncio.sleep(0.01)  # let the sidecar's pipe take it
            if mode == "overrun":
                await rsink.until(lambda: rlink.lost is not None, 120)
                out["cut"] = rlink.lost
            else:
                await rsink.until(lambda: rlink.received >= mib * MiB, 120)
            out["seconds"] = round(time.monotonic() - t0, 2)
            sampling = False
            await sampler
            out["peak"] = peak
            out["end"] = mem(await reader.sidecar_stats())
            await asyncio.sleep(idle)
            out[f"idle_{idle:g}s"] = mem(await reader.sidecar_stats())
            out["maps"] = maps(sidecar.pid)
        finally:
            await asyncio.gather(reader.close(), writer.close(), return_exceptions=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("overrun", "flow"), default="overrun")
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--idle", type=float, default=5.0)
    parser.add_argument("--chunk", type=int, default=64, help="KiB per write (default 64, as the attacker's)")
    args = parser.parse_args()
    os.environ["PEERBROWSER_LOOPBACK_ONLY"] = "1"
    print(json.dumps(asyncio.run(run(args.mode, args.mib, args.idle, args.chunk))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
