"""Scale on one device: time from joinSwarm to a full mesh, fan-out, memory.

- core: N presences of one SwarmCore (no pages) join one swarm; time until every
  one has N-1 sockets; fan-out of one message from one presence to the N-1 others;
  memory per presence (tracemalloc, sockets included);
- page: N tabs (one debug identity each) join one open swarm; time from the first
  joinSwarm() call to the last tab seeing N-1 peers; fan-out from one tab to the
  others (they echo; time until every echo is back);
- memory: PSS and RSS of the browser's process tree per blank tab (the engine's own
  cost) and per PeerSocket tab (a page that joined a swarm).

    python -m bench.scale [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import sys
import time
import tracemalloc
from typing import Any

from bench import procs, stats

CORE_NS = (2, 8, 32, 64)


def plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {"reps": 2, "core_ns": CORE_NS, "page_ns": (2, 4), "fanout_reps": 10, "tabs": 2}
    return {"reps": 5, "core_ns": CORE_NS, "page_ns": (2, 8), "fanout_reps": 50, "tabs": 4}


# --- core level ----------------------------------------------------------------------


async def core_mesh(n: int, trace: bool = False) -> dict[str, float]:
    from bench.corepeer import SMALL, CorePeer
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    gc.collect()
    if trace:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    peers = [CorePeer(core, "bench://scale", i, "bench-mesh") for i in range(n)]
    done = await asyncio.gather(*(p.until_peers(n - 1) for p in peers))
    mesh_s = max(done) - t0
    gc.collect()
    per_presence = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    if not trace:
        per_presence = float("nan")
    # fan-out: presence 0 writes one message to each other presence
    left = n - 1
    finished = asyncio.get_running_loop().create_future()

    def got(_socket: Any, _payload: bytes) -> None:
        nonlocal left
        left -= 1
        if left == 0 and not finished.done():
            finished.set_result(time.perf_counter())

    for p in peers[1:]:
        p.on_message = got
    t1 = time.perf_counter()
    for socket in list(peers[0].sockets.values()):
        peers[0].write(socket, SMALL)
    fanout_s = (await finished) - t1
    await core.close()
    return {"mesh_ms": mesh_s * 1000, "fanout_ms": fanout_s * 1000, "bytes_per_presence": per_presence}


async def core_level(p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in p["core_ns"]:
        await core_mesh(n)  # warm-up
        reps = [await core_mesh(n) for _ in range(p["reps"])]
        out[str(n)] = {key: stats.median([r[key] for r in reps]) for key in reps[0]}
        out[str(n)]["bytes_per_presence"] = (await core_mesh(n, trace=True))["bytes_per_presence"]
        out[str(n)]["reps"] = reps
    return out


# --- page level ------------------------------------------------------------------------


async def page_mesh(session: Any, n: int, room: str, fanout_reps: int, concurrent: bool) -> dict[str, Any]:
    """All tabs call joinSwarm() at once (concurrent) or one after the other."""
    from browser.qt_wait import run_js

    pages = [await session.peer_tab(10 + i) for i in range(n)]
    expr = f"B.meshTime({json.dumps(room)}, {n - 1}, 5000)"
    if concurrent:
        results = await asyncio.gather(*(session.evaluate(pg, expr) for pg in pages))
    else:
        started = []
        for pg in pages:  # the next tab calls joinSwarm() once the previous join resolved
            started.append(asyncio.ensure_future(session.evaluate(pg, expr)))
            while not await run_js(pg, "!!B.swarm"):
                await asyncio.sleep(0.001)
        results = await asyncio.gather(*started)
    start = min(r["t0"] for r in results)
    end = max(r["t0"] + r["ms"] for r in results)
    complete = all(r["have"] == n - 1 for r in results)
    out: dict[str, Any] = {"mesh_ms": end - start if complete else float("nan"), "complete": complete}
    out["missing_sockets"] = sum(n - 1 - r["have"] for r in results)
    if complete:
        for pg in pages[1:]:
            await session.evaluate(pg, "B.echoAll()")
        fan = await session.evaluate(pages[0], f"B.fanout('small', {fanout_reps})")
        out["fanout_ms"] = stats.median(fan)
        out["fanout_p99_ms"] = stats.percentile(fan, 99)
    return out


async def memory_per_tab(session: Any, k: int) -> dict[str, Any]:
    """PSS/RSS of the whole browser tree as tabs are added, k of each kind in turn:
    blank tabs (about:blank), plain pages without PeerSocket (a profile that injects
    only qwebchannel.js), and PeerSocket tabs that joined a swarm."""
    from browser.site_permissions import SitePermissions
    from browser.window import BrowserWindow

    window = BrowserWindow(session.profile, session.core, permissions=SitePermissions.allow_all())
    window.show()
    session.windows.append(window)
    await session.blank_tab(window)
    await session.floor_page()  # the plain pages' profile exists before we measure
    await asyncio.sleep(1.0)
    marks = [procs.memory(procs.tree())]
    for _ in range(k):
        await session.blank_tab(window)
    await asyncio.sleep(1.0)
    marks.append(procs.memory(procs.tree()))
    for _ in range(k):
        await session.floor_page()
    await asyncio.sleep(1.0)
    marks.append(procs.memory(procs.tree()))
    for i in range(k):
        page = await session.peer_tab(200 + i, window=window)
        await session.evaluate(page, "B.peersocket('bench-memory', 0)")
    await asyncio.sleep(1.0)
    marks.append(procs.memory(procs.tree()))
    keys = list(marks[0])
    blank, plain, peersocket = (
        {key: (b[key] - a[key]) / k for key in keys} for a, b in itertools.pairwise(marks)
    )
    return {
        "tabs_each": k,
        "blank_tab_bytes": blank,
        "plain_page_bytes": plain,
        "peersocket_tab_bytes": peersocket,
        # what PeerSocket adds to a tab, against what the engine costs for a plain page
        "peersocket_extra_vs_plain": {
            key: stats.ratio(peersocket[key] - plain[key], plain[key]) for key in keys
        },
        "peersocket_extra_vs_blank": {
            key: stats.ratio(peersocket[key] - blank[key], blank[key]) for key in keys
        },
    }


async def page_level(p: dict[str, Any]) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from swarm.core import SwarmCore

    out: dict[str, Any] = {"mesh": {}, "mesh_concurrent": {}}
    for n in p["page_ns"]:
        for mode in ("mesh", "mesh_concurrent"):
            reps = []
            for r in range(p["reps"] + 1):  # the first is a warm-up
                core = SwarmCore(grace=0.0)
                session = QtSession(core)
                try:
                    room = f"bench-page-{mode}-{n}-{r}"
                    result = await page_mesh(session, n, room, p["fanout_reps"], mode == "mesh_concurrent")
                finally:
                    await session.close()
                    await core.close()
                if r:
                    reps.append(result)
            keys = [k for k in reps[0] if isinstance(reps[0][k], float)]
            out[mode][str(n)] = {k: stats.median([x.get(k, float("nan")) for x in reps]) for k in keys}
            out[mode][str(n)]["complete_reps"] = sum(1 for x in reps if x["complete"])
            out[mode][str(n)]["reps"] = reps
            print(f"scale: page {mode} N={n} done", file=sys.stderr)
    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    try:
        out["memory"] = await memory_per_tab(session, p["tabs"])
    finally:
        await session.close()
        await core.close()
    return out


async def run(quick: bool) -> dict[str, Any]:
    p = plan(quick)
    results: dict[str, Any] = {"plan": p, "core": await core_level(p)}
    print("scale: core level done", file=sys.stderr)
    results["page"] = await page_level(p)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    from bench.qtpages import run_on_qt

    return run_on_qt(lambda: run(args.quick), args.out)


if __name__ == "__main__":
    sys.exit(main())
