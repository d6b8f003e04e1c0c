"""Isolation: a quiet pair's round trips while a neighbour pair floods, PeerSocket and RTCDataChannel.

Four PeerSocket tabs on two sites (writer and pinger on site A, reader and echo on site B)
and four RTCDataChannel tabs doing the same, all opened as ``peerbrowser --headless URL
...`` opens them. Phases, one transport at a time, interleaved across repetitions:
'quiet' (the pinger pings its echo), 'flood' (the writer floods its reader meanwhile).
The quiet pair's median and p99 in 'flood' over 'quiet' is the slow-down.

    python -m bench.isolation [--quick] [--webrtc] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import stats
from bench.netns import in_private_netns

PAGES = Path(__file__).resolve().parent / "pages" / "idioms"
ROLES = ("writer", "reader", "pinger", "echo")
HANG_S = 600.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # every page long-polls: the default 5 refuses connections
    daemon_threads = True


class Server:
    def __init__(self, roles_expected: int) -> None:
        self.cond = threading.Condition()
        self.phase: dict[str, Any] = {"name": "setup", "transport": None, "seq": 0}
        self.ready = 0
        self.expected = roles_expected
        self.samples: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.signals: dict[tuple[str, str], str] = {}
        self.servers = [self._server(), self._server()]

    def _server(self) -> ThreadingHTTPServer:
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(PAGES), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                answer = outer.post(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def origin(self, i: int) -> str:
        return f"http://127.0.0.1:{self.servers[i].server_address[1]}"

    def post(self, path: str, body: dict[str, Any]) -> Any:
        with self.cond:
            if path == "/phase":
                self.cond.wait_for(lambda: self.phase["seq"] != body["after"], timeout=HANG_S)
                return dict(self.phase)
            if path == "/ready":
                self.ready += 1
                self.cond.notify_all()
                return {"ok": True}
            if path == "/samples":
                self.samples.append(body)
                self.cond.notify_all()
                return {"ok": True}
            if path == "/failed":
                self.failed.append(body)
                self.cond.notify_all()
                return {"ok": True}
            if path == "/signal":
                key = (body["room"], body["key"])
                if "value" in body:
                    self.signals[key] = body["value"]
                    self.cond.notify_all()
                    return {"ok": True}
                self.cond.wait_for(lambda: key in self.signals, timeout=HANG_S)
                return {"value": self.signals.get(key)}
        return {"error": path}

    def set_phase(self, name: str, transport: str | None) -> int:
        with self.cond:
            seq = self.phase["seq"] + 1
            self.phase = {"name": name, "transport": transport, "seq": seq}
            self.cond.notify_all()
            return seq

    def wait(self, predicate: Any, what: str) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: predicate() or self.failed, timeout=HANG_S):
                raise TimeoutError(what)
            if self.failed:
                raise RuntimeError(f"a page failed: {self.failed[0]}")

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def run(quick: bool, webrtc: bool, seconds: float | None) -> dict[str, Any]:
    from browser import app
    from browser.config import BrowserConfig

    transports = ["peersocket"] + (["rtc"] if webrtc else [])
    if webrtc and not in_private_netns():
        raise RuntimeError("refusing WebRTC outside the benchmark's own network namespace (bench.netns)")
    reps = 2 if quick else 4
    phase_s = seconds or (3.0 if quick else 6.0)
    server = Server(len(transports) * len(ROLES))
    urls = []
    for t in transports:
        for role, site in (("writer", 0), ("reader", 1), ("pinger", 0), ("echo", 1)):
            room = f"bench-iso-{t}-{'flood' if role in ('writer', 'reader') else 'ping'}"
            urls.append(f"{server.origin(site)}/isolation.html?role={role}&transport={t}&room={room}")
    config = BrowserConfig(urls=tuple(urls), headless=True, network="none", grace=0.0)
    schedule = [(rep, t, name) for rep in range(reps) for t in transports for name in ("quiet", "flood")]

    def drive() -> None:
        server.wait(lambda: server.ready >= server.expected, "every page ready")
        for _rep, t, name in schedule:
            seq = server.set_phase(name, t)
            time.sleep(phase_s)  # the phase's length: what is measured, not a wait for a condition
            server.set_phase("pause", t)
            server.wait(lambda seq=seq: any(s["seq"] == seq for s in server.samples), f"samples of {seq}")
        server.set_phase("end", None)

    async def task(session: Any) -> int:
        import os

        if os.environ.get("PB_VISIBLE"):
            for tab in session.window.tabs():
                tab.page.setVisible(True)
        lags: list[tuple[str, float]] = []

        async def monitor() -> None:
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append(
                    (
                        server.phase["name"] + ":" + str(server.phase["transport"]),
                        time.perf_counter() - t0 - 0.001,
                    )
                )

        mon = asyncio.ensure_future(monitor())
        await asyncio.get_running_loop().run_in_executor(None, drive)
        mon.cancel()
        by: dict[str, list[float]] = {}
        for k, v in lags:
            by.setdefault(k, []).append(v * 1000)
        for k, v in by.items():
            v.sort()
            print(
                f"lag {k}: n={len(v)} median={v[len(v) // 2]:.2f} p99={v[int(len(v) * 0.99)]:.1f} max={v[-1]:.1f} ms",
                file=sys.stderr,
            )
        return 0

    try:
        code = app.run(config, task, offscreen=True)
    finally:
        server.close()
    if code != 0:
        raise RuntimeError(f"browser exited {code}")
    out: dict[str, Any] = {"plan": {"reps": reps, "phase_s": phase_s}, "transports": {}}
    for t in transports:
        per: dict[str, list[float]] = {"quiet": [], "flood": []}
        for s in server.samples:
            if s["transport"] == t and s["phase"] in per:
                per[s["phase"]].extend(s["samples"][5:])  # the first few after a phase change settle it
        q, f = stats.latency(per["quiet"]), stats.latency(per["flood"])
        out["transports"][t] = {
            "quiet": q,
            "flood": f,
            "median_x": stats.ratio(f["median_ms"], q["median_ms"]),
            "p99_x": stats.ratio(f["p99_ms"], q["p99_ms"]),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--webrtc", action="store_true")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--out")
    args = parser.parse_args()
    result = run(args.quick, args.webrtc, args.seconds)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
