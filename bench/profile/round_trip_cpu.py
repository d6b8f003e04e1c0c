"""Where the browser's main thread spends a tab-to-tab round trip, in CPU time.

One browser process (``bench.qtpages``, each tab in a window of its own): a PeerSocket
ping tab and echo tab in one open swarm, and the QWebChannel floor (a page writing a
bare property whose setter emits a signal back: no core, no bridge). For each, the
main thread's CPU time (``time.thread_time``) per round trip, and for PeerSocket the
part spent in the core's turns (``Turns._turn``, inline or from the loop: the page's
batch parsed and run, the core's work, the other page's event batch encoded and
emitted)
and in the emission alone (``PageBridge._emit``: QWebChannel serialising the batch
and handing it to Chromium); of the turns' CPU, what came after a turn's last emission
(off the round trip's path: the other page's renderer is at work meanwhile), and the
browser's observers' (the panel and the peers indicator of every window, told the core
changed). Then a one-way flood, CPU per message.

    python -m bench.profile.round_trip_cpu [ROUND_TRIPS] [REPETITIONS]

A PeerSocket round trip crosses the main thread twice (ping tab → echo tab, and
back), each crossing being a batch in and a batch out; the floor's round trip is one
such pair. So twice the floor's CPU is what the main thread would spend per
PeerSocket round trip if the bridge and the core cost nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import stats

ACC: dict[str, float] = {
    "turns": 0.0,
    "emit": 0.0,
    "turns_wall": 0.0,
    "emit_wall": 0.0,
    "tail": 0.0,
    "observers": 0.0,
    "batches_in": 0,
    "batches_out": 0,
}


def _instrument() -> None:
    """Time the core's turns, the bridge's emissions, the observers' notification, and
    what a turn does after its last emission (patched in this process)."""
    import bridge.page
    import swarm.dispatch
    import swarm.turns

    turn = swarm.turns.Turns._turn
    ready = swarm.turns.Turns.ready
    emit = bridge.page.PageBridge._emit
    notify = swarm.dispatch.Observers._notify
    last_emit: list[float | None] = [None]  # when the running turn's last emission ended

    def timed_turn(self: Any) -> None:
        start, wall = time.thread_time(), time.perf_counter()
        last_emit[0] = None
        turn(self)
        end = time.thread_time()
        ACC["turns"] += end - start
        ACC["turns_wall"] += time.perf_counter() - wall
        if last_emit[0] is not None:
            ACC["tail"] += end - last_emit[0]

    def counted_ready(self: Any, source: Any) -> None:
        ACC["batches_in"] += 1  # a page's bridge says so once per batch it received
        ready(self, source)

    def timed_emit(self: Any, text: str) -> None:
        start, wall = time.thread_time(), time.perf_counter()
        emit(self, text)
        ACC["emit"] += time.thread_time() - start
        ACC["emit_wall"] += time.perf_counter() - wall
        ACC["batches_out"] += 1
        last_emit[0] = time.thread_time()

    def timed_notify(self: Any) -> None:
        start = time.thread_time()
        notify(self)
        ACC["observers"] += time.thread_time() - start

    swarm.turns.Turns._turn = timed_turn  # type: ignore[method-assign]
    swarm.turns.Turns.ready = counted_ready  # type: ignore[method-assign]
    bridge.page.PageBridge._emit = timed_emit  # type: ignore[method-assign]
    swarm.dispatch.Observers._notify = timed_notify  # type: ignore[method-assign]


def _renderers_cpu() -> float:
    """CPU seconds used so far by this browser's renderer processes (the pages' JS): the
    processes its zygotes (its children) forked. Chromium's renderers keep the zygote's
    command line; a utility process forked so would count too, and uses next to none."""
    import psutil

    total = 0.0
    for zygote in psutil.Process().children():
        for process in zygote.children(recursive=True):
            try:
                times = process.cpu_times()
            except psutil.Error:  # gone meanwhile
                continue
            total += times.user + times.system
    return total


async def _measure(evaluate: Callable[[], Any], count: int) -> dict[str, float]:
    for key in ACC:
        ACC[key] = 0
    renderers = _renderers_cpu()
    cpu, wall = time.thread_time(), time.perf_counter()
    result = await evaluate()
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    renderers = _renderers_cpu() - renderers
    us = 1e6 / count
    out = {
        "wall_us": wall * us,
        "main_cpu_us": cpu * us,
        "renderers_cpu_us": renderers * us,
        "turns_cpu_us": ACC["turns"] * us,
        "emit_cpu_us": ACC["emit"] * us,
        "turns_wall_us": ACC["turns_wall"] * us,
        "emit_wall_us": ACC["emit_wall"] * us,
        "turns_after_emit_cpu_us": ACC["tail"] * us,
        "observers_cpu_us": ACC["observers"] * us,
        "batches_in": ACC["batches_in"] / count,
        "batches_out": ACC["batches_out"] / count,
    }
    if isinstance(result, dict) and "blocks" in result:
        out["rtt_median_us"] = stats.median(result["blocks"]) * 1000
    return out


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    keys = runs[0].keys()
    return {key: stats.median([r[key] for r in runs]) for key in keys} | {"runs": runs}


async def run(round_trips: int, repetitions: int) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from bench.tab_to_tab import open_peersocket
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    raw: dict[str, list[dict[str, float]]] = {"peersocket_rtt": [], "floor_rtt": [], "peersocket_flood": []}
    flood = round_trips * 20
    try:
        page = await open_peersocket(session)
        floor = await session.floor_page()
        await session.evaluate(floor, "B.floor(true)")
        await session.evaluate(page, "B.rtt('small', 500, 50)")
        await session.evaluate(floor, "B.rtt('small', 500, 50)")
        await session.evaluate(page, "B.flood('small', 5000)")
        rtt = f"B.rtt('small', {round_trips}, 0)"
        for _ in range(repetitions):
            raw["peersocket_rtt"].append(await _measure(lambda: session.evaluate(page, rtt), round_trips))
            raw["floor_rtt"].append(await _measure(lambda: session.evaluate(floor, rtt), round_trips))
            raw["peersocket_flood"].append(
                await _measure(lambda: session.evaluate(page, f"B.flood('small', {flood})"), flood)
            )
    finally:
        await session.close()
        await core.close()
    return {name: _summary(runs) for name, runs in raw.items()}


def main() -> int:
    round_trips = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repetitions = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    from browser.qtstart import start_qt

    _instrument()
    _app, loop = start_qt(offscreen=True)
    with loop:
        out = loop.run_until_complete(run(round_trips, repetitions))
    for name, r in out.items():
        line = ", ".join(f"{k} {v:.1f}" for k, v in r.items() if k != "runs")
        print(f"{name}: {line}", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
