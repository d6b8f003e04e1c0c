"""One "device" for the benchmarks across devices: a swarm core on the Hyperswarm engine,
on a local testnet (127.0.0.1 only, loopback guard on), with or without pages.

    python -m bench.device core|page echo|measure --bootstrap 127.0.0.1:P[,...] --room NAME [--quick]
    python -m bench.device page tabs --bootstrap ... --room NAME [--quick]
    python -m bench.device core mesh --bootstrap ... --room NAME --presences K --total N

Prints JSON lines on stdout: {"ready": ...} once joined, then (measure, mesh) the
results. Echo devices, and mesh devices after their result, run until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import procs, stats

ORIGIN = "bench://devices"


def emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def read_line() -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, sys.stdin.readline)


def make_core(bootstrap: list[str], sidecar_dir: str | None = None) -> Any:
    from swarm.core import SwarmCore
    from swarm.hyperswarm import HyperswarmEngine
    from swarm.sidecar_options import HyperswarmOptions

    for node in bootstrap:
        if not node.startswith("127.0.0.1:"):
            raise SystemExit(f"bench.device: refusing a non-loopback bootstrap node {node!r}")
    extra: dict[str, Any] = {"sidecar_dir": Path(sidecar_dir)} if sidecar_dir else {}
    options = HyperswarmOptions(
        network="bootstrap", bootstrap=tuple(bootstrap), host="127.0.0.1", loopback_only=True, **extra
    )
    return SwarmCore(HyperswarmEngine(options), grace=0.0)


async def wait_ready(core: Any, timeout: float = 60.0) -> None:
    await core.start()
    state, detail = core.engine_state
    if state != "ready":
        raise RuntimeError(f"the Hyperswarm engine is not ready: {state} {detail}")


# --- core to core ----------------------------------------------------------------------


async def core_role(args: argparse.Namespace) -> None:
    from bench.corepeer import CorePeer
    from bench.tab_to_tab import plan

    if os.environ.get("PEERBENCH_WHATIF") == "credit-quarter":
        from bench.profile.whatif_credit import patch

        patch()

    core = make_core(args.bootstrap)
    try:
        await wait_ready(core)
        identity = 1 if args.role == "echo" else 2
        peer = CorePeer(core, ORIGIN, identity, args.room)
        emit({"ready": True, "id": peer.id.hex()})
        if args.role == "echo":
            peer.echo()
            await stdin_closed()
            return
        await asyncio.wait_for(peer.until_peers(1), 60)
        socket = next(iter(peer.sockets.values()))
        p = plan(args.quick)
        out: dict[str, Any] = {}
        for kind in ("small", "binary"):
            await peer.flood(socket, kind, p["flood"][kind] // 10)  # warm-up
            samples: list[float] = []
            rates: list[float] = []
            cpus: list[float] = []
            for _ in range(p["reps"]):
                samples += await peer.rtt(socket, kind, p["rtt"][kind], p["warmup"])
                n = p["flood"][kind]
                with procs.cpu_meter() as cpu:
                    seconds = await peer.flood(socket, kind, n)
                rates.append(n / seconds)
                cpus.append(cpu["cpu_s"] / (n / 1000))
            out[kind] = {
                "rtt": stats.latency(samples),
                "msgs_per_s": stats.median(rates),
                "msgs_per_s_reps": rates,
                "mb_per_s": stats.median(rates) * len(_payload(kind)) / 1e6,
                "cpu_s_per_1000_this_device": stats.median(cpus),
            }
        emit({"result": out})
    finally:
        await core.close()


def _payload(kind: str) -> bytes:
    from bench.corepeer import PAYLOADS

    payload: bytes = PAYLOADS[kind]
    return payload


# --- mesh over several devices ---------------------------------------------------------


async def mesh_role(args: argparse.Namespace) -> None:
    """K presences here; on "go" from stdin all join; report when each sees total-1 peers."""
    from bench.corepeer import CorePeer

    core = make_core(args.bootstrap, args.sidecar_dir)
    try:
        await wait_ready(core)
        emit({"ready": True})
        await read_line()  # "go"
        t0_wall = time.time()
        t0 = time.perf_counter()
        peers = [CorePeer(core, ORIGIN, 100 + i, args.room) for i in range(args.presences)]
        done = await asyncio.wait_for(asyncio.gather(*(p.until_peers(args.total - 1) for p in peers)), 120)
        emit(
            {"result": {"t0_wall": t0_wall, "mesh_s": max(done) - t0, "done_wall": t0_wall + max(done) - t0}}
        )
        await stdin_closed()
    finally:
        await core.close()


# --- page to page ---------------------------------------------------------------------------


async def measure_pages(session: Any, page: Any, quick: bool) -> dict[str, Any]:
    """What ``page`` measures against the peer it uses (bench/pages/bench/bench.js)."""
    from bench.tab_to_tab import measure_one, plan, summarize

    p = plan(quick)
    out: dict[str, Any] = {}
    for kind in ("small", "binary"):
        await session.evaluate(page, f"B.flood('{kind}', {p['flood'][kind] // 10})")
        reps = [await measure_one(session, page, kind, p) for _ in range(p["reps"])]
        out[kind] = summarize(reps)
    return out


async def tabs_role(args: argparse.Namespace) -> None:
    """Tab to tab in this one browser, on the same engine and testnet as the page-to-page
    pair: the baseline that page to page is held to, measured in the same run."""
    from bench.qtpages import QtSession

    core = make_core(args.bootstrap)
    session = None
    try:
        await wait_ready(core)
        session = QtSession(core)
        a, b = await session.peer_tab(1), await session.peer_tab(2)
        room = json.dumps(args.room)
        ida, idb = await asyncio.gather(
            session.evaluate(a, f"B.peersocket({room}, 1)", timeout=60),
            session.evaluate(b, f"B.peersocket({room}, 1)", timeout=60),
        )
        await session.evaluate(a, f"B.usePeer({json.dumps(idb)})")
        await session.evaluate(b, f"B.usePeer({json.dumps(ida)}) && B.echo()")
        emit({"ready": True})
        emit({"result": await measure_pages(session, a, args.quick)})
    finally:
        if session is not None:
            await session.close()
        await core.close()


async def page_role(args: argparse.Namespace) -> None:
    from bench.qtpages import QtSession

    core = make_core(args.bootstrap)
    session = None
    try:
        await wait_ready(core)
        session = QtSession(core)
        page = await session.peer_tab(1 if args.role == "echo" else 2)
        me = await session.evaluate(page, f"B.peersocket({json.dumps(args.room)}, 0)")
        emit({"ready": True, "id": me})
        if args.role == "echo":
            await session.evaluate(page, "B.echoFirstPeer()", timeout=60)
            await stdin_closed()
            return
        peer_id = await session.evaluate(page, "B.firstPeer()", timeout=60)
        await session.evaluate(page, f"B.usePeer({json.dumps(peer_id)})")
        emit({"result": await measure_pages(session, page, args.quick)})
    finally:
        if session is not None:
            await session.close()
        await core.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("core", "page"))
    parser.add_argument("role", choices=("echo", "measure", "mesh", "tabs"))
    parser.add_argument("--bootstrap", required=True, type=lambda s: s.split(","))
    parser.add_argument("--room", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--presences", type=int, default=1)
    parser.add_argument("--total", type=int, default=2)
    parser.add_argument("--sidecar-dir", help="run this copy of swarm/sidecar (what-if experiments)")
    args = parser.parse_args()
    if hops := os.environ.get("PEERBENCH_HOPS"):
        from bench.profile.hops import install

        install(hops)
    if args.mode == "page":
        from browser.qtstart import start_qt

        _app, loop = start_qt(offscreen=True)
        with loop:
            loop.run_until_complete(tabs_role(args) if args.role == "tabs" else page_role(args))
        return 0
    asyncio.run(mesh_role(args) if args.role == "mesh" else core_role(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
