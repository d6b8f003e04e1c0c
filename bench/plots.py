"""PNG plots of one run (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter

ONE_BROWSER = (
    ("floor", "QWebChannel echo (floor)"),
    ("peersocket", "PeerSocket tab to tab"),
    ("rtc", "RTCDataChannel"),
)
DEVICES = (
    ("node", "raw Hyperswarm (Node)"),
    ("node_batched", "raw Hyperswarm, batched"),
    ("core", "core to core"),
    ("page", "page to page"),
)


def _rows(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    rows = []
    t2t = results.get("tab_to_tab", {}).get("transports", {})
    for key, label in ONE_BROWSER:
        if key in t2t:
            rows.append(("one browser", label, t2t[key]))
    dev = results.get("devices", {})
    for key, label in DEVICES:
        if key in dev:
            rows.append(("across devices", label, dev[key]))
    return rows


def _bars(
    ax: Any, labels: list[str], values: list[float], errs: list[float] | None, title: str, unit: str
) -> None:
    ys = range(len(labels))
    baseline = ("floor", "RTCDataChannel", "raw Hyperswarm")
    colors = ["#999999" if any(b in lb for b in baseline) else "#4c72b0" for lb in labels]
    ax.barh(list(ys), values, color=colors)
    if errs is not None:
        ax.scatter(errs, list(ys), marker="|", color="black", s=200, zorder=3)
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit, fontsize=8)
    for y, v in zip(ys, values, strict=True):
        if v == v:
            ax.text(v, y, f" {v:.3g}", va="center", fontsize=7)


def latency_throughput(results: dict[str, Any], out: Path) -> Path | None:
    rows = _rows(results)
    if not rows:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    for col, kind in enumerate(("small", "binary")):
        labels = [f"{g}: {lb}" for g, lb, d in rows if kind in d]
        data = [d[kind] for _, _, d in rows if kind in d]
        med = [d["rtt"]["median_ms"] for d in data]
        p99 = [d["rtt"]["p99_ms"] for d in data]
        _bars(
            axes[0][col], labels, med, p99, f"round trip, {kind} message: median (bar), p99 (|)", "ms (log)"
        )
        if kind == "small":
            rate = [d["msgs_per_s"] or float("nan") for d in data]
            _bars(axes[1][col], labels, rate, None, "throughput, small messages", "messages / s (log)")
        else:
            rate = [d.get("mb_per_s") or float("nan") for d in data]
            _bars(axes[1][col], labels, rate, None, "throughput, 64 KiB binary", "MB / s (log)")
    fig.suptitle(f"Peerbrowser benchmarks, run {results.get('run_id', '')}", fontsize=11)
    fig.tight_layout()
    path = out.with_name(out.stem + "-latency-throughput.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scale(results: dict[str, Any], out: Path) -> Path | None:
    sc = results.get("scale", {})
    mesh4 = results.get("devices", {}).get("mesh4", {})
    if not sc and not mesh4:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    series = [
        ("one device, core (presences)", sc.get("core", {})),
        ("one device, pages (tabs join one by one)", sc.get("page", {}).get("mesh", {})),
        ("4 devices, core (cold: DHT discovery)", mesh4),
    ]
    for label, data in series:
        ns = sorted(int(n) for n in data)
        ys = [data[str(n)].get("mesh_ms", float("nan")) for n in ns]
        if ns:
            a1.plot(ns, ys, marker="o", label=label)
    a1.axhline(2000, color="red", linestyle="--", linewidth=1, label="target: 64 in < 2 s")
    a1.set_xscale("log", base=2)
    a1.set_yscale("log")
    a1.set_xlabel("presences N")
    a1.set_ylabel("joinSwarm → full mesh (ms, log)")
    a1.set_title("time to a full mesh", fontsize=10)
    a1.legend(fontsize=7)
    for label, data in (
        ("core", sc.get("core", {})),
        ("pages (echo back)", sc.get("page", {}).get("mesh", {})),
    ):
        ns = sorted(int(n) for n in data)
        ys = [data[str(n)].get("fanout_ms", float("nan")) for n in ns]
        if ns:
            a2.plot(ns, ys, marker="o", label=label)
    a2.set_xscale("log", base=2)
    a2.set_yscale("log")
    a2.set_xlabel("presences N")
    a2.set_ylabel("one message to N-1 peers (ms, log)")
    a2.set_title("fan-out, one device", fontsize=10)
    a2.legend(fontsize=7)
    fig.tight_layout()
    path = out.with_name(out.stem + "-scale.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def targets(results: dict[str, Any], out: Path) -> Path | None:
    rows = [t for t in results.get("targets", []) if not math.isnan(t["value"])]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(13, 0.4 * len(rows) + 1.2))
    ys = list(range(len(rows)))
    # how far from the target: >= 1 means met, whichever direction the target goes
    score = [t["value"] / t["limit"] if t["higher_is_better"] else t["limit"] / t["value"] for t in rows]
    colors = ["#55a868" if t["met"] else "#c44e52" for t in rows]
    ax.barh(ys, score, color=colors)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(ys, [t["text"] for t in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    for y, t, s in zip(ys, rows, score, strict=True):
        ax.text(s, y, f" {t['value']:.4g} (limit {t['limit']:g})", va="center", fontsize=7)
    ax.set_xlabel("margin to target (≥ 1: met; log)")
    ax.set_title("targets, as ratios measured in this run", fontsize=10)
    fig.tight_layout()
    fig.subplots_adjust(left=0.36)
    path = out.with_name(out.stem + "-targets.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


FLOOD_COLORS = {"read": "#c44e52", "slow": "#dd8452", "stalled": "#8172b2"}
FLOOD_LABELS = {
    "read": "flood, reader reads",
    "slow": "flood, reader reads slowly",
    "stalled": "flood, reader never reads",
}
MiB = 1024 * 1024


def _cdf(ax: Any, samples: list[float], label: str, color: str, style: str = "-") -> None:
    if not samples:
        return
    xs = sorted(samples)
    ys = [(i + 1) / len(xs) for i in range(len(xs))]
    ax.step(xs, ys, where="post", label=label, color=color, linewidth=1.2, linestyle=style)


ROLE_COLORS = (
    ("browser", "browser process (Python, Qt, the core)", "#4c72b0"),
    ("writer", "writer page", "#c44e52"),
    ("reader", "reader page", "#55a868"),
    ("pinger", "pinger page", "#937860"),
    ("echo", "echo page", "#da8bc3"),
)


def flood(results: dict[str, Any], out: Path) -> Path | None:
    """The long flood: memory over time (tree, per process, JS heap per page), the pings'
    round trips over time, and their distribution per phase."""
    fl = results.get("flood", {})
    if "floods" not in fl:
        return None
    samples = fl["memory_samples"]
    roles = fl["process_roles"]
    fig, (a_tree, a_proc, a_lat, a_cdf) = plt.subplots(
        4, 1, figsize=(13, 16), gridspec_kw={"height_ratios": [1, 1.2, 1, 1.1]}
    )
    ts = [s["t"] for s in samples]
    a_tree.plot(
        ts, [s["rss"] / MiB for s in samples], color="black", label="RSS (shared pages counted in each)"
    )
    a_tree.plot(ts, [s["pss"] / MiB for s in samples], color="black", linestyle="--", label="PSS")
    from bench.flood import GROUPS

    for (name, members), color in zip(GROUPS.items(), ("#c44e52", "#937860"), strict=True):
        pids = [pid for pid, r in roles.items() if r in members]
        ys = [sum(s["rss_by_pid"].get(pid, 0) for pid in pids) / MiB for s in samples]
        who = ", ".join(m.split(":")[-1] for m in members)
        a_tree.plot(ts, ys, color=color, linewidth=1, label=f"RSS, {name} ({who})")
    a_tree.set_ylabel("MiB")
    a_tree.set_ylim(0, a_tree.get_ylim()[1] * 1.15)
    a_tree.set_title("memory of the browser's whole process tree (sampled every 0.5 s)", fontsize=10)
    a_tree.legend(fontsize=7, loc="upper left")
    heaps = fl.get("heap_samples", [])
    for key, label, color in ROLE_COLORS:
        role = key if key == "browser" else "renderer:" + key
        pids = [pid for pid, r in roles.items() if r == role]
        if pids:
            ys = [sum(s["rss_by_pid"].get(pid, 0) for pid in pids) / MiB for s in samples]
            a_proc.plot(ts, ys, color=color, linewidth=1.2, label=f"RSS, {label}")
        if key != "browser" and heaps:
            hs = [(h["t"], h[key] / MiB) for h in heaps if h.get(key) is not None]
            a_proc.plot(
                [t for t, _ in hs],
                [y for _, y in hs],
                color=color,
                linewidth=0.9,
                linestyle=":",
                label=f"JS heap, {label}",
            )
    a_proc.set_ylabel("MiB")
    a_proc.set_ylim(0, a_proc.get_ylim()[1] * 1.35)  # room for the legend above the lines
    a_proc.set_title("per process: RSS (solid); each page's JS heap in use (dotted)", fontsize=10)
    a_proc.legend(fontsize=7, ncol=3, loc="upper left")
    for ax in (a_tree, a_proc, a_lat):
        for mode, f in fl["floods"].items():
            ax.axvspan(f["start_s"], f["end_s"], color=FLOOD_COLORS.get(mode, "#cccccc"), alpha=0.12)
            if ax is a_tree:
                ax.text(
                    f["start_s"],
                    0.02,
                    " " + FLOOD_LABELS.get(mode, mode),
                    fontsize=7,
                    transform=ax.get_xaxis_transform(),
                    va="bottom",
                )
    phases = [(ph["name"], ph, "#999999") for ph in fl["baseline"]["phases"]]
    phases += [(FLOOD_LABELS.get(m, m), f, FLOOD_COLORS.get(m, "#333333")) for m, f in fl["floods"].items()]
    for name, ph, color in phases:
        legend = "no flood" if "before" in name else None if "after" in name else name
        a_lat.scatter(ph["sent_at_s"]["echo"], ph["samples"]["echo"], s=2, color=color, label=legend)
        a_lat.scatter(
            ph["sent_at_s"]["writer_socket"],
            ph["samples"]["writer_socket"],
            s=4,
            color=color,
            marker="x",
            linewidths=0.5,
        )
    a_lat.set_yscale("log")
    a_lat.set_ylabel("round trip (ms, log)")
    a_lat.set_title("pings: to a page outside the flood (dots), to the writer page (x)", fontsize=10)
    a_lat.legend(fontsize=7, markerscale=4, loc="upper right")
    for ax in (a_proc, a_lat):
        ax.set_xlim(a_tree.get_xlim())
    a_lat.set_xlabel("seconds into the run")
    base = fl["baseline"]
    for key, style, what in (
        ("echo", "-", "to a page outside the flood"),
        ("writer_socket", ":", "to the writer"),
    ):
        _cdf(
            a_cdf,
            [x for ph in base["phases"] for x in ph["samples"][key]],
            f"no flood, {what}",
            "#555555",
            style,
        )
        for mode, f in fl["floods"].items():
            _cdf(
                a_cdf,
                f["samples"][key],
                f"{FLOOD_LABELS.get(mode, mode)}, {what}",
                FLOOD_COLORS.get(mode, "#333333"),
                style,
            )
    a_cdf.set_xscale("log")
    a_cdf.xaxis.set_minor_formatter(NullFormatter())
    a_cdf.set_xlabel("round trip of a small ping (ms, log)")
    a_cdf.set_ylabel("fraction of pings")
    a_cdf.axhline(0.5, color="#bbbbbb", linewidth=0.8)
    a_cdf.axhline(0.99, color="#bbbbbb", linewidth=0.8)
    a_cdf.set_title("distribution of the round trips (grey lines: median, p99)", fontsize=10)
    a_cdf.legend(fontsize=7, loc="lower right", ncol=2)
    plan = fl.get("plan", {})
    fig.suptitle(
        f"long flood, run {results.get('run_id', '')}: {plan.get('flood_s', 0):g} s per flood, "
        f"{plan.get('kind', '')} messages, the writer keeps up to "
        f"{plan.get('high_water', 0) / MiB:g} MiB buffered",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    path = out.with_name(out.stem + "-flood.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def all_plots(results: dict[str, Any], out: Path) -> list[Path]:
    made = [latency_throughput(results, out), scale(results, out), targets(results, out), flood(results, out)]
    return [p for p in made if p is not None]
