"""Across devices on one machine: a local Hyperswarm testnet on 127.0.0.1 and pairs of
processes on it, measured in one run:

- ``node``: two plain Node Hyperswarm peers (bench/node_baseline.js), the raw baseline;
- ``core``: two Python swarm cores on the Hyperswarm engine, no pages (bench.device core);
- ``tabs``: one browser process, two tabs (bench.device page tabs), on the same engine
  and testnet: the tab-to-tab figure that page to page is held to, in the same run;
- ``page``: two browser processes, one tab each (bench.device page).

With ``node``, ``tabs`` and ``page``, ``page_budget`` says how page to page's RTT
compares with tab to tab's plus raw Hyperswarm's plus 0.3 ms (issue 13's budget).

    python -m bench.devices [--quick] [--only node,core,tabs,page,mesh4] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from bench import procs, stats

HERE = Path(__file__).resolve().parent
PY = sys.executable
START_TIMEOUT = 120.0
RUN_TIMEOUT = 600.0


def start_testnet(children: procs.Children, size: int = 3) -> list[str]:
    proc = children.start(
        procs.node_command(procs.SIDECAR_DIR / "testnet.js", str(size)),
        cwd=procs.SIDECAR_DIR,
        env=procs.loopback_env(),
    )
    info = procs.read_json_line(proc, START_TIMEOUT)
    bootstrap = list(info["bootstrap"])
    if not bootstrap or not all(b.startswith("127.0.0.1:") for b in bootstrap):
        raise RuntimeError(f"the testnet is not on loopback: {bootstrap}")
    return bootstrap


def node_env() -> dict[str, str]:
    return procs.loopback_env(NODE_PATH=str(procs.SIDECAR_DIR / "node_modules"))


def py_env() -> dict[str, str]:
    return procs.loopback_env(QT_QPA_PLATFORM="offscreen")


def run_pair(
    children: procs.Children, echo_cmd: list[str], measure_cmd: list[str], env: dict[str, str]
) -> Any:
    """Start the echo side, then the measuring side; return the measuring side's result."""
    echo = children.start(echo_cmd, env=env, cwd=HERE.parent)
    try:
        procs.read_json_line(echo, START_TIMEOUT)  # ready
        measure = children.start(measure_cmd, env=env, cwd=HERE.parent)
        try:
            procs.read_json_line(measure, START_TIMEOUT)  # ready
            line = procs.read_json_line(measure, RUN_TIMEOUT)
            return line["result"]
        finally:
            procs.stop(measure)
    finally:
        procs.stop(echo)


def node_pair(children: procs.Children, bootstrap: list[str], quick: bool, batched: bool = False) -> Any:
    topic = secrets.token_hex(32)
    script = HERE / "node_baseline.js"
    extra = ["quick" if quick else "full", *(["batched"] if batched else [])]
    return run_pair(
        children,
        procs.node_command(script, "echo", ",".join(bootstrap), topic),
        procs.node_command(script, "measure", ",".join(bootstrap), topic, *extra),
        node_env(),
    )


def tabs_pair(children: procs.Children, bootstrap: list[str], quick: bool) -> Any:
    """Two tabs of one browser process on the testnet (bench.device page tabs)."""
    room = f"bench-tabs-{secrets.token_hex(4)}"
    cmd = [PY, "-m", "bench.device", "page", "tabs", "--bootstrap", ",".join(bootstrap), "--room", room]
    proc = children.start([*cmd, *(["--quick"] if quick else [])], env=py_env(), cwd=HERE.parent)
    try:
        procs.read_json_line(proc, START_TIMEOUT)  # ready
        return procs.read_json_line(proc, RUN_TIMEOUT)["result"]
    finally:
        procs.stop(proc)


#: What issue 13 allows page to page over tab to tab plus raw Hyperswarm (ms).
PAGE_ALLOWANCE_MS = 0.3


def page_budget(results: dict[str, Any]) -> dict[str, Any]:
    """Page-to-page RTT against tab-to-tab RTT + raw Hyperswarm RTT + 0.3 ms, all medians
    of this run (raw Hyperswarm: one write per message, as a round trip is)."""
    out: dict[str, Any] = {}
    for kind in ("small", "binary"):
        try:
            page = results["page"][kind]["rtt"]["median_ms"]
            tabs = results["tabs"][kind]["rtt"]["median_ms"]
            raw = results["node"][kind]["rtt"]["median_ms"]
        except (KeyError, TypeError):
            continue
        budget = tabs + raw + PAGE_ALLOWANCE_MS
        out[kind] = {
            "page_rtt_ms": page,
            "tabs_rtt_ms": tabs,
            "raw_rtt_ms": raw,
            "budget_ms": budget,
            "ratio": page / budget,
            "over_tabs_ms": page - tabs,
        }
    return out


def device_pair(children: procs.Children, mode: str, bootstrap: list[str], quick: bool) -> Any:
    room = f"bench-{mode}-{secrets.token_hex(4)}"
    base = [PY, "-m", "bench.device", mode]
    tail = ["--bootstrap", ",".join(bootstrap), "--room", room, *(["--quick"] if quick else [])]
    return run_pair(children, [*base, "echo", *tail], [*base, "measure", *tail], py_env())


MESH_NS = (4, 8, 32, 64)


def mesh4(
    children: procs.Children, bootstrap: list[str], n: int, sidecar_dir: str | None = None
) -> dict[str, Any]:
    """N presences over 4 devices (N/4 each), cold (fresh processes): time to full mesh."""
    room = f"bench-mesh4-{n}-{secrets.token_hex(4)}"
    cmd = [PY, "-m", "bench.device", "core", "mesh", "--bootstrap", ",".join(bootstrap), "--room", room]
    cmd += ["--presences", str(n // 4), "--total", str(n)]
    if sidecar_dir:
        cmd += ["--sidecar-dir", sidecar_dir]
    devices = [children.start(cmd, env=py_env(), cwd=HERE.parent) for _ in range(4)]
    try:
        for d in devices:
            procs.read_json_line(d, START_TIMEOUT)
        for d in devices:
            procs.send_json(d, "go")
        results = [procs.read_json_line(d, RUN_TIMEOUT)["result"] for d in devices]
    finally:
        for d in devices:
            procs.stop(d)
    start = min(r["t0_wall"] for r in results)
    return {"mesh_ms": (max(r["done_wall"] for r in results) - start) * 1000, "devices": results}


def run(quick: bool, only: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with procs.Children() as children:
        bootstrap = start_testnet(children)
        results["bootstrap"] = bootstrap
        if "node" in only:
            results["node"] = node_pair(children, bootstrap, quick)
            results["node_batched"] = node_pair(children, bootstrap, quick, batched=True)
            print("devices: node baseline done", file=sys.stderr)
        if "core" in only:
            results["core"] = device_pair(children, "core", bootstrap, quick)
            print("devices: core to core done", file=sys.stderr)
        if "tabs" in only:
            results["tabs"] = tabs_pair(children, bootstrap, quick)
            print("devices: tab to tab (same engine) done", file=sys.stderr)
        if "page" in only:
            results["page"] = device_pair(children, "page", bootstrap, quick)
            print("devices: page to page done", file=sys.stderr)
        if {"node", "tabs", "page"} <= only:
            results["page_budget"] = page_budget(results)
        if "mesh4" in only:
            results["mesh4"] = {}
            for n in MESH_NS:
                reps = [mesh4(children, bootstrap, n) for _ in range(1 if quick else 3)]
                results["mesh4"][str(n)] = {
                    "mesh_ms": stats.median([r["mesh_ms"] for r in reps]),
                    "reps": reps,
                }
                print(f"devices: mesh over 4 devices N={n} done", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="node,core,tabs,page,mesh4")
    parser.add_argument("--out")
    args = parser.parse_args()
    results = run(args.quick, set(args.only.split(",")))
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
