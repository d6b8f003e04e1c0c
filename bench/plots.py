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


def latency_throughput(results: dict[str, Any], out: Path) -> Path:
    rows = _rows(results)
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
        ax.text(s, y, f" {t['value']:.3g} (limit {t['limit']:g})", va="center", fontsize=7)
    ax.set_xlabel("margin to target (≥ 1: met; log)")
    ax.set_title("targets of issue 5, as ratios measured in this run", fontsize=10)
    fig.tight_layout()
    fig.subplots_adjust(left=0.36)
    path = out.with_name(out.stem + "-targets.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def all_plots(results: dict[str, Any], out: Path) -> list[Path]:
    made = [latency_throughput(results, out), scale(results, out), targets(results, out)]
    return [p for p in made if p is not None]
