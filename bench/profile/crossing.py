"""What the bridge and the core cost per tab-to-tab crossing, without pages' scripts.

    QT_QPA_PLATFORM=offscreen python -m bench.profile.crossing [ROUND_TRIPS] [REPETITIONS] [--cprofile]

Two real QWebEnginePages (blank, at ``peerapp://ping/`` and ``peerapp://echo/``) with
real PageBridges on one SwarmCore, in one open swarm; Python plays both pages'
scripts: it sends what ``js/peersocket.js`` sends for a ping-pong (each batch
``[w, ack, seen]``) with ``bridge.send()``, and reads each event batch in a loop task
of its own, as the page would in a task of its own. No renderer and no QWebChannel
message are involved (the emission goes to a Python slot), so what is timed is the
Python of a crossing: the page's batch parsed and run, the core's turn, the other
page's batch made and emitted. Prints the main thread's CPU inside ``bridge.send()``
per crossing (the median and the lowest of REPETITIONS rounds: this VM's noise is
one-sided); with ``--cprofile``, a cProfile of one more round, per crossing.

The pages' batch rate is what a script could not reach: the bridge's budget of
batches per second (``bridge.inbox.BATCH_RATE``) is lifted for this process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
from typing import Any

from bench import stats

#: Functions listed in the cProfile (by their own time per crossing).
TOP = int(os.environ.get("CROSSING_TOP", "40"))
MESSAGE = base64.b64encode(b"\x92\xa4ping\xcd\x01\x02").decode()  # msgpack ["ping", 258]


class ScriptedPage:
    """One page's script: sends batches as peersocket.js does, reads events in tasks."""

    def __init__(self, page: Any, core: Any, name: str) -> None:
        from bridge.consent import AllowAll
        from bridge.page import attach_page

        self.bridge = attach_page(page, core, gate=AllowAll())
        self.bridge.events.connect(self._on_events)
        self.loop = asyncio.get_running_loop()
        self.items: list[list[Any]] = []
        self.seen = 0
        self.acks: dict[tuple[int, str], int] = {}
        self.on_message: Any = None
        self.send_cpu = 0.0
        self.bridge.send(json.dumps([["hello", f"doc-{name}"]]))

    def _on_events(self, text: str) -> None:
        self.loop.call_soon(self._read, text)  # a task of its own, as in the page

    def _read(self, text: str) -> None:
        self.seen += 1
        for item in json.loads(text):
            self.items.append(item)
            if item[0] in ("m", "M"):
                for b64 in [item[3]] if item[0] == "m" else item[3]:
                    key = (item[1], item[2])
                    self.acks[key] = self.acks.get(key, 0) + len(base64.b64decode(b64))
                    if self.on_message is not None:
                        self.on_message(b64)

    def send(self, ops: list[list[Any]]) -> None:
        if self.acks:
            ops.append(["ack", [[h, p, n] for (h, p), n in self.acks.items()]])
            self.acks.clear()
        ops.append(["seen", self.seen])
        text = json.dumps(ops)
        start = time.thread_time()
        self.bridge.send(text)
        self.send_cpu += time.thread_time() - start


async def _blank_page(profile: Any, name: str) -> Any:
    from PyQt6.QtCore import QUrl
    from PyQt6.QtWebEngineCore import QWebEnginePage

    page = QWebEnginePage(profile)
    loaded = asyncio.Event()
    page.loadFinished.connect(lambda _ok: loaded.set())
    page.setHtml(f"<title>{name}</title>", QUrl(f"peerapp://{name}/"))
    await asyncio.wait_for(loaded.wait(), 30)
    return page


async def _until(predicate: Any, what: str) -> None:
    for _ in range(3000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"never happened: {what}")


async def run(round_trips: int, repetitions: int, cprofile: bool) -> dict[str, Any]:
    from PyQt6.QtWebEngineCore import QWebEngineProfile

    import bridge.inbox
    from swarm.core import SwarmCore

    bridge.inbox.BATCH_RATE = 1e9  # see the module docstring
    core = SwarmCore(grace=0.0)
    profile = QWebEngineProfile()
    qt_pages = [await _blank_page(profile, name) for name in ("ping", "echo")]
    try:
        ping, echo = ScriptedPage(qt_pages[0], core, "ping"), ScriptedPage(qt_pages[1], core, "echo")
        for page in (ping, echo):
            page.bridge.send(json.dumps([["join", 1, "bench-crossing"]]))
        await _until(lambda: any(i[0] == "c" for i in ping.items), "the echo page's socket")
        await _until(lambda: any(i[0] == "r" for i in echo.items), "the echo page's join")
        ping_handle = next(i for i in ping.items if i[0] == "r")[3]["handle"]
        echo_handle = next(i for i in echo.items if i[0] == "r")[3]["handle"]
        to_echo = next(i for i in ping.items if i[0] == "c")[2]["id"]
        to_ping = next(i for i in echo.items if i[0] == "r")[3]["sockets"][0]["id"]
        echo.on_message = lambda b64: echo.send([["w", echo_handle, to_ping, b64]])
        done = asyncio.Event()
        left = [0]

        def answered(_b64: str) -> None:
            left[0] -= 1
            if left[0] <= 0:
                done.set()
            else:
                ping.send([["w", ping_handle, to_echo, MESSAGE]])

        ping.on_message = answered

        async def lap(n: int) -> float:
            done.clear()
            left[0] = n
            ping.send_cpu = echo.send_cpu = 0.0
            ping.send([["w", ping_handle, to_echo, MESSAGE]])
            await done.wait()
            return (ping.send_cpu + echo.send_cpu) / (2 * n) * 1e6

        await lap(500)  # warm-up
        rounds = [await lap(round_trips) for _ in range(repetitions)]
        out: dict[str, Any] = {
            "send_cpu_us_per_crossing": stats.median(rounds),
            "lowest": min(rounds),
            "rounds": rounds,
        }
        if cprofile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            await lap(round_trips)
            profiler.disable()
            crossings = 2 * round_trips
            rows = []
            for (path, line, fn), (_cc, calls, own, cumulative, _callers) in pstats.Stats(
                profiler
            ).stats.items():  # type: ignore[attr-defined]
                where = os.path.relpath(path) if path.startswith(os.getcwd()) else os.path.basename(path)
                rows.append(
                    (
                        own / crossings * 1e6,
                        cumulative / crossings * 1e6,
                        calls / crossings,
                        f"{where}:{line}:{fn}",
                    )
                )
            rows.sort(reverse=True)
            out["calls_per_crossing"] = sum(r[2] for r in rows)
            out["cprofile"] = [
                {"own_us": round(a, 2), "cumulative_us": round(b, 2), "calls": round(c, 2), "function": d}
                for a, b, c, d in rows[:TOP]
            ]
        return out
    finally:
        for page in qt_pages:
            page.deleteLater()
        await core.close()


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    round_trips = int(args[0]) if args else 3000
    repetitions = int(args[1]) if len(args) > 1 else 7
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True)
    with loop:
        out = loop.run_until_complete(run(round_trips, repetitions, "--cprofile" in sys.argv))
    print(
        f"bridge.send() CPU per crossing: median {out['send_cpu_us_per_crossing']:.1f} us, "
        f"lowest {out['lowest']:.1f} us",
        file=sys.stderr,
    )
    for row in out.get("cprofile", []):
        print(
            f"  {row['own_us']:7.2f} {row['cumulative_us']:8.2f} {row['calls']:6.2f}  {row['function']}",
            file=sys.stderr,
        )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
