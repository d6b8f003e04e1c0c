"""Every idiom docs/API.md teaches, tab to tab, in tabs opened as ``peerbrowser --headless URL URL``.

The browser runs exactly as ``peerbrowser --headless URL ...`` runs (``browser.app``:
one window, one tab per URL, every tab but the first a background tab), with the
pages served over HTTP from 127.0.0.1 on two ports (two sites). For each idiom a
ping page (site A) and an echo page (site B) meet in an open swarm of their own; the
ping page times round trips and a one-way flood (``bench/pages/idioms/idioms.js``
says what each idiom is). RTCDataChannel pairs in the same browser and run are the
baseline (only inside ``bench.netns``). Turns are taken one at a time, interleaved
across repetitions, so drift hits every idiom alike.

The browser's channel counters (batches each page sent to the bridge, event batches
the bridge sent to each page) are read at the start and end of every timed phase, by
a synchronous request from the page (``markNow`` in ``common.js``: no task runs while
it waits, so the phase's counts are its own, not the credit a pause for the mark
would send): **channel messages per message** = both directions, both pages, over
the messages (round trips count two).

    python -m bench.idioms [--quick] [--webrtc] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import pagesite, stats
from bench.netns import in_private_netns

PAGES = Path(__file__).resolve().parent / "pages" / "idioms"
IDIOMS = ("await-for-await", "reader-read", "events")
HANG_S = 600.0


def plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {"reps": 3, "n": 300, "flood": 20000, "warmup": 30}
    return {"reps": 5, "n": 1000, "flood": 30000, "warmup": 50}


class Server:
    """Two HTTP origins on 127.0.0.1 serving the pages, taking turns, marks and reports."""

    def __init__(self, order: list[tuple[str, int]], snapshot: Callable[[], dict[str, int]]) -> None:
        self.order = order  # (room, rep) in the order the turns are given
        self.turn = 0
        self.reports: list[dict[str, Any]] = []
        self.snapshot = snapshot  # runs on the Qt thread; called through call_soon_threadsafe
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cond = threading.Condition()
        self.signals: dict[tuple[str, str], str] = {}
        self.done = asyncio.Event()
        self.servers = [self._server(), self._server()]

    def _server(self) -> ThreadingHTTPServer:
        return pagesite.serve(PAGES, self.post, "bench.idioms")

    def origin(self, i: int) -> str:
        return f"http://127.0.0.1:{self.servers[i].server_address[1]}"

    def post(self, path: str, body: dict[str, Any]) -> Any:
        if path == "/turn":
            with self.cond:
                self.cond.wait_for(
                    lambda: (
                        self.turn >= len(self.order) or self.order[self.turn] == (body["room"], body["rep"])
                    ),
                    timeout=HANG_S,
                )
            return {"ok": True}
        if path == "/mark":
            return self._on_qt(self.snapshot)
        if path == "/report":
            with self.cond:
                if self.turn >= len(self.order):
                    return {"ok": True}  # the run is over: a page torn down by the shutdown
                self.reports.append(body)
                self.turn += 1
                self.cond.notify_all()
                finished = self.turn >= len(self.order) or not body.get("ok")
            if finished and self.loop is not None:
                self.loop.call_soon_threadsafe(self.done.set)
            return {"ok": True}
        if path == "/signal":
            key = (body["room"], body["key"])
            with self.cond:
                if "value" in body:
                    self.signals[key] = body["value"]
                    self.cond.notify_all()
                    return {"ok": True}
                self.cond.wait_for(lambda: key in self.signals, timeout=HANG_S)
                return {"value": self.signals.get(key)}
        return {"error": f"unknown {path}"}

    def _on_qt(self, fn: Callable[[], Any]) -> Any:
        assert self.loop is not None
        box: dict[str, Any] = {}
        ready = threading.Event()

        def run() -> None:
            box["v"] = fn()
            ready.set()

        self.loop.call_soon_threadsafe(run)
        ready.wait(HANG_S)
        return box.get("v")

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def urls(server: Server, p: dict[str, Any], transports: list[tuple[str, str]]) -> list[str]:
    out = []
    for transport, idiom in transports:
        room = f"bench-idioms-{transport}-{idiom}"
        q = f"transport={transport}&idiom={idiom}&room={room}&n={p['n']}&flood={p['flood']}"
        q += f"&warmup={p['warmup']}&reps={p['reps']}"
        out.append(f"{server.origin(0)}/idioms.html?role=ping&{q}")
        out.append(f"{server.origin(1)}/idioms.html?role=echo&{q}")
    return out


def run(quick: bool, webrtc: bool, only: list[str] | None = None) -> dict[str, Any]:
    from browser import app
    from browser.config import BrowserConfig

    p = plan(quick)
    transports = [("peersocket", i) for i in (only or IDIOMS)]
    if webrtc:
        if not in_private_netns():
            raise RuntimeError("refusing WebRTC outside the benchmark's own network namespace (bench.netns)")
        transports.append(("rtc", "events"))
    rooms = [f"bench-idioms-{t}-{i}" for t, i in transports]
    order = [(room, rep) for rep in range(p["reps"]) for room in rooms]
    holder: dict[str, Any] = {}

    def snapshot() -> dict[str, int]:
        window = holder["session"].window
        ins = outs = 0
        for tab in window.tabs():
            bridge = tab.bridge
            if bridge is not None:
                ins += bridge.batches_in
                outs += bridge.batches_out
        return {"in": ins, "out": outs}

    server = Server(order, snapshot)
    config = BrowserConfig(urls=tuple(urls(server, p, transports)), headless=True, network="none", grace=0.0)

    async def task(session: Any) -> int:
        holder["session"] = session
        server.loop = asyncio.get_running_loop()
        await asyncio.wait_for(server.done.wait(), HANG_S)
        return 0

    try:
        code = app.run(config, task, offscreen=True)
    finally:
        server.close()
    if code != 0:
        raise RuntimeError(f"the browser exited with {code}")
    return {"plan": p, "transports": summarize(server.reports, p)}


def summarize(reports: list[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in reports:
        if not r.get("ok"):
            raise RuntimeError(f"{r.get('transport')} {r.get('idiom')}: {r.get('error')}")
        by.setdefault(f"{r['transport']}:{r['idiom']}", []).append(r["result"])
    out: dict[str, Any] = {}
    for name, reps in by.items():
        pooled = [x for r in reps for x in r["rtt"]["samples"]]
        blocks = [x for r in reps for x in r["rtt"]["blocks"]]
        lat = stats.latency(pooled)
        rtt_msgs = [
            (
                r["rtt"]["marks"]["in"]
                + r["rtt"]["marks"]["out"]
                - r["rtt"]["start"]["in"]
                - r["rtt"]["start"]["out"]
            )
            / (2 * p["n"])
            for r in reps
            if r["rtt"].get("start")
        ]
        out[name] = {
            "rtt_median_ms": stats.median(blocks),
            "rtt_median_ms_reps": [stats.median(r["rtt"]["blocks"]) for r in reps],
            "rtt_p99_ms": lat["p99_ms"],
            "msgs_per_s": stats.median([r["flood"]["msgs_per_s"] for r in reps]),
            "msgs_per_s_reps": [r["flood"]["msgs_per_s"] for r in reps],
            "channel_per_msg_rtt": stats.median(rtt_msgs) if rtt_msgs else None,
            "channel_per_msg_flood": stats.median(
                [
                    (
                        r["flood"]["marks"]["in"]
                        + r["flood"]["marks"]["out"]
                        - r["flood"]["start"]["in"]
                        - r["flood"]["start"]["out"]
                    )
                    / p["flood"]
                    for r in reps
                    if r["flood"].get("start")
                ]
            ),
            "visibility": [r.get("visibility") for r in reps],
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--webrtc", action="store_true", help="include RTCDataChannel (bench.netns only)")
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    parser.add_argument("--only", nargs="*", help="these idioms only")
    args = parser.parse_args()
    result = run(args.quick, args.webrtc, args.only)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
