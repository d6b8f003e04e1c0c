"""Tab to tab in one browser: PeerSocket against the QWebChannel floor and RTCDataChannel.

Two tabs (debug identities 1 and 2) in one open swarm, through the real bridge
and ``peersocket.js``; tab B echoes. Baselines in the same process and run:
a bare QWebChannel echo (floor) and, with ``--webrtc`` (only inside
``bench.netns``), an RTCDataChannel between two tabs of the same engine.

    python -m bench.tab_to_tab [--quick] [--webrtc] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bench import procs, stats
from bench.netns import in_private_netns

KINDS = ("small", "binary")
BINARY_BYTES = 64 * 1024


def plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "reps": 2,
            "rtt": {"small": 200, "binary": 40},
            "flood": {"small": 5000, "binary": 100},
            "warmup": 20,
        }
    return {
        "reps": 5,
        "rtt": {"small": 1000, "binary": 150},
        "flood": {"small": 30000, "binary": 400},
        "warmup": 50,
    }


async def open_peersocket(session: Any) -> Any:
    a, b = await session.peer_tab(1), await session.peer_tab(2)
    ida, idb = await asyncio.gather(
        session.evaluate(a, "B.peersocket('bench-tab-to-tab')"),
        session.evaluate(b, "B.peersocket('bench-tab-to-tab')"),
    )
    await session.evaluate(a, f"B.usePeer({json.dumps(idb)})")
    await session.evaluate(b, f"B.usePeer({json.dumps(ida)}) && B.echo()")
    return a


async def open_rtc(session: Any) -> Any:
    from browser.qt_wait import run_js

    if not in_private_netns():
        raise RuntimeError("refusing WebRTC outside the benchmark's own network namespace (bench.netns)")
    c, d = await session.peer_tab(3, "rtc.html"), await session.peer_tab(4, "rtc.html")
    offer = await session.evaluate(c, "B.rtcOffer()")
    answer = await session.evaluate(d, f"B.rtcAnswer({json.dumps(offer)})")
    await session.evaluate(c, f"B.rtcAccept({json.dumps(answer)})")
    for _ in range(500):
        if await run_js(d, "B.rtcOpen()"):
            break
        await asyncio.sleep(0.02)
    await session.evaluate(d, "B.echo()")
    return c


async def measure_one(session: Any, page: Any, kind: str, p: dict[str, Any]) -> dict[str, Any]:
    rtt = await session.evaluate(page, f"B.rtt('{kind}', {p['rtt'][kind]}, {p['warmup']})")
    n = p["flood"][kind]
    with procs.cpu_meter() as cpu:
        flood = await session.evaluate(page, f"B.flood('{kind}', {n})")
    seconds = flood["ms"] / 1000
    size = BINARY_BYTES if kind == "binary" else 0
    return {
        "rtt_ms": rtt["samples"],
        "rtt_block_ms": rtt["blocks"],
        "msgs_per_s": n / seconds,
        "mb_per_s": n * size / seconds / 1e6 if size else None,
        "cpu_s_per_1000": cpu["cpu_s"] / (n / 1000),
    }


def rtt_summary(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Median from 10-round-trip blocks (finer than the page clock's 0.1 ms), p99 from single ones."""
    pooled = [x for r in reps for x in r["rtt_ms"]]
    blocks = [x for r in reps for x in r["rtt_block_ms"]]
    out: dict[str, Any] = dict(stats.latency(pooled))
    out["single_median_ms"] = out["median_ms"]
    out["median_ms"] = stats.median(blocks)
    out["rep_medians_ms"] = [stats.median(r["rtt_block_ms"]) for r in reps]
    out["samples_ms"] = pooled
    return out


def summarize(reps: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"rtt": rtt_summary(reps)}
    for key in ("msgs_per_s", "mb_per_s", "cpu_s_per_1000"):
        values = [r[key] for r in reps if r[key] is not None]
        out[key] = stats.median(values) if values else None
        out[key + "_reps"] = values
    return out


async def run(quick: bool, webrtc: bool) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from swarm.core import SwarmCore

    p = plan(quick)
    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    results: dict[str, Any] = {"plan": p, "transports": {}}
    try:
        pages = {"peersocket": await open_peersocket(session), "floor": await session.floor_page()}
        await session.evaluate(pages["floor"], "B.floor()")
        if webrtc:
            pages["rtc"] = await open_rtc(session)
        raw: dict[str, dict[str, list[dict[str, Any]]]] = {n: {k: [] for k in KINDS} for n in pages}
        # warm-up: one short round of everything, not recorded
        for page in pages.values():
            for kind in KINDS:
                await session.evaluate(page, f"B.flood('{kind}', {p['flood'][kind] // 10})")
        for rep in range(p["reps"]):
            for kind in KINDS:
                for name, page in pages.items():  # interleaved, so drift hits all alike
                    raw[name][kind].append(await measure_one(session, page, kind, p))
            print(f"tab_to_tab: rep {rep + 1}/{p['reps']} done", file=sys.stderr)
        results["memory_after"] = procs.memory(procs.tree())
        for name, kinds in raw.items():
            results["transports"][name] = {kind: summarize(reps) for kind, reps in kinds.items()}
    finally:
        await session.close()
        await core.close()
    results["ratios"] = ratios(results["transports"])
    return results


def ratios(t: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ps = t["peersocket"]
    for base in ("floor", "rtc"):
        if base not in t:
            continue
        for kind in KINDS:
            b = t[base][kind]
            out[f"{kind}.rtt_median.vs_{base}"] = stats.ratio(
                ps[kind]["rtt"]["median_ms"], b["rtt"]["median_ms"]
            )
            out[f"{kind}.rtt_p99.vs_{base}"] = stats.ratio(ps[kind]["rtt"]["p99_ms"], b["rtt"]["p99_ms"])
            out[f"{kind}.msgs_per_s.vs_{base}"] = stats.ratio(ps[kind]["msgs_per_s"], b["msgs_per_s"])
            out[f"{kind}.cpu_per_1000.vs_{base}"] = stats.ratio(
                ps[kind]["cpu_s_per_1000"], b["cpu_s_per_1000"]
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--webrtc", action="store_true", help="include the RTCDataChannel baseline (bench.netns only)"
    )
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    args = parser.parse_args()
    from bench.qtpages import run_on_qt

    return run_on_qt(lambda: run(args.quick, args.webrtc), args.out)


if __name__ == "__main__":
    sys.exit(main())
