"""Isolation: a quiet pair's round trips while a neighbour misbehaves, PeerSocket and RTCDataChannel.

One browser, run as ``peerbrowser --headless URL ...`` runs (``browser.app``: one window,
one tab per URL), the pages (``bench/pages/idioms/isolation.js``) served over HTTP from
127.0.0.1, a port (an origin) per site. For each transport (PeerSocket, and with
``--webrtc`` RTCDataChannel, only inside ``bench.netns``) a quiet pair (pinger on one
site, echo on another) and a neighbour pair (writer beside the pinger, reader beside
the echo). Beside them, for the scenarios that need them, a spammer and its sink, and
a victim tab, each a site of its own.

Scenarios, each a phase of ``--seconds`` while the quiet pair of one transport pings,
against that pair's own 'quiet' phase of the same repetition and run:

- ``flood``: the neighbour pair of the same transport floods (200-byte messages, the
  idioms of issue 13: ``write`` without awaiting under a 1 MiB ``bufferedAmount``,
  ``for await`` on the reader);
- ``spam``: a page calls the ``peersocket`` bridge object's ``send`` itself (the
  QWebChannel protocol on ``window.qt.webChannelTransport``, so none of peersocket.js's
  bounds apply), one small write a batch, as fast as it can, for the first
  ``--spam-seconds`` (``SPAM_S``) of the phase;
- ``join``: a remote device (``tests/hostile/attacker.js``, ``join-one`` by default)
  floods the victim tab's swarm with JOIN/LEAVE frames. The browser then runs on a
  local HyperDHT testnet (``swarm/sidecar/testnet.js``, 127.0.0.1 only, an explicit
  bootstrap list, the loopback guard in every Node process); never the public DHT.
- ``flood-apart``: ``flood`` where a core is free for the quiet pair: the neighbour
  pair's two renderer processes run on one CPU, everything else of the browser (its
  main thread, where the bridge and the core run; the quiet pair's renderers; the GPU
  process) on the others (``procs.cores_apart``: every thread's affinity). Its slow-down
  is against a ``quiet-apart`` phase run just before it, pinned the same way, so it
  measures what the neighbour's flood costs the quiet pair through what they share,
  not the core taken away. It needs two CPUs or more.

After each phase, a drain phase (the pinger still pings) lasts until the disturbance is
over: the reader got the writer's last message, the spammer got an answer to every
call, the victim got no event for ``SETTLE_S``. Phases are interleaved: per repetition
and transport, quiet, then each scenario.

Reported per transport and scenario: the quiet pair's median and p99 round trip and
their ratio to the quiet phase's (the slow-down), its slowest round trip, the drain's
length; whether the page was still usable (every tab answered a probe,
``runJavaScript('1')`` from the browser's main thread every ``PROBE_EVERY`` s, within
``PROBE_BOUND``, and the quiet pair's slowest round trip stayed under it too); the lag
of the browser's main loop (a ``LAG_EVERY`` s timer's lateness: the thread the bridge
and the core run on); the browser's RSS (this process, and the process tree).

    python -m bench.isolation [--quick] [--webrtc] [--scenarios flood,spam,join]
                              [--seconds S] [--spam-seconds S] [--attack join-one|join-fresh]
                              [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

from bench import pagesite, procs, stats
from bench.netns import in_private_netns

PAGES = Path(__file__).resolve().parent / "pages" / "idioms"
SCENARIOS = ("flood", "spam", "join", "flood-apart")
#: a scenario's slow-down is against this phase of the same run (default: 'quiet')
BASELINE = {"flood-apart": "quiet-apart"}
#: phases with the neighbour pair's renderers on a CPU of their own
APART = ("quiet-apart", "flood-apart")
#: roles with one tab in the run (the others have one per transport)
SINGLE = ("spammer", "sink", "victim")
ATTACKS = ("join-one", "join-fresh")
HANG_S = 600.0
#: every tab set up (joined, linked, its partner found) within this
START_S = 120.0
#: every tab is probed this often; it counts as usable while each answers within PROBE_BOUND
PROBE_EVERY = 0.25
PROBE_BOUND = 1.0
#: the main loop's lag: the lateness of a timer of this period
LAG_EVERY = 0.01
#: How long the spammer spams, at the start of its phase. Nothing bounds what a page
#: queues through the channel (docs/PERFORMANCE.md): the backlog, the stall it causes
#: and the memory it takes grow with this, so it is short, and shorter than a phase.
SPAM_S = 1.0
#: the JOIN/LEAVE flood has drained once the victim got no event for this long
SETTLE_S = 2.0
#: a drain still going after this long is cut short (and reported as such)
DRAIN_LIMIT = 120.0
#: the slowest round trips of each run kept in the results: [s into its window, ms]
SLOWEST = 10
MiB = 2**20


class Server:
    """HTTP origins on 127.0.0.1, one a site: the pages, the phases they follow, what they post."""

    def __init__(self, expected: int, sites: set[str]) -> None:
        self.cond = threading.Condition()
        self.phase: dict[str, Any] = {"name": "setup", "transport": None, "seq": 0}
        self.phases: list[dict[str, Any]] = []  # every phase set, with its wall times
        self.expected = expected
        self.ready: list[dict[str, Any]] = []
        self.samples: dict[str, dict[str, Any]] = {}  # transport -> its pinger's round trips
        self.windows: dict[int, tuple[float, float]] = {}  # seq -> when the neighbour misbehaved
        self.spammed: dict[int, dict[str, Any]] = {}  # seq -> calls the spammer made
        self.flood_messages: dict[int, int] = {}  # seq -> messages the writer wrote
        self.spam: dict[int, dict[str, Any]] = {}  # seq -> ... once every one was answered
        self.flooded: set[tuple[str, int]] = set()  # (transport, seq) the reader caught up on
        self.failed: list[dict[str, Any]] = []
        self.signals: dict[tuple[str, str], str] = {}
        self.servers = {site: self._server() for site in sites}

    def _server(self) -> ThreadingHTTPServer:
        return pagesite.serve(PAGES, self.post, "bench.isolation")

    def origin(self, site: str) -> str:
        return f"http://127.0.0.1:{self.servers[site].server_address[1]}"

    def post(self, path: str, body: dict[str, Any]) -> Any:
        with self.cond:
            if path == "/phase":
                self.cond.wait_for(lambda: self.phase["seq"] != body["after"], timeout=HANG_S)
                return dict(self.phase)
            if path == "/signal":
                key = (body["room"], body["key"])
                if "value" not in body:
                    self.cond.wait_for(lambda: key in self.signals, timeout=HANG_S)
                    return {"value": self.signals.get(key)}
                self.signals[key] = body["value"]
            elif path == "/ready":
                self.ready.append(body)
            elif path == "/samples":
                self.samples[body["transport"]] = body
            elif path == "/window":
                self.windows[body["seq"]] = (body["t0"] / 1000, body["t1"] / 1000)
                if "messages" in body:  # a flood: how many the writer wrote in its window
                    self.flood_messages[body["seq"]] = body["messages"]
            elif path == "/spammed":
                self.spammed[body["seq"]] = body
            elif path == "/spam":
                self.spam[body["seq"]] = body
            elif path == "/flooded":
                self.flooded.add((body["transport"], body["seq"]))
            elif path == "/failed":
                self.failed.append(body)
            else:
                return {"error": f"unknown {path}"}
            self.cond.notify_all()
            return {"ok": True}

    def set_phase(self, name: str, transport: str | None, rep: int | None = None) -> int:
        with self.cond:
            now = time.time()
            if self.phases:
                self.phases[-1]["t1"] = now
            seq = self.phase["seq"] + 1
            self.phase = {"name": name, "transport": transport, "seq": seq}
            self.phases.append({**self.phase, "rep": rep, "t0": now, "t1": None})
            self.cond.notify_all()
            return seq

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = HANG_S) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: predicate() or self.failed, timeout=timeout):
                raise TimeoutError(f"waited {timeout:g} s for {what}")
            if self.failed:
                raise RuntimeError(f"a page failed: {self.failed[0]}")

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


def tab_list(transports: list[str], scenarios: list[str]) -> list[tuple[str, str, str, str]]:
    """(role, transport, site, room) of every tab, in the order they are opened.

    A site is an origin of its own (a port): each pair spans two, and the spammer, its
    sink and the victim are sites of their own. Besides being what a user would have,
    that keeps each origin under Chromium's 6 connections per origin, which the pages'
    long polls would otherwise exhaust.
    """
    tabs = []
    for t in transports:
        a, b = ("A", "B") if t == "peersocket" else ("C", "D")
        for role, site, pair in (("writer", a, "flood"), ("reader", b, "flood"),
                                 ("pinger", a, "ping"), ("echo", b, "ping")):  # fmt: skip
            tabs.append((role, t, site, f"bench-iso-{t}-{pair}"))
    if "spam" in scenarios:
        tabs += [
            ("spammer", "peersocket", "E", "bench-iso-spam"),
            ("sink", "peersocket", "F", "bench-iso-spam"),
        ]
    if "join" in scenarios:
        tabs.append(("victim", "peersocket", "G", "bench-iso-victim"))
    return tabs


# ---- the remote device -------------------------------------------------------------------------


class Attacker:
    """tests/hostile/attacker.js on the testnet, in the victim's swarm (bench/hostile.py's)."""

    def __init__(self, children: procs.Children, bootstrap: list[str], swarm: str) -> None:
        from bench.hostile import ATTACKER, Lines

        env = procs.loopback_env(NODE_PATH=str(procs.SIDECAR_DIR / "node_modules"))
        cmd = procs.node_command(ATTACKER, "--bootstrap", ",".join(bootstrap), "--swarm", swarm)
        self.lines = Lines(children.start(cmd, env=env, cwd=procs.ROOT))

    def wait(self, test: Callable[[list[dict[str, Any]]], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self.lines.cond:
            while not (found := test(self.lines.items)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"waited {timeout:g} s for {what}")
                self.lines.cond.wait(left)
        return found

    def sees(self, presence: str) -> None:
        self.wait(
            lambda items: any(i.get("event") == "peer" and i.get("id") == presence for i in items),
            HANG_S,
            "the attacker's link to the victim tab",
        )

    def attack(self, name: str, seconds: float) -> dict[str, Any]:
        """One flood; what the attacker says of it, and when it started (``t``, wall ms)."""
        ends = ("done", "error", "exit")
        with self.lines.cond:
            before = len([i for i in self.lines.items if i.get("event") in ends])
        started = len(self.lines.of("attack"))
        procs.send_json(self.lines.proc, {"attack": name, "seconds": seconds})
        found = self.wait(
            lambda items: [i for i in items if i.get("event") in ends][before:], seconds + 120, "the attack"
        )
        result: dict[str, Any] = found[0]
        if result.get("event") != "done" or len(self.lines.of("attack")) <= started:
            raise RuntimeError(f"the attacker: {result}")
        return {**result, "t": self.lines.of("attack")[started]["t"]}


# ---- the run ------------------------------------------------------------------------------------


def rss() -> dict[str, float]:
    """RSS (MiB) of this process (the browser: Qt, the bridge, the core) and of its tree."""
    tree = procs.tree()
    total = 0
    for p in tree:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return {"browser_mib": tree[0].memory_info().rss / MiB, "tree_mib": total / MiB}


def run(
    quick: bool,
    webrtc: bool,
    seconds: float | None,
    scenarios: list[str],
    attack: str,
    spam_s: float = SPAM_S,
) -> dict[str, Any]:
    from PyQt6.QtWebEngineCore import QWebEnginePage

    from browser import app
    from browser.config import BrowserConfig, parse_bootstrap
    from browser.qt_wait import run_js

    if webrtc and not in_private_netns():
        raise RuntimeError("refusing WebRTC outside the benchmark's own network namespace (bench.netns)")
    transports = ["peersocket"] + (["rtc"] if webrtc else [])
    if "flood-apart" in scenarios and len(os.sched_getaffinity(0)) < 2:
        print("isolation: flood-apart left out: it needs two CPUs or more", file=sys.stderr)
        scenarios = [s for s in scenarios if s != "flood-apart"]
    reps = 2 if quick else 4
    phase_s = seconds or (3.0 if quick else 6.0)
    tabs = tab_list(transports, scenarios)
    server = Server(len(tabs), {site for _role, _t, site, _room in tabs})
    urls = tuple(
        f"{server.origin(site)}/isolation.html?role={role}&transport={t}&room={room}&spam={spam_s}"
        for role, t, site, room in tabs
    )
    phases = ["quiet", *(s for s in scenarios if s not in BASELINE)]
    for s in scenarios:
        if s in BASELINE:
            phases += [BASELINE[s], s]  # its own quiet phase just before it
    schedule = [(rep, t, name) for rep in range(reps) for t in transports for name in phases]
    all_cpus = os.sched_getaffinity(0)
    runs: list[dict[str, Any]] = []  # one per scenario phase run: its windows and what it cost
    probes: list[tuple[float, str, float]] = []  # (wall time sent, tab, seconds to answer)
    lags: list[tuple[float, float]] = []  # (wall time, ms late)
    holder: dict[str, Any] = {}

    def on_qt(make: Callable[[], Any], timeout: float) -> Any:
        """Run ``make()`` (a coroutine) on the browser's loop, from the driving thread."""
        return asyncio.run_coroutine_threadsafe(make(), holder["loop"]).result(timeout)

    def victim_state() -> dict[str, Any] | None:
        async def read() -> Any:
            return await run_js(holder["tabs"]["victim"].page, "JSON.stringify(window.__victim || null)")

        with contextlib.suppress(TimeoutError):
            text = on_qt(read, PROBE_BOUND)
            return json.loads(text) if text else None
        return None

    def victim_settled() -> bool:
        """The JOIN/LEAVE flood has drained: no event at the victim for SETTLE_S."""
        last, since, t0 = None, time.monotonic(), time.monotonic()
        while time.monotonic() - t0 < DRAIN_LIMIT:
            state = victim_state()
            counts = (state["connections"], state["closes"]) if state else None
            if counts is None or counts != last:
                last, since = counts, time.monotonic()
            elif time.monotonic() - since >= SETTLE_S:
                return True
            time.sleep(PROBE_EVERY)  # a poll's period: the condition is the victim's counts
        return False

    def bridge_calls(role: str) -> int:
        """Channel calls the bridge of ``role``'s tab has taken (an int read across threads)."""
        calls: int = holder["tabs"][role].bridge.batches_in
        return calls

    def spam_drain(seq: int, calls_before: int) -> bool:
        """Wait until the spammer got an answer to every call, or the browser cut it off
        (docs/API.md, ERR_CHANNEL_FLOOD: True); say how far it is."""
        server.wait(lambda: seq in server.spammed, "the spammer's count of calls")
        calls = server.spammed[seq]["calls"]
        while True:
            try:
                server.wait(lambda: seq in server.spam, "every call of the spammer answered", 10.0)
                return False
            except TimeoutError:
                took = bridge_calls("spammer") - calls_before
                if holder["tabs"]["spammer"].bridge.cut_off:  # ERR_CHANNEL_FLOOD: never answered
                    print(f"isolation: spam: the spammer was cut off after {took:,} calls", file=sys.stderr)
                    return True
                print(f"isolation: spam drain: the bridge took {took:,} of {calls:,} calls", file=sys.stderr)

    def reload_spammer() -> None:
        """Load the spammer's page again and wait until it is ready to spam."""
        loads = sum(1 for r in server.ready if r["role"] == "spammer")

        async def reload() -> None:
            holder["tabs"]["spammer"].page.triggerAction(QWebEnginePage.WebAction.Reload)

        on_qt(reload, PROBE_BOUND)
        server.wait(
            lambda: sum(1 for r in server.ready if r["role"] == "spammer") > loads,
            "the spammer to load again",
        )
        print("isolation: the spammer (cut off) loaded again", file=sys.stderr)

    def renderers(t: str) -> set[int]:
        """The renderer processes of transport ``t``'s neighbour pair (writer, reader)."""
        pages = [tab.page for (role, tt, *_), tab in zip(tabs, holder["opened"], strict=True)
                 if tt == t and role in ("writer", "reader")]  # fmt: skip

        async def pids() -> set[int]:
            return {page.renderProcessPid() for page in pages}

        found: set[int] = on_qt(pids, PROBE_BOUND)
        return found

    def page_states() -> list[Any]:
        """What every tab says it is doing (window.__iso), or that it did not answer."""

        async def one(page: Any) -> Any:
            try:
                return json.loads(await asyncio.wait_for(run_js(page, "JSON.stringify(window.__iso)"), 2))
            except (TimeoutError, TypeError, ValueError):
                return "no answer"

        async def read() -> list[Any]:
            return list(await asyncio.gather(*(one(tab.page) for tab in holder["opened"])))

        states: list[Any] = on_qt(read, 30)
        return states

    def drive(attacker: Attacker | None) -> None:
        try:
            run_phases(attacker)
        except Exception as exc:
            raise RuntimeError(f"{exc}; the tabs: {page_states()}") from exc
        finally:
            procs.cores_shared(all_cpus)  # a phase that failed while cores were apart

    def run_phases(attacker: Attacker | None) -> None:
        try:
            server.wait(lambda: len(server.ready) >= server.expected, "every page ready", START_S)
        except TimeoutError:
            up = {(r["role"], r["transport"]) for r in server.ready}
            missing = [f"{role}:{t}" for role, t, *_ in tabs if (role, t) not in up]
            raise TimeoutError(f"these tabs did not get ready in {START_S:g} s: {missing}") from None
        if attacker is not None:
            victim = next(r for r in server.ready if r["role"] == "victim")
            attacker.sees(victim["id"])
        joins = 0
        for rep, t, name in schedule:
            if name == "spam" and holder["tabs"]["spammer"].bridge.cut_off:
                # the browser cut the spammer off in an earlier spam phase: it has no
                # channel until it loads again, so it loads again, as a user would
                reload_spammer()
            before = rss()
            calls_before = bridge_calls("spammer") if "spam" in scenarios else 0
            if name in APART:
                pinned = procs.cores_apart(renderers(t))
                run_info: dict[str, Any] = {"apart_cpus": sorted(pinned)}
            else:
                run_info = {}
            seq = server.set_phase(name, t, rep)
            t0 = time.time()
            window = None
            if name == "join":
                assert attacker is not None
                if joins:
                    # the last one was cut for its rate, and its device is refused for a
                    # while (docs/PROTOCOL.md, "Budgets"): a new device attacks each time
                    attacker = Attacker(children, bootstrap, "bench-iso-victim")
                    attacker.sees(victim["id"])
                joins += 1
                done = attacker.attack(attack, phase_s)
                window = (done["t"] / 1000, done["t"] / 1000 + done["seconds"])
                done.pop("t")
                run_info["attacker"] = done
            else:
                time.sleep(phase_s)  # the phase's length: what is measured, not a wait for a condition
            t1 = time.time()
            server.set_phase(f"drain:{name}", t, rep)
            finished = True
            if name in ("flood", "flood-apart"):
                server.wait(lambda seq=seq, t=t: (t, seq) in server.flooded, "the reader to catch up")
                server.wait(lambda seq=seq: seq in server.windows, "the writer's account of its flood")
            elif name == "spam":
                if not spam_drain(seq, calls_before):  # a spammer cut off gives no account
                    server.wait(lambda seq=seq: seq in server.windows, "the spammer's account of its spam")
            elif name == "join":
                finished = victim_settled()
            t2 = time.time()
            if name in APART:
                procs.cores_shared(all_cpus)
            window = server.windows.get(seq, window) or (t0, t1)
            if seq in server.flood_messages:  # the flood's own rate, for its cost to compare
                run_info["flood_msgs_per_s"] = server.flood_messages[seq] / max(window[1] - window[0], 1e-9)
                print(f"isolation: {t} flood: {run_info['flood_msgs_per_s']:,.0f} msgs/s", file=sys.stderr)
            runs.append({
                **run_info, "seq": seq, "rep": rep, "transport": t, "scenario": name,
                "phase": [t0, t1], "window": list(window), "drain": [window[1], t2],
                "drain_finished": finished, "rss_before": before, "rss_after": rss(),
            })  # fmt: skip
            print(f"isolation: rep {rep + 1}/{reps} {t} {name} done", file=sys.stderr)
        server.set_phase("end", None)
        server.wait(lambda: all(t in server.samples for t in transports), "every pinger's round trips")

    async def probe(label: str, page: Any) -> None:
        while True:
            wall, t0 = time.time(), time.perf_counter()
            try:
                await run_js(page, "1")
            finally:  # a probe cut short at the end counts as old as it got
                probes.append((wall, label, time.perf_counter() - t0))
            await asyncio.sleep(PROBE_EVERY)

    async def loop_lag() -> None:
        while True:
            wall, t0 = time.time(), time.perf_counter()
            await asyncio.sleep(LAG_EVERY)
            lags.append((wall, (time.perf_counter() - t0 - LAG_EVERY) * 1000))

    async def task(session: Any) -> int:
        holder["loop"] = asyncio.get_running_loop()
        holder["opened"] = opened = session.window.tabs()
        holder["tabs"] = {role: tab for (role, *_), tab in zip(tabs, opened, strict=True) if role in SINGLE}
        watchers = [
            asyncio.ensure_future(probe(f"{role}:{t}", tab.page))
            for (role, t, *_), tab in zip(tabs, opened, strict=True)
        ]
        watchers.append(asyncio.ensure_future(loop_lag()))
        try:
            await holder["loop"].run_in_executor(None, drive, holder.get("attacker"))
        finally:
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        return 0

    with procs.Children() as children:
        config = BrowserConfig(urls=urls, headless=True, network="none", grace=0.0)
        if "join" in scenarios:
            from bench.devices import start_testnet

            bootstrap = start_testnet(children)  # refuses anything but 127.0.0.1
            holder["attacker"] = Attacker(children, bootstrap, "bench-iso-victim")
            config = BrowserConfig(
                urls=urls, headless=True, bootstrap=parse_bootstrap(",".join(bootstrap)), grace=0.0
            )
        try:
            code = app.run(config, task, offscreen=True)
        finally:
            server.close()
    if code != 0:
        raise RuntimeError(f"the browser exited with {code}")
    plan = {
        "reps": reps, "phase_s": phase_s, "scenarios": scenarios, "attack": attack, "spam_s": spam_s,
        "tabs": [f"{role}:{t}" for role, t, _site, _room in tabs],
    }  # fmt: skip
    return summarize(server, transports, runs, probes, lags, plan)


def _between(points: list[tuple[float, Any]], t0: float, t1: float) -> list[Any]:
    """The values of ``points`` (sorted by time) from ``t0`` up to, not including, ``t1``."""
    times = [p[0] for p in points]
    return [p[1] for p in points[bisect.bisect_left(times, t0) : bisect.bisect_left(times, t1)]]


def summarize(
    server: Server,
    transports: list[str],
    runs: list[dict[str, Any]],
    probes: list[tuple[float, str, float]],
    lags: list[tuple[float, float]],
    plan: dict[str, Any],
) -> dict[str, Any]:
    """Each round trip, probe and lag goes to the window it started in: for a scenario,
    from when the neighbour started misbehaving to when it stopped (the writer's flood,
    the spammer's first call to its last answer, the attacker's flood), then its drain."""
    probes = sorted(probes)
    probe_points = [(wall, (label, s)) for wall, label, s in probes]
    out: dict[str, Any] = {"plan": plan, "transports": {}, "probe_bound_s": PROBE_BOUND, "runs": runs}
    for t in transports:
        posted = server.samples[t]
        rtts = [(wall / 1000, ms) for wall, ms in posted["samples"]]
        by: dict[str, list[dict[str, Any]]] = {}
        for r in runs:
            if r["transport"] == t:
                by.setdefault(r["scenario"], []).append(r)
        quiets = {
            name: stats.latency([x for r in by[name] for x in _between(rtts, *r["window"])])
            for name in ("quiet", *BASELINE.values())
            if name in by
        }
        res: dict[str, Any] = {"visibility": posted.get("visibility")}
        for r in runs:  # each run's own figures, and its slowest round trips: when, how long
            if r["transport"] == t:
                start = r["window"][0]
                timed = [(wall, ms) for wall, ms in rtts if start <= wall < r["window"][1]]
                r["rtt"] = stats.latency([ms for _, ms in timed])
                r["drain_rtt"] = stats.latency(_between(rtts, *r["drain"]))
                slowest = sorted(timed, key=lambda x: x[1])[-SLOWEST:]
                r["slowest"] = [[round(wall - start, 3), ms] for wall, ms in sorted(slowest)]
        for name, rs in by.items():
            during = [x for r in rs for x in _between(rtts, *r["window"])]
            drained = [x for r in rs for x in _between(rtts, *r["drain"])]
            seen = [p for r in rs for p in _between(probe_points, r["window"][0], r["drain"][1])]
            slowest = max(seen, key=lambda p: p[1], default=None)
            lagged = [x for r in rs for x in _between(lags, *r["window"])]
            window_s = sum(r["window"][1] - r["window"][0] for r in rs)
            lat = stats.latency(during)
            quiet = quiets[BASELINE.get(name, "quiet")]
            worst = max([*during, *drained], default=float("nan"))
            res[name] = {
                **lat,
                "max_ms": max(during, default=float("nan")),
                "round_trips_per_s": len(during) / window_s if window_s > 0 else float("nan"),
                "seconds": [r["window"][1] - r["window"][0] for r in rs],
                "median_x": stats.ratio(lat["median_ms"], quiet["median_ms"]),
                "p99_x": stats.ratio(lat["p99_ms"], quiet["p99_ms"]),
                "drain": {
                    **stats.latency(drained),
                    "max_ms": max(drained, default=float("nan")),
                    "seconds": [r["drain"][1] - r["drain"][0] for r in rs],
                    "finished": all(r["drain_finished"] for r in rs),
                },
                "probe_max_s": slowest[1] if slowest else float("nan"),
                "probe_slowest_tab": slowest[0] if slowest else None,
                "usable": bool(slowest and slowest[1] <= PROBE_BOUND and worst <= PROBE_BOUND * 1000),
                "loop_lag_ms": {
                    "median": stats.median(lagged),
                    "p99": stats.percentile(lagged, 99),
                    "max": max(lagged, default=float("nan")),
                },
                "flood_msgs_per_s": stats.median(
                    [r["flood_msgs_per_s"] for r in rs if "flood_msgs_per_s" in r]
                ),
                "rss_growth_mib": {
                    k: max(r["rss_after"][k] - r["rss_before"][k] for r in rs)
                    for k in ("browser_mib", "tree_mib")
                },
            }
        out["transports"][t] = res
    attacks = [r["attacker"] for r in runs if "attacker" in r]
    if attacks:
        out["attacks"] = attacks
    spams = list(server.spam.values())
    if spams:
        out["spam"] = {
            "calls": [s["calls"] for s in spams],
            "calls_per_s": [s["calls"] / (s["spam_ms"] / 1000) for s in spams],
            "answered_after_ms": [s["answered_after_ms"] for s in spams],
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 repetitions of 3 s phases")
    parser.add_argument("--webrtc", action="store_true", help="the RTCDataChannel pairs (bench.netns only)")
    parser.add_argument("--seconds", type=float, help="length of each phase (default 6, with --quick 3)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="any of " + ", ".join(SCENARIOS))
    parser.add_argument("--attack", default="join-one", choices=ATTACKS, help="the JOIN/LEAVE flood")
    parser.add_argument(
        "--spam-seconds", type=float, default=SPAM_S, help=f"how long the spammer spams (default {SPAM_S:g})"
    )
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in scenarios:
        if s not in SCENARIOS:
            parser.error(f"unknown scenario {s!r} (one of {', '.join(SCENARIOS)})")
    os.environ["PEERBROWSER_LOOPBACK_ONLY"] = "1"
    result = run(args.quick, args.webrtc, args.seconds, scenarios, args.attack, args.spam_seconds)
    text = json.dumps(result, indent=1, allow_nan=True)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
