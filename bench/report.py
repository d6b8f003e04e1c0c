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


FLOOD_LABELS = {
    "read": "reader reads as messages arrive",
    "slow": "reader reads slowly",
    "stalled": "reader never reads",
}


def flood_report(fl: dict[str, Any]) -> str:
    """The long flood: memory per flood, and ping latency with and without a flood."""
    mib = 1024 * 1024
    p = fl.get("plan", {})
    floods = fl.get("floods", {})
    parts = [
        f"{_f(p.get('flood_s'))} s per flood, {p.get('kind')} messages, the writer keeps up "
        f"to {_f(p.get('high_water', 0) / mib)} MiB in `bufferedAmount`; slow reader: "
        f"{p.get('slow_reads_per_s')} reads/s; pings every {p.get('ping_period_ms')} ms.\n",
        "| flood | msgs/s delivered | MB/s | writer's `bufferedAmount` at stop (MiB) "
        "| browser process CPU (cores) | RSS, whole tree: start \u2192 peak \u2192 end (MiB) "
        "| growth, first to last 10 % (MiB) | slope after the first 10 % (MiB/min) "
        "| PSS, whole tree: start \u2192 end (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def spe(r: dict[str, Any]) -> str:
        if not r:
            return DASH
        return " \u2192 ".join(_f(r[k] / mib) for k in ("start_bytes", "peak_bytes", "end_bytes"))

    for mode, f in floods.items():
        r, ps = f["rss"], f["pss"]
        cpu = f.get("by_role", {}).get("browser", {}).get("cpu_share")
        parts.append(
            f"| {FLOOD_LABELS.get(mode, mode)} | {_f(f['msgs_per_s'])} | {_f(f.get('mb_per_s'))} | "
            f"{_f(f['buffered_at_stop'] / mib)} | {_f(cpu)} | {spe(r)} | {_f(r['growth_bytes'] / mib)} | "
            f"{_f(r['slope_after_first_tenth_bytes_per_min'] / mib)} | "
            f"{_f(ps['start_bytes'] / mib)} \u2192 {_f(ps['end_bytes'] / mib)} |"
        )
    from bench.flood import GROUPS, by_group  # computed from the raw samples, for older runs too

    samples, proc_roles = fl.get("memory_samples", []), fl.get("process_roles", {})
    parts.append(
        "\nRSS by group, MiB: start \u2192 peak \u2192 end; growth from the first to the last 10 %; "
        "slope after the first 10 % (MiB/min)\n"
    )
    parts.append(
        "| | "
        + " | ".join(f"{g} ({', '.join(m.split(':')[-1] for m in members)})" for g, members in GROUPS.items())
        + " |"
    )
    parts.append("|---" * (len(GROUPS) + 1) + "|")
    spans = [(FLOOD_LABELS.get(m, m), f["start_s"], f["end_s"]) for m, f in floods.items()]
    if "whole_run" in fl:
        spans.append(("whole run", fl["whole_run"]["start_s"], fl["whole_run"]["end_s"]))
    for label, start, end in spans:
        groups = by_group(samples, proc_roles, start, end)
        cells = [
            f"{spe(g)}; {_f(g['growth_bytes'] / mib)}; {_f(g['slope_after_first_tenth_bytes_per_min'] / mib)}"
            if g
            else DASH
            for g in groups.values()
        ]
        parts.append(f"| {label} | {' | '.join(cells)} |")
    roles = (
        ("browser", "browser process"),
        ("renderer:writer", "writer page"),
        ("renderer:reader", "reader page"),
        ("renderer:pinger", "pinger page"),
        ("renderer:echo", "echo page"),
    )
    parts.append(
        "\nRSS per process, MiB: start \u2192 peak \u2192 end of each flood (and of the whole run)\n"
    )
    parts.append("| | " + " | ".join(label for _, label in roles) + " |")
    parts.append("|---" * (len(roles) + 1) + "|")
    rows = [(FLOOD_LABELS.get(m, m), f) for m, f in floods.items()]
    if "whole_run" in fl:
        rows.append(("whole run", fl["whole_run"]))
    for label, d in rows:
        cells = []
        for role, _ in roles:
            cells.append(spe(d.get("by_role", {}).get(role, {}).get("rss", {})))
        parts.append(f"| {label} | {' | '.join(cells)} |")
    heaps = fl.get("end", {}).get("js_heap", {})
    if heaps:
        parts.append(
            "\nJS heap in use at the end, before \u2192 after a forced full GC (MiB): "
            + "; ".join(
                f"{role} {_f(h['before_gc_bytes'] / mib)} \u2192 {_f(h['after_gc_bytes'] / mib)}"
                for role, h in heaps.items()
            )
            + "."
        )
    base = fl.get("baseline", {})
    parts.append(
        "\n| round trip of a small ping | to a page outside the flood: median ms | p99 ms "
        "| \u00d7 baseline (median, p99) | to the writer page: median ms | p99 ms "
        "| \u00d7 baseline (median, p99) |"
    )
    parts.append("|---|---|---|---|---|---|---|")
    lat_rows: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        ("no flood (baseline, before and after)", base, None)
    ]
    lat_rows += [(FLOOD_LABELS.get(m, m), f, f) for m, f in floods.items()]
    for label, d, f in lat_rows:
        cells = []
        for key in ("echo", "writer_socket"):
            lat = d[key]
            vs = f[key + "_vs_baseline"] if f else {"median": 1.0, "p99": 1.0}
            cells.append(
                f"{_f(lat['median_ms'])} | {_f(lat['p99_ms'])} | {_f(vs['median'])}, {_f(vs['p99'])}"
            )
        parts.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(parts)


def linkup_report(lu: dict[str, Any]) -> str:
    """The link-up benchmark's series as a table (a failed trial ran into the guard)."""
    if "skipped" in lu:
        return f"skipped: {lu['skipped']}"
    guard = lu.get("link_guard_s", float("nan"))
    rows = [
        "| series | network | trials | linked | p50 (s) | p95 (s) | max (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {
        "before": f"before ({str(lu.get('before_commit', ''))[:7]}: hyperdht 6.32.0, no probe)",
        "after_bootstrap": "after, testnet",
        "after_lan": "after, --network lan",
    }
    for key, label in labels.items():
        s = lu.get(key)
        if not s:
            continue
        if "skipped" in s:
            rows.append(f"| {label} | | | skipped: {s['skipped']} | | | |")
            continue

        def cell(v: Any) -> str:
            return _f(v) if v is not None else f"> {guard:g}"

        linked = s["trials"] - s["failed"]
        rows.append(
            f"| {label} | {s['network']} | {s['trials']} | {linked} | "
            f"{cell(s['p50'])} | {cell(s['p95'])} | {cell(s['max'])} |"
        )
    return "\n".join(rows)


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
                ("tab to tab, one browser on the same testnet", d.get("tabs")),
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
    if "transports" in results.get("idioms", {}):
        parts.append("\n### Every idiom, tab to tab\n")
        parts.append(idioms_report(results["idioms"]))
    if "transports" in results.get("isolation", {}):
        parts.append("\n### Isolation: a quiet pair beside a misbehaving neighbour\n")
        parts.append(isolation_report(results["isolation"]))
    if "floods" in results.get("flood", {}):
        parts.append("\n### Long flood\n")
        parts.append(flood_report(results["flood"]))
    if "attacks" in results.get("hostile", {}):
        parts.append("\n### A hostile device\n")
        parts.append(hostile_report(results["hostile"]))
    if "lan_linkup" in results and "error" not in results["lan_linkup"]:
        parts.append("\n### Link-up on a LAN, both devices firewalled at start\n")
        parts.append(linkup_report(results["lan_linkup"]))
    parts.append("\n### Targets\n")
    parts.append("| target | measured | limit | | figures |\n|---|---|---|---|---|")
    for tg in results.get("targets", []):
        mark = {True: "met", False: "**missed**", None: "n/a"}[tg["met"]]
        parts.append(
            f"| {tg['text']} | {_f(tg['value'])} | "
            f"{'≥' if tg['higher_is_better'] else '≤'} {tg['limit']:g} | {mark} | {tg.get('detail', '')} |"
        )
    return "\n".join(parts)


HOSTILE_LABELS = {
    "none": "none (the control: the attacker linked and idle)",
    "join-fresh": "JOIN/LEAVE, fresh presences",
    "join-one": "JOIN/LEAVE of one presence",
    "session": "SESSION updates (16 KiB)",
    "message-read": "64 KiB MESSAGEs, CREDIT ignored, page reads",
    "message-stalled": "64 KiB MESSAGEs to a page that never reads",
}


def hostile_report(hostile: dict[str, Any]) -> str:
    """Two tables of ``bench.hostile``'s result: latency and events, then memory."""
    out = [
        "| attack | sent | quiet pair RTT median / p99 ms (quiet) | \u00d7 quiet (median, p99) "
        "| events/s per page (max) | slowest probe s (quiet) | responsive | drained after s "
        "| attacker's link |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    mem = [
        "| attack | tree MiB: before \u2192 peak (+growth) \u2192 after | quiet growth (same browser, 10 s) "
        "| the control's growth, same time | browser + | renderers + | other Chromium + "
        "| sidecar: before \u2192 peak \u2192 after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in hostile.get("attacks", {}).items():
        label = HOSTILE_LABELS.get(name, name)
        if "error" in r:
            out.append(f"| {label} | failed: {r['error']} |||||||")
            continue
        a = r["attacker"]
        sent = ", ".join(
            f"{k} {_f(v)}" for k, v in a.items() if k in ("cycles", "pairs", "updates", "messages")
        )
        if "bytes" in a:
            sent += f" ({a['bytes'] / 2**20:,.0f} MiB)"
        rtt = r["rtt"]
        q, d = rtt["quiet"], rtt["attack"]
        probes = r["probes"]
        slow = max(p["attack_and_after_max_s"] for p in probes.values())
        slow_quiet = max(p["quiet_max_s"] for p in probes.values())
        link = (
            "cut: " + a["goodbye"]["code"]
            if a.get("goodbye")
            else ("closed" if a.get("linkClosed") else "open")
        )
        out.append(
            f"| {label} | {sent} | {_f(d['median_ms'])} / {_f(d['p99_ms'])} "
            f"({_f(q['median_ms'])} / {_f(q['p99_ms'])}) "
            f"| {_f(rtt['median_ratio'])}, {_f(rtt['p99_ratio'])} | {r['events_max_per_s']:,} "
            f"| {_f(slow)} ({_f(slow_quiet)}) | {'yes' if r['responsive'] else 'no'} "
            f"| {_f(r['drain_s'])}{'' if r['drained'] else ' (still going)'} | {link} |"
        )
        m = r["memory"]
        t, sc = m["tree"], m["sidecar"]
        mem.append(
            f"| {label} | {t['before_attack_mib']:,.0f} \u2192 {t['peak_mib']:,.0f} "
            f"(+{t['peak_growth_mib']:,.0f}) "
            f"\u2192 {t['after_mib']:,.0f} ({t['after_growth_mib']:+,.0f}) | {t['quiet_growth_mib']:+,.0f} "
            f"| {_f(t.get('control_growth_mib'))} "
            f"| {m['browser']['peak_growth_mib']:+,.0f} | {m['renderers']['peak_growth_mib']:+,.0f} "
            f"| {m['chromium']['peak_growth_mib']:+,.0f} "
            f"| {sc['before_attack_mib']:,.0f} \u2192 {sc['peak_mib']:,.0f} \u2192 {sc['after_mib']:,.0f} |"
        )
    return "\n".join(out) + "\n\n" + "\n".join(mem) + "\n\n" + hostile_processes(hostile)


def hostile_processes(hostile: dict[str, Any]) -> str:
    """Per flood, each process of the browser's tree (MiB RSS: before the flood → peak
    → after, and after a forced GC in every tab) and each tab's JS heap (used MiB:
    before → peak → end → after the GC)."""
    out = [
        "| attack | process: RSS MiB before → peak → after (after the tabs' GC) "
        "| tab: JS heap used MiB before → peak → end (after GC) |",
        "|---|---|---|",
    ]
    for name, r in hostile.get("attacks", {}).items():
        procs = r.get("memory", {}).get("processes")
        if not procs:
            continue
        cells = []
        for label, m in sorted(procs.items()):
            if m["kind"] == "chromium" and abs(m["peak_growth_mib"]) < 1 and abs(m["after_growth_mib"]) < 1:
                continue  # Chromium's helpers that the flood does not touch
            cells.append(
                f"{label} {m['before_attack_mib']:,.0f} → {m['peak_mib']:,.0f} → "
                f"{m['after_mib']:,.0f} ({_f(m.get('after_gc_mib'))})"
            )
        tabs = r.get("heap", {}).get("tabs", {})
        end = r.get("heap", {}).get("end", {})
        heaps = [
            f"{role} {_f(h['before_used_mib'])} → {_f(h['peak_used_mib'])} → "
            f"{_f(h['end_used_mib'])} ({_f(end.get(role, {}).get('used_after_gc_mib'))})"
            for role, h in sorted(tabs.items())
        ]
        out.append(f"| {HOSTILE_LABELS.get(name, name)} | {'; '.join(cells)} | {'; '.join(heaps)} |")
    return "\n".join(out)


IDIOM_LABELS = {
    "await-for-await": "`await write()`, `for await` on `readable`",
    "reader-read": "`await write()`, `reader.read()`",
    "events": "`message` events, `bufferedamountlow`",
}


def idioms_report(idioms: dict[str, Any]) -> str:
    """``bench.idioms``: each idiom against RTCDataChannel (same run) and the fastest idiom."""
    t = idioms.get("transports", {})
    rtc = t.get("rtc:events", {})
    ps = {k.split(":", 1)[1]: v for k, v in t.items() if k.startswith("peersocket:")}
    best_rtt = min((v["rtt_median_ms"] for v in ps.values()), default=float("nan"))
    best_rate = max((v["msgs_per_s"] for v in ps.values()), default=float("nan"))
    out = [
        "| idiom (tab to tab, `--headless` tabs) | RTT median ms | RTT p99 ms | msgs/s "
        "| RTT \u00d7 RTC | msgs/s \u00d7 RTC | RTT \u00d7 fastest | fastest msgs/s \u00d7 "
        "| channel msgs / msg (RTT, flood) | ping tab |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [(IDIOM_LABELS.get(n, n), v) for n, v in ps.items()]
    if rtc:
        rows.append(("RTCDataChannel (`message` events, `bufferedamountlow`)", rtc))
    for label, v in rows:
        vis = sorted({x for x in v.get("visibility", []) if x})
        out.append(
            f"| {label} | {_f(v['rtt_median_ms'])} | {_f(v['rtt_p99_ms'])} | {_f(v['msgs_per_s'])} "
            f"| {_f(stats.ratio(v['rtt_median_ms'], rtc.get('rtt_median_ms', float('nan'))))} "
            f"| {_f(stats.ratio(v['msgs_per_s'], rtc.get('msgs_per_s', float('nan'))))} "
            f"| {_f(stats.ratio(v['rtt_median_ms'], best_rtt))} "
            f"| {_f(stats.ratio(best_rate, v['msgs_per_s']))} "
            f"| {_f(v.get('channel_per_msg_rtt'), 4)}, {_f(v.get('channel_per_msg_flood'), 4)} "
            f"| {', '.join(vis) or DASH} |"
        )
    return "\n".join(out)


ISOLATION_LABELS = {
    "flood": "the neighbour pair floods",
    "spam": "a page spams the bridge's `send`",
    "join": "a remote device floods JOIN/LEAVE",
    "flood-apart": "the neighbour pair floods, its renderers on a CPU of their own (vs quiet, pinned alike)",
}


def isolation_report(iso: dict[str, Any]) -> str:
    """``bench.isolation``: the quiet pair's slow-down per scenario and transport."""
    from bench.isolation import BASELINE  # a scenario's own quiet phase

    out = [
        "| scenario | transport | quiet pair RTT median / p99 ms (quiet) | \u00d7 quiet (median, p99) "
        "| round trips/s (quiet) | slowest RTT ms (in the drain) | longest drain s "
        "| slowest probe s (tab) | main loop lag ms (p99, max) | browser RSS growth MiB (most) | usable |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"peersocket": "PeerSocket", "rtc": "RTCDataChannel"}
    for scenario in iso.get("plan", {}).get("scenarios", []):
        for t, res in iso.get("transports", {}).items():
            q, r = res.get(BASELINE.get(scenario, "quiet")), res.get(scenario)
            if not q or not r:
                continue
            drain = r["drain"]
            lag = r["loop_lag_ms"]
            out.append(
                f"| {ISOLATION_LABELS.get(scenario, scenario)} | {names.get(t, t)} "
                f"| {_f(r['median_ms'])} / {_f(r['p99_ms'])} ({_f(q['median_ms'])} / {_f(q['p99_ms'])}) "
                f"| {_f(r['median_x'])}, {_f(r['p99_x'])} "
                f"| {_f(r['round_trips_per_s'])} ({_f(q['round_trips_per_s'])}) "
                f"| {_f(r['max_ms'])} ({_f(drain['max_ms'])}) "
                f"| {_f(max(drain['seconds'], default=float('nan')))}"
                f"{'' if drain['finished'] else ' (cut short)'} "
                f"| {_f(r['probe_max_s'])} ({r['probe_slowest_tab']}) | {_f(lag['p99'])}, {_f(lag['max'])} "
                f"| {_f(r['rss_growth_mib']['browser_mib'])} | {'yes' if r['usable'] else '**no**'} |"
            )
    extra = []
    if "spam" in iso:
        sp = iso["spam"]
        extra.append(
            f"Spammer: {_f(stats.median(sp['calls']))} calls in {_f(iso['plan'].get('spam_s'))} s "
            f"({_f(stats.median(sp['calls_per_s']))} calls/s, median of {len(sp['calls'])}); the browser "
            f"answered the last one {_f(stats.median(sp['answered_after_ms']) / 1000)} s after the spam "
            "stopped (median)."
        )
    if "attacks" in iso:
        a = iso["attacks"]
        counts = [x.get("pairs", x.get("cycles", 0)) for x in a]
        extra.append(
            f"Attacker ({iso['plan'].get('attack')}): {_f(stats.median(counts))} JOIN/LEAVE pairs in "
            f"{_f(iso['plan']['phase_s'])} s (median of {len(a)}); its link cut: "
            f"{'yes' if any(x.get('linkClosed') for x in a) else 'no'}."
        )
    vis = {t: ", ".join(r.get("visibility") or []) for t, r in iso.get("transports", {}).items()}
    extra.append(
        "The pingers' tabs were: " + "; ".join(f"{names.get(t, t)} {v}" for t, v in vis.items()) + "."
    )
    return "\n".join(out) + "\n\n" + "\n".join(extra)


def main() -> int:
    results = json.loads(Path(sys.argv[1]).read_text())
    if "floods" in results:  # the output of `python -m bench.flood` alone
        results = {"flood": results}
    if "attacks" in results and "probe_bound_s" not in results:  # `python -m bench.hostile` alone
        results = {"hostile": results}
    elif "probe_bound_s" in results:  # `python -m bench.isolation` alone
        results = {"isolation": results}
    elif "rtc:events" in results.get("transports", {}) or "peersocket:events" in results.get(
        "transports", {}
    ):  # `python -m bench.idioms` alone
        results = {"idioms": results}
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
