"""Where the pages' JavaScript spends a tab-to-tab round trip: V8's CPU profile of both.

    QT_QPA_PLATFORM=offscreen python -m bench.profile.js_profile [ROUND_TRIPS] [TOP]

The ping and echo tabs of ``bench.tab_to_tab`` (``B.rtt``, ``message`` events), with
QtWebEngine's DevTools endpoint on 127.0.0.1 (``QTWEBENGINE_REMOTE_DEBUGGING``, a port
picked free): each page's sampling profiler (CDP ``Profiler``, 50 µs) runs during
ROUND_TRIPS round trips, and each page's functions are printed by self time per round
trip (``(program)`` is the renderer's own work outside JavaScript: IPC, tasks).
Profiling slows the pages down about twice: read the shares, not the figures.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
from typing import Any


def self_times(profile: dict[str, Any], per: int) -> list[tuple[float, str]]:
    """µs of self time per ``per`` (round trip) by function, largest first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    samples = profile["samples"]
    if not samples:
        return []
    each = sum(profile["timeDeltas"]) / len(samples)
    by_function: collections.Counter[str] = collections.Counter()
    for node_id, hits in collections.Counter(samples).items():
        frame = nodes[node_id]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        where = os.path.basename(frame["url"]) if frame["url"] else ""
        by_function[f"{name} {where}:{frame['lineNumber'] + 1}" if where else name] += hits
    return [(hits * each / per, name) for name, hits in by_function.most_common()]


async def run(round_trips: int, top: int, port: int) -> dict[str, Any]:
    from bench.hostile import DevTools, targets
    from bench.qtpages import QtSession
    from bench.tab_to_tab import open_peersocket
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    out: dict[str, Any] = {}
    try:
        page = await open_peersocket(session)
        await session.evaluate(page, "B.rtt('small', 1000, 50)")  # warm-up
        # (the endpoint answers from the browser's main thread, this one: never block it)
        found = await asyncio.get_running_loop().run_in_executor(None, targets, port)
        pages = []
        for target in found:
            if target.get("type") == "page":
                tools = await DevTools.connect(target["webSocketDebuggerUrl"])
                await tools.call("Profiler.enable")
                await tools.call("Profiler.setSamplingInterval", interval=50)
                pages.append((target["title"] or target["url"], tools))
        for _, tools in pages:
            await tools.call("Profiler.start")
        await session.evaluate(page, f"B.rtt('small', {round_trips}, 0)")
        for title, tools in pages:
            profile = (await tools.call("Profiler.stop"))["profile"]
            rows = self_times(profile, round_trips)
            out[title] = [{"us_per_round_trip": round(us, 2), "function": name} for us, name in rows[:top]]
            await tools.close()
    finally:
        await session.close()
        await core.close()
    return out


def main() -> int:
    round_trips = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    from browser.remote_debugging import free_loopback_port

    port = free_loopback_port()
    os.environ["QTWEBENGINE_REMOTE_DEBUGGING"] = f"127.0.0.1:{port}"
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True)
    with loop:
        out = loop.run_until_complete(run(round_trips, top, port))
    for title, rows in out.items():
        print(f"== {title} (self time, us per round trip, profiled)", file=sys.stderr)
        for row in rows:
            print(f"  {row['us_per_round_trip']:8.1f}  {row['function']}", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
