"""How much JS garbage a page's message traffic leaves for V8's full GC, and when that GC runs.

    QT_QPA_PLATFORM=offscreen python -m bench.profile.js_garbage [peersocket|floor] SECONDS [PERIOD_MS]

Two tabs in one swarm (``peersocket``; the second echoes) or a page with a bare
QWebChannel echo (``floor``); the measuring page sends small messages one round
trip after the other (PERIOD_MS 0, the default) or one every PERIOD_MS. Every
10 s it prints the round trips so far, the page's JS heap in use
(``performance.memory``, precise) and its renderer's RSS; at the end, the heap
after a forced full GC (what was still live). Seen by ``bench/flood.py``: pages
that exchange messages at a modest rate grow until V8's first full GC.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import psutil

LOOP = """window.__n = 0; window.__stop = false; (async () => {
  let next = performance.now();
  while (!__stop) {
    const got = B._next(); B.transport.send({ type: 'ping', seq: ++__n }); await got;
    if (PERIOD > 0) {
      next += PERIOD; const w = next - performance.now();
      if (w > 0) await new Promise((resolve) => setTimeout(resolve, w)); else next = performance.now();
    }
  }
})(); true"""
HEAP = "[performance.memory.usedJSHeapSize, performance.memory.totalJSHeapSize]"


async def run(kind: str, seconds: float, period_ms: float) -> None:
    from bench.qtpages import QtSession
    from bench.tab_to_tab import open_peersocket
    from browser.qt_wait import run_js
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    try:
        if kind == "peersocket":
            page: Any = await open_peersocket(session)
        else:
            page = await session.floor_page()
            await session.evaluate(page, "B.floor()")
        rss = psutil.Process(page.renderProcessPid())
        print(json.dumps({"kind": kind, "period_ms": period_ms, "js_heap_start": await run_js(page, HEAP)}))
        await run_js(page, LOOP.replace("PERIOD", repr(period_ms)))
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(10)  # a reporting interval
            used, total = await run_js(page, HEAP)
            n = await run_js(page, "__n")
            print(
                f"{time.monotonic() - t0:5.0f} s  round trips {n:8d}  JS heap used {used / 2**20:7.1f} MiB"
                f"  total {total / 2**20:7.1f} MiB  renderer RSS {rss.memory_info().rss / 2**20:6.0f} MiB",
                flush=True,
            )
        await run_js(page, "__stop = true")
        used = await run_js(page, "gc(), gc(), performance.memory.usedJSHeapSize")
        print(f"after a forced full GC: JS heap used {used / 2**20:.1f} MiB", flush=True)
    finally:
        await session.close()
        await core.close()


def main() -> int:
    kind = sys.argv[1] if len(sys.argv) > 1 else "peersocket"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    period_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    from bench.flood import CHROMIUM_FLAGS
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True, extra_flags=CHROMIUM_FLAGS)
    with loop:
        loop.run_until_complete(run(kind, seconds, period_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
