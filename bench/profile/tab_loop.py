"""Keep one tab-to-tab measurement running for a while, for a profiler to attach to.

    python -m bench.profile.tab_loop rtt|flood small|binary SECONDS &
    py-spy record --pid $! --native -o profile.svg    # or --format speedscope

Prints its PID first, then one JSON line per round: what a round measured, and
``main_cpu_us_per_msg``, the browser main thread's CPU per message (a round trip
is two messages).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

FLOOD = 5000  # messages a flood round sends


async def run(what: str, kind: str, seconds: float) -> None:
    from bench.qtpages import QtSession
    from bench.tab_to_tab import open_peersocket
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    try:
        page = await open_peersocket(session)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            expr = f"B.rtt('{kind}', 500, 0)" if what == "rtt" else f"B.flood('{kind}', {FLOOD})"
            cpu = time.thread_time()  # this thread is the browser's main thread
            result: Any = await session.evaluate(page, expr)
            cpu = time.thread_time() - cpu
            if what == "rtt":
                samples = sorted(result["blocks"])
                result = {"median_block_ms": samples[len(samples) // 2]}
            # the main thread's CPU (the bridge, the core, QWebChannel) per message
            result["main_cpu_us_per_msg"] = round(cpu / (1000 if what == "rtt" else FLOOD) * 1e6, 2)
            print(json.dumps(result), flush=True)
    finally:
        await session.close()
        await core.close()


def main() -> int:
    what, kind, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    print(json.dumps({"pid": os.getpid()}), flush=True)
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True)
    with loop:
        loop.run_until_complete(run(what, kind, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
