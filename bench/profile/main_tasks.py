"""What holds the browser's main thread beside a flood: Chromium's own trace of it.

Runs ``bench.isolation`` (PeerSocket only, ``--quick``, the scenarios given, by default
``flood-apart``) with QtWebEngine's DevTools endpoint on 127.0.0.1, and records a
Chromium trace (CDP ``Tracing`` on the browser target; categories ``toplevel``,
``ipc``, ``mojom``) for ``SECONDS`` from the start of the first phase named ``PHASE``.
Then, for the browser's main thread (``CrBrowserMain``): its busy share, each incoming
Mojo message's task (a page's QWebChannel message: its batch; with the core's turn
when it runs inline) by size, and the longest tasks with what they ran.

    python -m bench.profile.main_tasks [SCENARIOS [PHASE [SECONDS]]]
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import threading
import time
import urllib.request
from typing import Any

from bench import stats

CATEGORIES = ["toplevel", "ipc", "mojom"]
SIZES = ((1024, "< 1 KiB"), (16 * 1024, "< 16 KiB"), (64 * 1024, "< 64 KiB"), (float("inf"), ">= 64 KiB"))


async def _trace(port: int, seconds: float) -> list[dict[str, Any]]:
    import websockets

    def version() -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=5) as resp:
            found: dict[str, Any] = json.loads(resp.read())
            return found

    ws = await websockets.connect(version()["webSocketDebuggerUrl"], max_size=None, ping_interval=None)
    events: list[dict[str, Any]] = []
    ids = iter(range(1, 1 << 30))

    async def call(method: str, **params: Any) -> dict[str, Any]:
        my = next(ids)
        await ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            events.append(msg)

    try:
        config = {"includedCategories": CATEGORIES, "recordMode": "recordAsMuchAsPossible"}
        await call("Tracing.start", traceConfig=config, transferMode="ReturnAsStream")
        await asyncio.sleep(seconds)  # the length of the recording, not a wait for a condition
        await call("Tracing.end")
        while not any(e.get("method") == "Tracing.tracingComplete" for e in events):
            events.append(json.loads(await ws.recv()))
        done = next(e for e in events if e.get("method") == "Tracing.tracingComplete")
        chunks = []
        while True:
            part = await call("IO.read", handle=done["params"]["stream"])
            data = part["data"]
            chunks.append(base64.b64decode(data).decode() if part.get("base64Encoded") else data)
            if part.get("eof"):
                break
    finally:
        await ws.close()
    text = "".join(chunks)
    trace = json.loads(text)
    found: list[dict[str, Any]] = trace["traceEvents"] if isinstance(trace, dict) else trace
    return found


def summarize(events: list[dict[str, Any]], seconds: float) -> None:
    threads = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    mains = [k for k, name in threads.items() if name == "CrBrowserMain"]
    if not mains:
        print("no CrBrowserMain thread in the trace")
        return
    main = mains[0]
    mine = [e for e in events if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X"]
    tasks = [e for e in mine if e["name"] == "ThreadControllerImpl::RunTask"]
    received = [e for e in mine if e["name"] == "Receive mojo message"]
    busy = sum(e["dur"] for e in tasks) / 1e6
    print(f"main thread: {len(tasks)} tasks, busy {busy:.2f} s of {seconds:g} s")
    print("incoming Mojo messages' tasks, by the message's size (us):")
    by: dict[str, list[float]] = {}
    for e in received:
        size = e.get("args", {}).get("chrome_mojo_event_info", {}).get("data_num_bytes", 0)
        label = next(name for bound, name in SIZES if size < bound)
        by.setdefault(label, []).append(e["dur"])
    for _bound, label in SIZES:
        d = by.get(label)
        if d:
            p90, p99 = stats.percentile(d, 90), stats.percentile(d, 99)
            print(
                f"  {label:10s} n={len(d):5d}  median {stats.median(d):7.0f}  p90 {p90:7.0f}"
                f"  p99 {p99:7.0f}  max {max(d):7.0f}  total {sum(d) / 1000:7.1f} ms"
            )
    print("the longest tasks (us), and the Mojo messages they ran (bytes, us):")
    for e in sorted(tasks, key=lambda e: -e["dur"])[:12]:
        inner = [
            (r["args"]["chrome_mojo_event_info"]["data_num_bytes"], r["dur"])
            for r in received
            if e["ts"] <= r["ts"] < e["ts"] + e["dur"] and "chrome_mojo_event_info" in r.get("args", {})
        ]
        what = inner[:4] or "no Mojo message (a Qt event or timer, a scheduled turn among them)"
        print(f"  {e['dur']:7d}  {what}")


def main() -> int:
    scenarios = sys.argv[1] if len(sys.argv) > 1 else "flood-apart"
    phase = sys.argv[2] if len(sys.argv) > 2 else scenarios.split(",")[-1]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.5
    from browser.remote_debugging import free_loopback_port

    port = free_loopback_port()
    os.environ["QTWEBENGINE_REMOTE_DEBUGGING"] = f"127.0.0.1:{port}"
    from bench import isolation

    got: dict[str, Any] = {}
    recorder: list[threading.Thread] = []
    set_phase = isolation.Server.set_phase

    def record() -> None:
        started = time.monotonic()
        try:
            got["events"] = asyncio.run(_trace(port, seconds))
        except Exception as exc:  # said at the end, with the run's own outcome
            got["error"] = repr(exc)
        got["took"] = time.monotonic() - started

    def on_phase(self: Any, name: str, transport: str | None, rep: int | None = None) -> int:
        seq: int = set_phase(self, name, transport, rep)
        if name == phase and not recorder:
            recorder.append(threading.Thread(target=record))
            recorder[0].start()
        return seq

    isolation.Server.set_phase = on_phase  # type: ignore[method-assign]
    sys.argv = ["bench.isolation", "--quick", "--scenarios", scenarios, "--out", "/dev/null"]
    isolation.main()
    for thread in recorder:
        thread.join()
    if "events" not in got:
        print(f"no trace: {got.get('error', f'no phase named {phase!r}')}")
        return 1
    summarize(got["events"], seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
