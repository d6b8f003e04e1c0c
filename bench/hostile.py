"""A hostile device against a real browser: ``./run-bench hostile``.

For each attack, a fresh ``peerbrowser --headless`` on a local testnet (127.0.0.1 only,
loopback guard on) with four tabs in one open swarm (``bench/pages/hostile/tab.html``):
the quiet pair A and B (A pings B every 10 ms and times the round trips), R (reads every
message) and S (takes every socket's stream and never reads). In the swarm too: a
well-behaved outside device (``examples/node-peer/chat.js``) and the attacker
(``tests/hostile/attacker.js``, written from docs/PROTOCOL.md).

Each run has three phases: **quiet** (``--quiet`` s, no attack: the baseline of the same
browser), **attack** (``--seconds`` s of one flood), **after** (the attacker leaves; we
wait until no page has got a connection/close event for 2 s, at most ``--drain-limit``
s, then ``--settle`` s more, 5 by default). Throughout, every ``SAMPLE`` s, the RSS of
each process of the browser's tree (the browser, its renderers, its other Chromium
processes, the sidecar), and a DevTools probe (``Runtime.evaluate('1')``) to each tab,
timed.

The first "attack", ``none``, is the control: the same phases with the attacker
linked and idle for ``--seconds``. Its tree's growth, sampled through the run, is
what the browser grows by with no flood at all (the quiet pair's pings): each
flood's memory after is set against the control's growth at the same time after
its own quiet phase (``control_growth_mib``), not against the 10 s quiet phase.

Reported per attack: the quiet pair's median and p99 round trip during the attack
against the quiet phase's (ratios); memory (tree and per kind: start, peak, after,
against the quiet phase's growth and the control's); each page's connection + close events per second
(the most in any 1 s of wall time); the slowest probe answer per tab against the
bound (``PROBE_BOUND``); whether the well-behaved device's link survived and a message
from it still reached tab A; what the attacker saw (GOODBYE, link closed).

The browser runs this checkout's code whichever venv runs the bench (``PYTHONPATH``,
``procs.loopback_env``): ``peerbrowser`` does not import from the current directory, and
a venv borrowed from another worktree has that worktree's code installed (editable): its
browser, its core and its sidecar would be measured instead (the sidecar "kept 92 to 120
MiB" in such runs, issue 17). A run whose sidecar is not this checkout's fails. The
result says which sidecar ran (``sidecar``: its script, the malloc settings of its
environment, where its memory sat before the flood and at the end, from smaps, and the
connections it destroyed itself, from the browser's log).

    python -m bench.hostile [--quick] [--attacks a,b,...] [--seconds S] [--settle S] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from bench import procs, stats
from bench.devices import START_TIMEOUT, start_testnet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = HERE / "pages" / "hostile" / "tab.html"
ATTACKER = ROOT / "tests" / "hostile" / "attacker.js"
CHAT = ROOT / "examples" / "node-peer" / "chat.js"
ROLES = ("A", "B", "R", "S")  # the first tab is the visible one: A's timers run unthrottled
ATTACKS = ("none", "join-fresh", "join-one", "session", "message-read", "message-stalled")
SAMPLE = 0.25  # seconds between memory samples and probes
SETTLE = 5.0  # seconds after the events stopped before "after" is measured (--settle)
#: A tab counts as responsive while every probe is answered within this. It is what a
#: person notices as a stuck tab; the quiet phase's slowest probe is reported beside it
#: (tens of ms on the project's machine), so the bound is far above the noise.
PROBE_BOUND = 1.0
MiB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---- DevTools ---------------------------------------------------------------------------


class DevTools:
    """One page target over the DevTools protocol (127.0.0.1 only)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url: str) -> DevTools:
        import websockets

        ws = await websockets.connect(url, max_size=None, ping_interval=None)
        return cls(ws)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for text in self.ws:
                msg = json.loads(text)
                fut = self.waiting.pop(msg.get("id", -1), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)

    async def call(self, method: str, **params: Any) -> Any:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = fut
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        msg = await fut
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg.get("result")

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()


def targets(port: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
        found: list[dict[str, Any]] = json.loads(resp.read())
        return found


# ---- lines from child processes ------------------------------------------------------------


class Lines:
    """JSON lines a child prints on stdout, collected by a thread."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.items: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.strip()
            if not line.startswith(b"{"):
                continue
            with contextlib.suppress(ValueError), self.cond:
                self.items.append(json.loads(line))
                self.cond.notify_all()
        with self.cond:
            self.items.append({"event": "exit"})
            self.cond.notify_all()

    def of(self, event: str) -> list[dict[str, Any]]:
        with self.cond:
            return [i for i in self.items if i.get("event") == event]

    async def wait(self, test: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            with self.cond:
                found = test(self.items)
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:g} s for {what}")
            await asyncio.sleep(0.05)


# ---- memory -------------------------------------------------------------------------------


#: The kinds the tree's memory is summed by (``Sampler``); ``tree`` is their sum.
KINDS = ("browser", "renderers", "chromium", "sidecar")


def label_of(proc: psutil.Process) -> str:
    """What one process of the browser's tree is: ``browser``, ``sidecar``, ``renderer``
    (its tab is found later: :func:`renderer_of_tabs`), or Chromium's others by their
    ``--type`` (``gpu-process``, ``utility:network.mojom.NetworkService``, ``zygote``)."""
    try:
        argv = proc.cmdline()
        parent = proc.parent()
        parent_argv = parent.cmdline() if parent else []
    except psutil.Error:
        return "gone"
    cmd = " ".join(argv)
    if "QtWebEngineProcess" in cmd:
        kind = next((a.split("=", 1)[1] for a in argv if a.startswith("--type=")), "")
        # renderers are forked from a zygote and keep its command line
        if kind == "renderer" or (kind == "zygote" and "--type=zygote" in " ".join(parent_argv)):
            return "renderer"
        if kind == "utility":
            sub = next((a.split("=", 1)[1] for a in argv if a.startswith("--utility-sub-type=")), "")
            return f"utility:{sub}" if sub else "utility"
        return kind or "chromium"
    if argv and "node" in Path(argv[0]).name:
        return "sidecar"
    return "browser"


def kind_of(label: str) -> str:
    """The kind a process's memory is summed under (``KINDS``)."""
    if label == "renderer" or label.startswith("renderer "):
        return "renderers"
    if label in ("browser", "sidecar"):
        return label
    return "chromium"


class Sampler:
    """RSS of every process of the browser's tree, each and by kind, every SAMPLE s (a
    thread). ``labels`` names each process; a renderer is named after its tab once
    :func:`renderer_of_tabs` found which it is."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.samples: list[dict[str, Any]] = []
        self.labels: dict[int, str] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            sample: dict[str, Any] = {"t": time.time(), **dict.fromkeys(KINDS, 0), "procs": {}}
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for p in tree:
                label = self.labels.get(p.pid) or self.labels.setdefault(p.pid, label_of(p))
                with contextlib.suppress(psutil.Error):
                    rss = p.memory_info().rss
                    sample["procs"][p.pid] = rss
                    sample[kind_of(label)] += rss
            sample["tree"] = sum(sample[k] for k in KINDS)
            self.samples.append(sample)
            self.stop.wait(SAMPLE)

    def between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        return [s for s in self.samples if t0 <= s["t"] <= t1]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


async def renderer_of_tabs(browser_pid: int, tabs: dict[str, DevTools]) -> dict[int, str]:
    """Which renderer process runs which tab: each tab in turn spins its main thread for
    0.3 s, and the renderer whose CPU time grew the most is its own."""
    renderers = [p for p in procs.tree(browser_pid) if label_of(p) == "renderer"]

    def cpu() -> dict[int, float]:
        out: dict[int, float] = {}
        for p in renderers:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        return out

    found: dict[int, str] = {}
    for role, dt in tabs.items():
        before = cpu()
        await dt.evaluate("(() => { const t = performance.now(); while (performance.now() - t < 300); })()")
        after = cpu()
        grew = sorted(((after.get(pid, 0) - t, pid) for pid, t in before.items()), reverse=True)
        if grew and grew[0][1] not in found:
            found[grew[0][1]] = f"renderer {role}"
    return found


def level(samples: list[dict[str, Any]], key: str | int) -> float:
    """The median of a few samples (MiB): a level, not one noisy reading. ``key``: a kind,
    or a process id."""
    if isinstance(key, int):
        return stats.median([s["procs"][key] / MiB for s in samples if key in s["procs"]])
    return stats.median([s[key] / MiB for s in samples])


def smaps(pid: int) -> dict[str, float]:
    """Where a process's resident memory is (MiB): malloc's main heap (``[heap]``), other
    anonymous mappings (V8's pages, malloc's mappings and other arenas), mapped files."""
    out: dict[str, float] = {}
    name = ""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:
                name = head[5] if len(head) > 5 else "[anon]"
                if not name.startswith("["):
                    name = "[files]"
            elif head and head[0] == "Rss:":
                out[name] = out.get(name, 0.0) + int(head[1]) / 1024
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1]) if v >= 0.5}


def sidecar_of(browser_pid: int) -> dict[str, Any] | None:
    """The browser's sidecar: its pid, the script it runs (so a run says which code it
    measured) and the malloc settings of its environment."""
    for p in procs.tree(browser_pid):
        with contextlib.suppress(psutil.Error):
            if label_of(p) != "sidecar":
                continue
            script = next((a for a in p.cmdline() if a.endswith("sidecar.js")), None)
            env = {k: v for k, v in p.environ().items() if k.startswith("MALLOC_")}
            return {"pid": p.pid, "script": script, "malloc_env": env}
    return None


def memory_summary(s: Sampler, phases: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Per kind (and ``processes``: per process, by label) the RSS at the start of the
    quiet phase, before the flood, at its peak (flood and drain), after (the end of the
    run), and the growths against the level before the flood."""
    q0, q1 = phases["quiet"]
    a0, _ = phases["attack"]
    _, d1 = phases["after"]
    first, before, after = s.between(q0, q0 + 1.5), s.between(q1 - 1.5, q1), s.between(d1 - 1.5, d1)
    attack = s.between(a0, phases["drain"][1])

    def summary(key: str | int) -> dict[str, float]:
        start, quiet_end, end = level(first, key), level(before, key), level(after, key)
        if isinstance(key, int):
            peak = max((x["procs"][key] / MiB for x in attack if key in x["procs"]), default=float("nan"))
        else:
            peak = max((x[key] / MiB for x in attack), default=float("nan"))
        return {
            "start_mib": start,
            "quiet_growth_mib": quiet_end - start,
            "before_attack_mib": quiet_end,
            "peak_mib": peak,
            "peak_growth_mib": peak - quiet_end,
            "after_mib": end,
            "after_growth_mib": end - quiet_end,
        }

    out: dict[str, Any] = {key: summary(key) for key in ("tree", *KINDS)}
    # the tree's growth through the run (seconds since the quiet phase ended, MiB over
    # its level then), and when "after" was measured: what the control is read at
    base = out["tree"]["before_attack_mib"]
    out["tree"]["series"] = [
        [round(x["t"] - q1, 2), round(x["tree"] / MiB - base, 1)] for x in s.samples if q1 <= x["t"] <= d1
    ]
    out["tree"]["after_at_s"] = d1 - q1
    pids = sorted({pid for x in s.samples for pid in x["procs"]})
    names: dict[str, int] = {}
    out["processes"] = {}
    for pid in pids:
        label = s.labels.get(pid, "gone")
        if label in names:  # two of a kind (utility processes, zygotes): tell them apart
            label = f"{label} ({pid})"
        names[label] = pid
        out["processes"][label] = {"pid": pid, "kind": kind_of(label), **summary(pid)}
    return out


def heap_summary(
    samples: dict[str, list[dict[str, Any]]], phases: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """Each tab's JS heap (MiB, used and total) before the flood, at its peak (flood and
    drain) and at the end (before the forced GC: ``end`` has after it)."""
    q0, q1 = phases["quiet"]
    a0, _ = phases["attack"]
    out: dict[str, Any] = {}
    for role, recs in samples.items():
        before = [r for r in recs if q0 <= r["t"] <= q1]
        during = [r for r in recs if a0 <= r["t"] <= phases["drain"][1]]
        row: dict[str, float] = {}
        for key in ("used", "total"):
            row[f"before_{key}_mib"] = before[-1][key] / MiB if before else float("nan")
            row[f"peak_{key}_mib"] = max((r[key] / MiB for r in during), default=float("nan"))
            row[f"end_{key}_mib"] = recs[-1][key] / MiB if recs else float("nan")
        out[role] = row
    return out


# ---- one attack ------------------------------------------------------------------------------


async def prober(
    tabs: dict[str, DevTools], record: dict[str, list[tuple[float, float]]], stop: asyncio.Event
) -> None:
    """Probe each tab every SAMPLE s; a probe still unanswered counts as it ages."""

    async def one(role: str, dt: DevTools) -> None:
        while not stop.is_set():
            t0 = time.time()
            task = asyncio.ensure_future(dt.evaluate("1"))
            while not task.done():
                await asyncio.wait({task}, timeout=SAMPLE)
                if not task.done():
                    record[role].append((t0, time.time() - t0))  # still waiting
            with contextlib.suppress(Exception):
                task.result()
            record[role].append((t0, time.time() - t0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE)

    await asyncio.gather(*(one(r, d) for r, d in tabs.items()))


async def heap_sampler(
    tabs: dict[str, DevTools], record: dict[str, list[dict[str, Any]]], stop: asyncio.Event
) -> None:
    """Each tab's JS heap (used, total) every second, when the tab answers."""

    async def one(role: str, dt: DevTools) -> None:
        while not stop.is_set():
            t = time.time()
            with contextlib.suppress(Exception):
                usage = await dt.call("Runtime.getHeapUsage")
                record[role].append({"t": t, "used": usage["usedSize"], "total": usage["totalSize"]})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    await asyncio.gather(*(one(r, d) for r, d in tabs.items()))


async def run_attack(
    name: str, bootstrap: list[str], seconds: float, quiet: float, drain_limit: float, settle: float
) -> dict[str, Any]:
    swarm = f"hostile-{secrets.token_hex(4)}"
    port = free_port()
    urls = [f"{PAGE.as_uri()}?role={role}&swarm={swarm}&identity={i + 1}" for i, role in enumerate(ROLES)]
    env = procs.loopback_env(QT_QPA_PLATFORM="offscreen", QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{port}")
    result: dict[str, Any] = {"attack": name, "seconds": seconds}
    with procs.Children() as children, tempfile.TemporaryDirectory(prefix="peerbench-hostile-") as home:
        env["XDG_CONFIG_HOME"] = env["XDG_DATA_HOME"] = env["XDG_CACHE_HOME"] = home
        peerbrowser = Path(sys.executable).with_name("peerbrowser")
        cmd = [
            str(peerbrowser),
            "--headless",
            "--bootstrap",
            ",".join(bootstrap),
            "--log-level",
            "warning",
            *urls,
        ]
        browser = children.start(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr_tail: list[str] = []

        def keep_stderr() -> None:
            assert browser.stderr is not None
            for raw in browser.stderr:
                stderr_tail.append(raw.decode("utf-8", "replace").rstrip())
                del stderr_tail[:-200]

        threading.Thread(target=keep_stderr, daemon=True).start()
        node_env = procs.loopback_env(NODE_PATH=str(procs.SIDECAR_DIR / "node_modules"))
        device = Lines(children.start(
            procs.node_command(CHAT, "--bootstrap", ",".join(bootstrap), "--swarm", swarm, "--json"),
            env=node_env, cwd=CHAT.parent,
        ))  # fmt: skip
        attacker = Lines(children.start(
            procs.node_command(ATTACKER, "--bootstrap", ",".join(bootstrap), "--swarm", swarm),
            env=node_env, cwd=ROOT,
        ))  # fmt: skip
        tabs: dict[str, DevTools] = {}
        sampler: Sampler | None = None
        stop_probes = asyncio.Event()
        try:
            # every tab up, over DevTools
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if browser.poll() is not None:
                    raise RuntimeError("the browser exited:\n" + "\n".join(stderr_tail[-30:]))
                with contextlib.suppress(OSError, ValueError):
                    pages = [
                        t for t in targets(port) if t.get("type") == "page" and "role=" in t.get("url", "")
                    ]
                    if len(pages) == len(ROLES):
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("the browser's tabs did not come up")
                await asyncio.sleep(0.2)
            for t in pages:
                role = t["url"].split("role=")[1][0]
                tabs[role] = await DevTools.connect(t["webSocketDebuggerUrl"])
            ids: dict[str, str] = {}
            deadline = time.monotonic() + START_TIMEOUT
            while len(ids) < len(ROLES):
                for role, dt in tabs.items():
                    st = await dt.evaluate(
                        "window.__pb ? JSON.stringify({id: __pb.id, error: __pb.error, peers: __pb.peers})"
                        " : JSON.stringify({id: null, error: null, peers: {}})"  # its script has not run yet
                    )
                    st = json.loads(st)
                    if st["error"]:
                        raise RuntimeError(f"tab {role}: {st['error']}")
                    if st["id"] and len(st["peers"]) >= len(ROLES) - 1:
                        ids[role] = st["id"]
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the tabs did not all meet: {ids}")
                await asyncio.sleep(0.2)

            # the attacker and the device see every tab
            def sees_every_tab(items: list[dict[str, Any]]) -> bool:
                return {i["id"] for i in items if i.get("event") == "peer"} >= set(ids.values())

            await attacker.wait(sees_every_tab, START_TIMEOUT, "the attacker's link to every tab")
            await device.wait(sees_every_tab, START_TIMEOUT, "the device's link to every tab")
            await tabs["A"].evaluate("__pb.rtt.length")
            sampler = Sampler(browser.pid)
            sampler.labels.update(await renderer_of_tabs(browser.pid, tabs))
            probes: dict[str, list[tuple[float, float]]] = {r: [] for r in ROLES}
            probe_task = asyncio.ensure_future(prober(tabs, probes, stop_probes))
            heaps: dict[str, list[dict[str, Any]]] = {r: [] for r in ROLES}
            heap_task = asyncio.ensure_future(heap_sampler(tabs, heaps, stop_probes))
            phases: dict[str, tuple[float, float]] = {}

            t = time.time()
            await asyncio.sleep(quiet)
            phases["quiet"] = (t, time.time())
            sidecar = sidecar_of(browser.pid)
            if sidecar is not None:
                sidecar["smaps_before_mib"] = smaps(sidecar["pid"])
                if sidecar["script"] != str(procs.SIDECAR_DIR / "sidecar.js"):
                    raise RuntimeError(f"the browser runs another checkout's sidecar: {sidecar['script']}")
            result["sidecar"] = sidecar

            command: dict[str, Any] | None = {"attack": name, "seconds": seconds}
            if name == "none":
                command = None  # the control: linked, idle
            elif name.startswith("message"):
                command = {
                    "attack": "message",
                    "seconds": seconds,
                    "to": [ids["R" if name == "message-read" else "S"]],
                }
            t = time.time()
            if command is None:
                await asyncio.sleep(seconds)
                done = [{"event": "done", "name": "none", "seconds": seconds}]
            else:
                procs.send_json(attacker.proc, command)
                done = await attacker.wait(lambda it: [i for i in it if i.get("event") in ("done", "error")],
                                           seconds + 120, "the attack to end")  # fmt: skip
            phases["attack"] = (t, time.time())
            result["attacker"] = done[0]
            procs.send_json(attacker.proc, {"leave": True})
            await attacker.wait(
                lambda it: [i for i in it if i.get("event") == "exit"], 30, "the attacker to leave"
            )

            # the events the flood caused drain from the pages (or the limit passes)
            t = time.time()
            quiet_since = time.time()
            last = None
            while time.time() - t < drain_limit:
                counts = [await dt.evaluate("__pb.connections + __pb.closes") for dt in tabs.values()]
                if counts != last:
                    last, quiet_since = counts, time.time()
                elif time.time() - quiet_since >= 2.0:
                    break
                await asyncio.sleep(0.25)
            phases["drain"] = (t, quiet_since)
            result["drain_s"] = quiet_since - phases["attack"][1]
            result["drained"] = time.time() - quiet_since >= 2.0
            t = time.time()
            await asyncio.sleep(settle)
            phases["after"] = (t, time.time())
            if sidecar is not None:
                sidecar["smaps_after_mib"] = smaps(sidecar["pid"])

            # the well-behaved device: still linked, and its words still reach tab A
            probe_text = f"probe-{secrets.token_hex(3)}"
            assert device.proc.stdin is not None
            device.proc.stdin.write(probe_text.encode() + b"\n")
            device.proc.stdin.flush()
            got = False
            t0 = time.time()
            while time.time() - t0 < 30:
                if probe_text in (await tabs["A"].evaluate("__pb.texts")):
                    got = True
                    break
                await asyncio.sleep(0.1)
            result["device"] = {
                "message_reached_tab_a": got,
                "links_closed": device.of("closed"),
            }
            stop_probes.set()
            await probe_task
            await heap_task
            # what of the renderers' growth is JS heap, live or garbage (a full GC), and
            # what is outside it
            result["heap"] = {"samples": heaps, "end": {}}
            for role, dt in tabs.items():
                before = await dt.call("Runtime.getHeapUsage")
                await dt.call("HeapProfiler.collectGarbage")
                after = await dt.call("Runtime.getHeapUsage")
                counters = await dt.call("Memory.getDOMCounters")
                result["heap"]["end"][role] = {
                    "used_mib": before["usedSize"] / MiB,
                    "total_mib": before["totalSize"] / MiB,
                    "used_after_gc_mib": after["usedSize"] / MiB,
                    "total_after_gc_mib": after["totalSize"] / MiB,
                    "dom_counters": counters,
                }
            # the renderers' RSS (and every process's) once their JS heaps hold only
            # what is live
            await asyncio.sleep(1.0)
            after_gc: dict[int, float] = {}
            for p in procs.tree(browser.pid):
                with contextlib.suppress(psutil.Error):
                    after_gc[p.pid] = p.memory_info().rss / MiB
            result["heap"]["renderers_rss_after_gc_mib"] = sum(
                rss for pid, rss in after_gc.items() if kind_of(sampler.labels.get(pid, "")) == "renderers"
            )
            sampler.close()

            pages_state = {role: await dt.evaluate("JSON.stringify(__pb)") for role, dt in tabs.items()}
            states = {r: json.loads(v) for r, v in pages_state.items()}
            result.update(summarise(name, states["A"], states, probes, phases))
            result["memory"] = memory_summary(sampler, phases)
            for row in result["memory"]["processes"].values():
                row["after_gc_mib"] = after_gc.get(row["pid"], float("nan"))
            result["heap"]["tabs"] = heap_summary(heaps, phases)
            result["phases"] = {k: [v[0], v[1]] for k, v in phases.items()}
            result["browser_alive"] = browser.poll() is None
            result["browser_errors"] = [
                line for line in stderr_tail if "Traceback" in line or " ERROR " in line
            ][-10:]
            if sidecar is not None:
                # how the sidecar ended connections itself (ERR_PEER_OVERRUN: "connection N
                # destroyed: ..."), as the browser logged it
                sidecar["destroyed"] = [line for line in stderr_tail if "destroyed:" in line][-10:]
        finally:
            stop_probes.set()
            if sampler is not None:
                sampler.close()
            for dt in tabs.values():
                await dt.close()
    return result


def summarise(
    name: str,
    a: dict[str, Any],
    pages: dict[str, dict[str, Any]],
    probes: dict[str, list[tuple[float, float]]],
    phases: dict[str, tuple[float, float]],
) -> dict[str, Any]:
    q0, q1 = phases["quiet"]
    a0, a1 = phases["attack"]
    rtt = [(wall / 1000, ms) for wall, ms in a["rtt"]]
    quiet = [ms for wall, ms in rtt if q0 + 1 <= wall <= q1]
    during = [ms for wall, ms in rtt if a0 <= wall <= a1]
    drain = [ms for wall, ms in rtt if a1 < wall <= phases["drain"][1]]
    ql, dl = stats.latency(quiet), stats.latency(during)
    out: dict[str, Any] = {
        "rtt": {
            "quiet": ql,
            "attack": dl,
            "drain": stats.latency(drain),
            "median_ratio": stats.ratio(dl["median_ms"], ql["median_ms"]),
            "p99_ratio": stats.ratio(dl["p99_ms"], ql["p99_ms"]),
            "pings_sent": a["pings"],
            "pongs": len(a["rtt"]),
            # the round trips of the flood and the drain as they came: when the slow ones
            # were (seconds since the flood began, ms)
            "attack_samples": [
                (round(wall - a0, 3), ms) for wall, ms in rtt if a0 <= wall <= phases["drain"][1]
            ],
        },
    }
    events: dict[str, Any] = {}
    for role, page in pages.items():
        per_s = {int(k): v for k, v in page["events"].items()}
        window = [v for k, v in per_s.items() if a0 - 1 <= k <= phases["drain"][1] + 1]
        events[role] = {
            "max_per_s": max(window, default=0),
            "connections": page["connections"],
            "closes": page["closes"],
            "messages": page["messages"],
            "last_event_after_attack_s": page["lastEventAt"] / 1000 - a1 if page["lastEventAt"] else None,
        }
    out["events"] = events
    out["events_max_per_s"] = max(e["max_per_s"] for e in events.values())
    resp: dict[str, Any] = {}
    for role, recs in probes.items():
        quiet_max = max((d for t, d in recs if q0 <= t <= q1), default=float("nan"))
        attack_max = max((d for t, d in recs if t >= a0), default=float("nan"))
        resp[role] = {"quiet_max_s": quiet_max, "attack_and_after_max_s": attack_max}
    out["probes"] = resp
    out["probe_bound_s"] = PROBE_BOUND
    out["responsive"] = all(r["attack_and_after_max_s"] <= PROBE_BOUND for r in resp.values())
    return out


async def run(
    attacks: list[str], seconds: float, quiet: float, drain_limit: float, settle: float
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "attacks": {},
        "seconds": seconds,
        "quiet_seconds": quiet,
        "settle_seconds": settle,
    }
    with procs.Children() as children:
        bootstrap = start_testnet(children)
        for name in attacks:
            print(f"hostile: {name} ...", file=sys.stderr)
            try:
                results["attacks"][name] = await run_attack(
                    name, bootstrap, seconds, quiet, drain_limit, settle
                )
            except Exception as exc:  # one attack's failure is reported, the others still run
                results["attacks"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"hostile: {name}: {brief(results['attacks'][name])}", file=sys.stderr)
    control = results["attacks"].get("none")
    if control is not None and "error" not in control:
        for name, r in results["attacks"].items():
            if name != "none" and "error" not in r:
                tree = r["memory"]["tree"]
                tree["control_growth_mib"] = control_growth(control, tree["after_at_s"])
    return results


def control_growth(control: dict[str, Any], at: float) -> float:
    """The control's tree growth ``at`` seconds after its quiet phase (the level of the
    1.5 s before, as "after" is measured; its last level if the control ended sooner)."""
    series = control["memory"]["tree"]["series"]
    window = [mib for t, mib in series if at - 1.5 <= t <= at]
    if not window:
        window = [mib for t, mib in series if t >= series[-1][0] - 1.5]
    return stats.median(window)


def brief(r: dict[str, Any]) -> str:
    if "error" in r:
        return r["error"]
    m = r["memory"]["tree"]
    return (
        f"RTT x{r['rtt']['median_ratio']:.1f} median, x{r['rtt']['p99_ratio']:.1f} p99; "
        f"tree +{m['peak_growth_mib']:.0f} MiB peak, {m['after_growth_mib']:+.0f} after "
        f"(quiet {m['quiet_growth_mib']:+.0f}); "
        f"sidecar peak {r['memory']['sidecar']['peak_mib']:.0f} MiB; "
        f"events {r['events_max_per_s']}/s; responsive {r['responsive']}; drain {r['drain_s']:.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s floods")
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    parser.add_argument("--seconds", type=float, default=None, help="length of each flood (default 10)")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds of the quiet phase")
    parser.add_argument("--drain-limit", type=float, default=90.0)
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE,
        help=f"seconds after the drain before 'after' (default {SETTLE:g})",
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    if os.environ.get("PEERBROWSER_LOOPBACK_ONLY") != "1":
        os.environ["PEERBROWSER_LOOPBACK_ONLY"] = "1"
    attacks = [a for a in args.attacks.split(",") if a]
    for a in attacks:
        if a not in ATTACKS:
            parser.error(f"unknown attack {a!r} (one of {', '.join(ATTACKS)})")
    results = asyncio.run(run(attacks, seconds, args.quiet, args.drain_limit, args.settle))
    text = json.dumps(results, indent=1, allow_nan=True)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
