"""Summaries of samples, and what machine and versions a run was on."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank on sorted samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def latency(samples_ms: Sequence[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(samples_ms) if samples_ms else float("nan"),
        "p99_ms": percentile(samples_ms, 99),
        "min_ms": min(samples_ms) if samples_ms else float("nan"),
        "n": len(samples_ms),
    }


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if v == v]
    return statistics.median(clean) if clean else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b and a == a and b == b else float("nan")


def _version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else None


def _git() -> dict[str, Any]:
    """The commit measured, and which files of the working tree differed from it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    head = _version(["git", "-C", root, "rev-parse", "HEAD"])
    try:
        out = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return {"commit": head, "modified": [line[3:] for line in out.splitlines()]}


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "node": _version(["node", "--version"]),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    try:
        from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

        info["pyqt"] = PYQT_VERSION_STR
        info["qt"] = QT_VERSION_STR
    except ImportError:
        pass
    info["git"] = _git()
    try:
        import json
        from pathlib import Path

        lock = Path(__file__).resolve().parent.parent / "swarm" / "sidecar" / "package.json"
        info["sidecar_dependencies"] = json.loads(lock.read_text())["dependencies"]
    except (OSError, ValueError, KeyError):
        pass
    return info
