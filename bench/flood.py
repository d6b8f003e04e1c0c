"""The long flood: memory of the whole browser, and the latency of other sockets, under a flood.

One browser (one ``SwarmCore``, no network engine: pages of one browser meet in
the core), four real pages in one open swarm, each in its own window, through the
real bridge and ``peersocket.js`` (``bench/pages/bench/flood.js``):

- **writer** floods **reader** with 64 KiB messages as fast as ``write()`` allows:
  it writes while ``bufferedAmount`` is under the high-water mark (16 MiB: the
  page's whole send queue, the worst case for memory) and otherwise waits for
  ``bufferedamountlow``, giving its event loop a turn every 4 ms of writing;
- **reader** reads every message as it arrives (``read``), reads its ``readable``
  stream at 20 messages a second, far slower than the writer writes (``slow``), or
  takes the stream and never reads it (``stalled``: the writer is held to the
  1 MiB window and the rest waits in the writer page's queue);
- **pinger** sends a small ping every 10 ms to **echo** (a page outside the flood)
  and then to **writer** (the writer's other socket), and times each round trip.

Phases, one after the other, in one run: pings without a flood (baseline), one
flood per reader mode with the pings running, pings without a flood again. A
thread samples RSS, PSS and CPU time of the browser process and each of its
children (the renderer of each page, the zygotes) every 0.5 s; the JS heap of
each page (``performance.memory``, precise) is read every 0.5 s too. After each
flood the reader reads again and the harness waits until the writer's socket has
nothing unread (a condition, not a timer). At the end each page's JS heap is read
before and after a forced full GC: what is still live, and what was garbage.

    python -m bench.flood [--quick] [--duration S] [--modes read,slow,stalled] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from typing import Any

import psutil

from bench import stats

MiB = 1024 * 1024
WINDOW = 1 * MiB  # swarm/limits.py WINDOW: unread bytes per socket and direction
MAX_QUEUED = 16 * MiB  # js/peersocket/limits.js MAX_QUEUED: what a page's socket queues past the window
BINARY_BYTES = 64 * 1024
MODES = ("read", "slow", "stalled")
SAMPLE_S = 0.5
ROOM = "bench-flood"
ROLES = ("writer", "reader", "pinger", "echo")
LATENCY_KEYS = ("echo", "writer_socket")  # the pinger's two targets
HANG_S = 120.0  # a hang guard for each step, far above what any step takes
# gc() for the final live-heap reading (it changes no GC heuristics), exact performance.memory
CHROMIUM_FLAGS = ["--js-flags=--expose-gc", "--enable-precise-memory-info"]


def plan(quick: bool, duration: float | None, modes: list[str], kind: str) -> dict[str, Any]:
    flood = duration if duration is not None else (10.0 if quick else 60.0)
    return {
        "flood_s": flood,
        "baseline_s": max(3.0, flood / 4),  # before and after the floods (pooled for the ratios)
        "modes": modes,
        "kind": kind,
        "high_water": MAX_QUEUED,
        "slow_reads_per_s": 20,  # 1.25 MiB/s of 64 KiB messages, a small part of the writer's rate
        "ping_period_ms": 10,
        "ping_warmup_s": 10.0 if not quick else 5.0,
        "sample_s": SAMPLE_S,
    }


# --- sampling --------------------------------------------------------------------------


class Sampler:
    """RSS, PSS and CPU time of the browser process and every descendant, every
    ``SAMPLE_S`` seconds, from a thread of its own: a busy Qt main thread (which runs
    the core) does not delay a sample, and sampling does not hold up the main thread."""

    def __init__(self, roles: dict[int, str]) -> None:
        self.me = psutil.Process()
        self.roles = roles  # renderer pid -> page role
        self.samples: list[dict[str, Any]] = []
        self.t0 = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._procs: dict[int, psutil.Process] = {}

    def role(self, p: psutil.Process) -> str:
        if p.pid == self.me.pid:
            return "browser"
        if p.pid in self.roles:
            return "renderer:" + self.roles[p.pid]
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            return "other"
        for kind in ("gpu-process", "utility", "zygote", "renderer"):
            if f"--type={kind}" in cmd:
                return kind
        return "other"

    def sample(self) -> None:
        rss: dict[str, int] = {}
        pss: dict[str, int] = {}
        cpu: dict[str, float] = {}
        t = time.time() - self.t0
        for p in [self.me, *self.me.children(recursive=True)]:
            proc = self._procs.setdefault(p.pid, p)
            with contextlib.suppress(psutil.Error):
                full = proc.memory_full_info()
                times = proc.cpu_times()
                key = str(proc.pid)
                rss[key] = full.rss
                pss[key] = getattr(full, "pss", full.rss)
                cpu[key] = round(times.user + times.system, 3)
        self.samples.append(
            {
                "t": round(t, 3),
                "rss": sum(rss.values()),
                "pss": sum(pss.values()),
                "rss_by_pid": rss,
                "pss_by_pid": pss,
                "cpu_by_pid": cpu,
            }
        )

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sample()
            next_at += SAMPLE_S
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> float:
        return time.time() - self.t0

    def process_roles(self) -> dict[str, str]:
        return {str(pid): self.role(p) for pid, p in self._procs.items()}


async def sample_heaps(session: Any, pages: dict[str, Any], sampler: Sampler, out: list[Any]) -> None:
    """Each page's ``performance.memory.usedJSHeapSize`` every ``SAMPLE_S`` (None when a
    page did not answer within the interval)."""
    from browser.qt_wait import run_js

    expr = "performance.memory.usedJSHeapSize"
    next_at = time.monotonic()
    while True:
        t = sampler.now()
        got = await asyncio.gather(
            *(asyncio.wait_for(run_js(page, expr), SAMPLE_S) for page in pages.values()),
            return_exceptions=True,
        )
        heap = {role: (v if isinstance(v, int | float) else None) for role, v in zip(pages, got, strict=True)}
        out.append({"t": round(t, 3), **heap})
        next_at += SAMPLE_S
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


# --- summaries -------------------------------------------------------------------------


def slope_per_min(ts: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over ts (seconds), per minute."""
    n = len(ts)
    if n < 3:
        return float("nan")
    mt, my = sum(ts) / n, sum(ys) / n
    var = sum((t - mt) ** 2 for t in ts)
    return 60 * sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / var if var else float("nan")


def series_summary(
    ts: list[float], ys: list[float] | list[float | None], start: float, end: float
) -> dict[str, Any]:
    """Start, peak, end of a series in [start, end]; growth from the first 10 % of the
    phase to its last 10 % (medians of each), and the slope after the first 10 %."""
    pts = [(t, float(y)) for t, y in zip(ts, ys, strict=True) if start <= t <= end and y is not None]
    if not pts:
        return {}
    tenth = (end - start) / 10
    first = [y for t, y in pts if t <= start + tenth] or [pts[0][1]]
    last = [y for t, y in pts if t >= end - tenth] or [pts[-1][1]]
    later = [(t, float(y)) for t, y in pts if t >= start + tenth]
    return {
        "n": len(pts),
        "start_bytes": pts[0][1],
        "peak_bytes": max(y for _, y in pts),
        "end_bytes": pts[-1][1],
        "first_tenth_median_bytes": stats.median(first),
        "last_tenth_median_bytes": stats.median(last),
        "growth_bytes": stats.median(last) - stats.median(first),
        "slope_after_first_tenth_bytes_per_min": slope_per_min([t for t, _ in later], [y for _, y in later]),
    }


def tree_summary(samples: list[dict[str, Any]], start: float, end: float, metric: str) -> dict[str, Any]:
    return series_summary([s["t"] for s in samples], [s[metric] for s in samples], start, end)


def role_series(samples: list[dict[str, Any]], roles: dict[str, str], role: str, metric: str) -> list[float]:
    pids = [pid for pid, r in roles.items() if r == role]
    return [sum(s[metric + "_by_pid"].get(pid, 0) for pid in pids) for s in samples]


def by_role(samples: list[dict[str, Any]], roles: dict[str, str], start: float, end: float) -> dict[str, Any]:
    """Per role (browser, each page's renderer, ...): RSS over the phase, and its CPU use
    (CPU seconds per second: 1.0 is one core busy all the time)."""
    ts = [s["t"] for s in samples]
    inside = [s for s in samples if start <= s["t"] <= end]
    out: dict[str, Any] = {}
    for role in sorted(set(roles.values())):
        entry = {"rss": series_summary(ts, role_series(samples, roles, role, "rss"), start, end)}
        if len(inside) >= 2:
            cpu = role_series(inside, roles, role, "cpu")
            entry["cpu_share"] = (cpu[-1] - cpu[0]) / (inside[-1]["t"] - inside[0]["t"])
        out[role] = entry
    return out


GROUPS = {
    # the processes the flood goes through, and the two pages that only ping
    "flood side": ("browser", "renderer:writer", "renderer:reader"),
    "ping pages": ("renderer:pinger", "renderer:echo"),
}


def by_group(
    samples: list[dict[str, Any]], roles: dict[str, str], start: float, end: float
) -> dict[str, Any]:
    """RSS of each group of ``GROUPS`` (summed over its processes) over [start, end]."""
    ts = [s["t"] for s in samples]
    out: dict[str, Any] = {}
    for name, members in GROUPS.items():
        series = [sum(v) for v in zip(*(role_series(samples, roles, r, "rss") for r in members), strict=True)]
        out[name] = series_summary(ts, series, start, end)
    return out


def heap_by_page(heaps: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    ts = [h["t"] for h in heaps]
    return {role: series_summary(ts, [h.get(role) for h in heaps], start, end) for role in ROLES}


def latency_summary(samples: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = dict(stats.latency(samples))
    out["p90_ms"] = stats.percentile(samples, 90)
    out["max_ms"] = max(samples) if samples else float("nan")
    return out


# --- the run ---------------------------------------------------------------------------


async def open_pages(session: Any) -> tuple[dict[str, Any], dict[str, str]]:
    pages = {role: await session.peer_tab(i + 1, "flood.html") for i, role in enumerate(ROLES)}
    join = f"B.peersocket({json.dumps(ROOM)}, {len(ROLES) - 1})"  # resolves once it has 3 peers
    ids = await asyncio.gather(*(session.evaluate(pages[r], join) for r in ROLES))
    return pages, dict(zip(ROLES, ids, strict=True))


def pings(got: dict[str, Any], sampler: Sampler) -> dict[str, Any]:
    """The pinger's samples per target, and when each was sent (seconds into the run)."""
    out: dict[str, Any] = {}
    for i, key in enumerate(LATENCY_KEYS):
        out[key] = got["samples_ms"][i]
        out[key + "_at_s"] = [round(at / 1000 - sampler.t0, 3) for at in got["at_ms"][i]]
    return out


async def start_pings(session: Any, pages: dict[str, Any], ids: dict[str, str], p: dict[str, Any]) -> None:
    targets = json.dumps([ids["echo"], ids["writer"]])
    await session.evaluate(pages["pinger"], f"F.startPing({targets}, {p['ping_period_ms']})")


async def ping_phase(
    session: Any,
    pages: dict[str, Any],
    ids: dict[str, str],
    sampler: Sampler,
    seconds: float,
    p: dict[str, Any],
) -> dict[str, Any]:
    """The pings alone, for ``seconds``."""
    t0 = sampler.now()
    await start_pings(session, pages, ids, p)
    await asyncio.sleep(seconds)  # the phase's length, not a wait for anything
    got = await session.evaluate(pages["pinger"], "F.stopPing()", timeout=HANG_S)
    return {"start_s": t0, "end_s": sampler.now(), **pings(got, sampler)}


async def flood_phase(
    session: Any,
    pages: dict[str, Any],
    ids: dict[str, str],
    sampler: Sampler,
    mode: str,
    p: dict[str, Any],
) -> dict[str, Any]:
    reader, writer = pages["reader"], pages["writer"]
    to_writer, to_reader = json.dumps(ids["writer"]), json.dumps(ids["reader"])
    await session.evaluate(reader, f"F.startReader({to_writer}, '{mode}', {p['slow_reads_per_s']})")
    t0 = sampler.now()
    await session.evaluate(writer, f"F.startFlood({to_reader}, '{p['kind']}', {p['high_water']})")
    await start_pings(session, pages, ids, p)
    await asyncio.sleep(p["flood_s"])  # the flood's length; the samplers run meanwhile
    got = await session.evaluate(pages["pinger"], "F.stopPing()", timeout=HANG_S)
    buffered_at_stop = await session.evaluate(writer, f"F.bufferedAmount({to_reader})", timeout=HANG_S)
    w = await session.evaluate(writer, "F.stopFlood()", timeout=HANG_S)
    t1 = sampler.now()
    r = await session.evaluate(reader, "F.stopReader()", timeout=HANG_S)
    # the reader reads again: wait until the writer's socket has nothing unread
    await session.evaluate(writer, f"F.drained({to_reader})", timeout=HANG_S)
    t2 = sampler.now()
    seconds = w["ms"] / 1000
    size = BINARY_BYTES if p["kind"] == "binary" else 0
    out: dict[str, Any] = {
        "mode": mode,
        "start_s": t0,
        "end_s": t1,
        "drained_s": t2,
        "drain_s": t2 - t1,
        "writer": w,
        "reader": r,
        "buffered_at_stop": buffered_at_stop,
        "msgs_per_s": r["delivered"] / seconds if seconds else float("nan"),
        "mb_per_s": r["delivered"] * size / seconds / 1e6 if seconds and size else None,
        **pings(got, sampler),
    }
    # what flow control promises, checked on what the pages saw
    checks = {
        "writes_never_refused": w["rejected"] == 0,
        "buffered_within_queue_limit": w["max_buffered"] <= p["high_water"],
    }
    if mode == "stalled" and size:
        # a reader that never reads gets one window's worth, and no more
        checks["stalled_reader_got_at_most_a_window"] = r["delivered_bytes"] <= WINDOW + size
    out["checks"] = checks
    return out


async def final_heaps(session: Any, pages: dict[str, Any]) -> dict[str, Any]:
    """Each page's JS heap before and after a forced full GC: live bytes, and garbage."""
    from browser.qt_wait import run_js

    expr = "[performance.memory.usedJSHeapSize, (gc(), gc(), performance.memory.usedJSHeapSize)]"
    out: dict[str, Any] = {}
    for role, page in pages.items():
        before, after = await asyncio.wait_for(run_js(page, expr), HANG_S)
        out[role] = {"before_gc_bytes": before, "after_gc_bytes": after}
    return out


async def run(p: dict[str, Any]) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)  # no engine: pages of one browser meet in the core
    session = QtSession(core)
    results: dict[str, Any] = {
        "plan": p,
        "bounds": {"window_bytes": WINDOW, "max_queued_bytes": MAX_QUEUED},
        "chromium_flags": CHROMIUM_FLAGS,
    }
    heaps: list[dict[str, Any]] = []
    heap_task: asyncio.Task[None] | None = None
    sampler: Sampler | None = None
    try:
        pages, ids = await open_pages(session)
        results["renderers"] = {role: page.renderProcessPid() for role, page in pages.items()}
        pids = {pid: role for role, pid in results["renderers"].items()}
        if len(pids) < len(ROLES):
            print("flood: some pages share a renderer process", file=sys.stderr)
        await session.evaluate(pages["echo"], f"F.echo({json.dumps(ids['pinger'])})")
        await session.evaluate(pages["writer"], f"F.echo({json.dumps(ids['pinger'])})")
        sampler = Sampler(pids)
        sampler.start()
        heap_task = asyncio.ensure_future(sample_heaps(session, pages, sampler, heaps))
        await ping_phase(session, pages, ids, sampler, p["ping_warmup_s"], p)  # warm-up, not recorded
        phases: list[dict[str, Any]] = []
        before = await ping_phase(session, pages, ids, sampler, p["baseline_s"], p)
        phases.append({"name": "baseline (before)", **before})
        print(f"flood: baseline done at {sampler.now():.0f} s", file=sys.stderr)
        floods: dict[str, Any] = {}
        for mode in p["modes"]:
            floods[mode] = await flood_phase(session, pages, ids, sampler, mode, p)
            f = floods[mode]
            print(
                f"flood: {mode} done at {sampler.now():.0f} s ({f['reader']['delivered']} messages "
                f"delivered, drained in {f['drain_s']:.2f} s)",
                file=sys.stderr,
            )
        after = await ping_phase(session, pages, ids, sampler, p["baseline_s"], p)
        phases.append({"name": "baseline (after)", **after})
        heap_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heap_task
        results["end"] = {"t_s": sampler.now(), "js_heap": await final_heaps(session, pages)}
        sampler.sample()  # the tree after the forced GC
        sampler.stop()
    finally:
        if heap_task is not None and not heap_task.done():
            heap_task.cancel()
        if sampler is not None:
            sampler.stop()
        await session.close()
        await core.close()
    roles = sampler.process_roles()
    results["process_roles"] = roles
    results["memory_samples"] = sampler.samples
    results["heap_samples"] = heaps
    results.update(summarize(phases, floods, sampler.samples, heaps, roles))
    return results


def summarize(
    phases: list[dict[str, Any]],
    floods: dict[str, Any],
    samples: list[dict[str, Any]],
    heaps: list[dict[str, Any]],
    roles: dict[str, str],
) -> dict[str, Any]:
    """Latency per phase and against the baseline (both ping-only phases pooled); memory
    and CPU per phase."""

    def strip(ph: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ph.items() if k not in LATENCY_KEYS and not k.endswith("_at_s")}

    def common(ph: dict[str, Any]) -> dict[str, Any]:
        start, end = ph["start_s"], ph["end_s"]
        return {
            "rss": tree_summary(samples, start, end, "rss"),
            "pss": tree_summary(samples, start, end, "pss"),
            "by_role": by_role(samples, roles, start, end),
            "by_group": by_group(samples, roles, start, end),
            "js_heap": heap_by_page(heaps, start, end),
            "samples": {key: ph[key] for key in LATENCY_KEYS},
            "sent_at_s": {key: ph[key + "_at_s"] for key in LATENCY_KEYS},
        }

    baseline: dict[str, Any] = {
        key: latency_summary([x for ph in phases for x in ph[key]]) for key in LATENCY_KEYS
    }
    baseline["phases"] = [
        {**strip(ph), **common(ph), **{key: latency_summary(ph[key]) for key in LATENCY_KEYS}}
        for ph in phases
    ]
    out_floods: dict[str, Any] = {}
    for mode, f in floods.items():
        entry = {**strip(f), **common(f)}
        for metric in ("rss", "pss"):
            entry[metric + "_after_drain_bytes"] = next(
                (s[metric] for s in samples if s["t"] >= f["drained_s"]), None
            )
        for key in LATENCY_KEYS:
            lat = latency_summary(f[key])
            entry[key] = lat
            entry[key + "_vs_baseline"] = {
                "median": stats.ratio(lat["median_ms"], baseline[key]["median_ms"]),
                "p99": stats.ratio(lat["p99_ms"], baseline[key]["p99_ms"]),
            }
        out_floods[mode] = entry
    start, end = phases[0]["start_s"], phases[-1]["end_s"]
    return {
        "baseline": baseline,
        "floods": out_floods,
        "whole_run": {
            "start_s": start,
            "end_s": end,
            "rss": tree_summary(samples, start, end, "rss"),
            "pss": tree_summary(samples, start, end, "pss"),
            "by_role": by_role(samples, roles, start, end),
            "by_group": by_group(samples, roles, start, end),
            "js_heap": heap_by_page(heaps, start, end),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10 s floods instead of 60 s")
    parser.add_argument("--duration", type=float, help="seconds of each flood (default 60, --quick 10)")
    parser.add_argument("--modes", default=",".join(MODES), help="reader modes, in order (default: all)")
    parser.add_argument("--kind", choices=("binary", "small"), default="binary", help="the flood's messages")
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in MODES for m in modes):
        parser.error(f"--modes: a comma-separated list of {', '.join(MODES)}")
    from bench.qtpages import run_on_qt

    return run_on_qt(lambda: run(plan(args.quick, args.duration, modes, args.kind)), args.out, CHROMIUM_FLAGS)


if __name__ == "__main__":
    sys.exit(main())
