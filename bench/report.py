"""Markdown tables of one run's JSON, for docs/PERFORMANCE.md.

python -m bench.report bench/results/<run id>.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from bench import stats

DASH = "\u2013"


def _f(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "\u2013"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def transport_table(
    rows: list[tuple[str, dict[str, Any] | None]], base: dict[str, Any] | None, base_name: str
) -> str:
    out = [
        "| | RTT median ms | RTT p99 ms | msgs/s | MB/s | CPU s / 1000 msgs "
        f"| RTT \u00d7 {base_name} | msgs/s \u00d7 {base_name} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, d in rows:
        if not d:
            continue
        for kind in ("small", "binary"):
            k = d.get(kind)
            if not k:
                continue
            b = (base or {}).get(kind, {})
            rtt = k["rtt"]["median_ms"]
            cpu = k.get("cpu_s_per_1000") or k.get("cpu_s_per_1000_this_device")
            out.append(
                f"| {label}, {kind} | {_f(rtt)} | {_f(k['rtt']['p99_ms'])} | {_f(k['msgs_per_s'])} | "
                f"{_f(k.get('mb_per_s'))} | {_f(cpu)} | "
                f"{_f(stats.ratio(rtt, b.get('rtt', {}).get('median_ms', float('nan'))))} | "
                f"{_f(stats.ratio(k['msgs_per_s'], b.get('msgs_per_s', float('nan'))))} |"
            )
    return "\n".join(out)


def report(results: dict[str, Any]) -> str:
    parts = []
    t = results.get("tab_to_tab", {}).get("transports", {})
    parts.append("### One browser, tab to tab\n")
    parts.append(
        transport_table(
            [
                ("QWebChannel echo (floor)", t.get("floor")),
                ("RTCDataChannel", t.get("rtc")),
                ("PeerSocket tab to tab", t.get("peersocket")),
            ],
            t.get("rtc"),
            "RTC",
        )
    )
    d = results.get("devices", {})
    parts.append("\n### Across devices (local testnet on 127.0.0.1)\n")
    parts.append(
        transport_table(
            [
                ("raw Hyperswarm (Node, one write per message)", d.get("node")),
                ("raw Hyperswarm (Node, writes coalesced per turn)", d.get("node_batched")),
                ("core to core (Python, no pages)", d.get("core")),
                ("page to page", d.get("page")),
            ],
            d.get("node"),
            "raw",
        )
    )
    sc = results.get("scale", {})
    parts.append("\n### Scale\n")
    parts.append(
        "| N | mesh, one device, core (ms) | fan-out, core (ms) | bytes / presence (core) | "
        "mesh, one device, tabs one by one (ms) | mesh, tabs at once (ms; complete reps) | "
        "fan-out, tabs (ms) | mesh, 4 devices, cold (ms; reps) |"
    )
    parts.append("|---|---|---|---|---|---|---|---|")
    ns = sorted(
        {
            int(n)
            for part in (sc.get("core", {}), sc.get("page", {}).get("mesh", {}), d.get("mesh4", {}))
            for n in part
        }
    )
    for n in ns:
        c = sc.get("core", {}).get(str(n), {})
        pm = sc.get("page", {}).get("mesh", {}).get(str(n), {})
        pc = sc.get("page", {}).get("mesh_concurrent", {}).get(str(n), {})
        m4 = d.get("mesh4", {}).get(str(n), {})
        m4reps = ", ".join(_f(r["mesh_ms"], 3) for r in m4.get("reps", []))
        conc = (
            f"{_f(pc.get('mesh_ms'))} ({pc.get('complete_reps', DASH)}/{len(pc.get('reps', []))})"
            if pc
            else "\u2013"
        )
        parts.append(
            f"| {n} | {_f(c.get('mesh_ms'))} | {_f(c.get('fanout_ms'))} | "
            f"{_f(c.get('bytes_per_presence'))} | "
            f"{_f(pm.get('mesh_ms'))} | {conc} | {_f(pm.get('fanout_ms'))} | "
            f"{_f(m4.get('mesh_ms'))} ({m4reps}) |"
        )
    mem = sc.get("page", {}).get("memory")
    if mem:
        mib = 1024 * 1024
        parts.append(
            f"\nMemory, whole browser process tree, per tab ({mem['tabs_each']} tabs each): blank tab "
            f"PSS {_f(mem['blank_tab_bytes']['pss'] / mib)} MiB "
            f"(RSS {_f(mem['blank_tab_bytes']['rss'] / mib)} MiB); "
            + (
                f"plain page (no PeerSocket) PSS {_f(mem['plain_page_bytes']['pss'] / mib)} MiB "
                f"(RSS {_f(mem['plain_page_bytes']['rss'] / mib)} MiB); "
                if "plain_page_bytes" in mem
                else ""
            )
            + f"PeerSocket tab (joined a swarm) PSS {_f(mem['peersocket_tab_bytes']['pss'] / mib)} MiB "
            f"(RSS {_f(mem['peersocket_tab_bytes']['rss'] / mib)} MiB)."
        )
    parts.append("\n### Targets\n")
    parts.append("| target | measured | limit | |\n|---|---|---|---|")
    for tg in results.get("targets", []):
        mark = {True: "met", False: "**missed**", None: "n/a"}[tg["met"]]
        parts.append(
            f"| {tg['text']} | {_f(tg['value'])} | "
            f"{'≥' if tg['higher_is_better'] else '≤'} {tg['limit']:g} | {mark} |"
        )
    return "\n".join(parts)


def main() -> int:
    results = json.loads(Path(sys.argv[1]).read_text())
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
