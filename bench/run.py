"""Run the benchmark suite (or part of it); write one JSON per run and PNG plots beside it.

    python -m bench.run [--quick] [--flood-seconds S] [NAME ...]
                                    NAME: tab_to_tab, idioms, isolation, devices, scale, flood,
                                    hostile, lan_linkup (hostile only when named: about 7 minutes)

Every benchmark runs in its own process (tab_to_tab, idioms and isolation inside a
network namespace of their own, for their WebRTC baseline); the runner collects
their numbers, machine info and versions, computes the ratios and the issues'
targets, and writes bench/results/<run id>.json and <run id>-*.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import plots, procs, report, stats, targets

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
NAMES = ("tab_to_tab", "idioms", "isolation", "devices", "scale", "flood", "hostile", "lan_linkup")
#: What a run with no names runs: hostile (bench/hostile.py) only when named.
DEFAULT = ("tab_to_tab", "idioms", "isolation", "devices", "scale", "flood", "lan_linkup")
#: Benchmarks with an RTCDataChannel baseline: run in a network namespace of their own.
WEBRTC = ("tab_to_tab", "idioms", "isolation")


def webrtc_prefix() -> tuple[list[str], str | None]:
    """The command prefix that runs a benchmark in its own network namespace, or why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return [], "unshare/ip missing (apt-get install util-linux iproute2)"
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    probe = subprocess.run([*unshare, "--", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return [], f"cannot create a network namespace: {probe.stderr.decode().strip()}"
    return [*unshare, "--", sys.executable, "-m", "bench.netns"], None


#: seconds one benchmark may run before it is stopped (a hang guard: each benchmark has
#: its own guards on every wait, this one stops a run that stalls anyway)
BENCH_GUARD = 3600.0


def run_guarded(name: str, cmd: list[str], env: dict[str, str]) -> tuple[int, str, bool]:
    """Run a benchmark; (exit status, stderr, whether the hang guard stopped it). Its
    progress lines (``NAME: ...``) are echoed as they come, so a long one shows that it
    moves. A stopped one gets SIGTERM first, so it can stop its own children and delete
    what it made."""
    proc = subprocess.Popen(cmd, cwd=HERE.parent, env=env, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(f"{name}: "):
                print(line, end="", file=sys.stderr)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    hung = False
    try:
        proc.wait(timeout=BENCH_GUARD)
    except subprocess.TimeoutExpired:
        hung = True
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)  # a grandchild may hold stderr open: then stop reading
    return proc.returncode, "".join(list(lines)), hung


def run_one(name: str, quick: bool, run_id: str, flood_seconds: float | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="peerbench-") as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, "-m", f"bench.{name}", "--out", str(out), *(["--quick"] if quick else [])]
        if name == "flood" and flood_seconds is not None:
            cmd += ["--duration", str(flood_seconds)]
        note = None
        if name in WEBRTC:
            prefix, note = webrtc_prefix()
            if prefix:
                cmd = [*prefix, *cmd, "--webrtc"]
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PEERBROWSER_LOOPBACK_ONLY": "1"}
        env["PYTHONPATH"] = procs.checkout_path(env)
        t0 = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr)
        returncode, stderr, hung = run_guarded(name, cmd, env)
        took = time.monotonic() - t0
        if returncode != 0 or not out.exists():
            log = RESULTS / f"{run_id}-{name}.log"
            log.write_text(stderr)
            why = f"hang guard: stopped after {BENCH_GUARD:.0f} s" if hung else f"exit {returncode}"
            print(f"bench: {name} failed ({why}); see {log}", file=sys.stderr)
            return {"error": why, "stderr_tail": stderr[-3000:], "seconds": took}
        result: dict[str, Any] = json.loads(out.read_text())
        result["seconds"] = took
        if note:
            result["webrtc_skipped"] = note
        print(f"bench: {name} done in {took:.0f} s", file=sys.stderr)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="any of " + ", ".join(NAMES) + " (default: all but hostile)"
    )
    parser.add_argument("--quick", action="store_true", help="a short run (fewer repetitions)")
    parser.add_argument(
        "--flood-seconds",
        type=float,
        metavar="S",
        help="length of each flood of the flood benchmark (default 60, with --quick 10)",
    )
    parser.add_argument("--replot", metavar="JSON", help="recompute targets and plots of an earlier run")
    args = parser.parse_args()
    if args.replot:
        path = Path(args.replot)
        old: dict[str, Any] = json.loads(path.read_text())
        return finish(old, path)
    for name in args.names:
        if name not in NAMES:
            parser.error(f"unknown benchmark {name!r} (one of {', '.join(NAMES)})")
    names = args.names or list(DEFAULT)
    RESULTS.mkdir(exist_ok=True)
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    results: dict[str, Any] = {"run_id": run_id, "quick": args.quick, "machine": stats.machine_info()}
    for name in names:
        results[name] = run_one(name, args.quick, run_id, args.flood_seconds)
    return finish(results, RESULTS / f"{run_id}.json")


def finish(results: dict[str, Any], out: Path) -> int:
    """Targets, JSON and plots of one run; prints where they went and the targets."""
    results["targets"] = [t.as_dict() for t in targets.evaluate(results)]
    out.write_text(json.dumps(results, indent=1, allow_nan=True))
    made = plots.all_plots(results, out)
    print(f"bench: wrote {out}", file=sys.stderr)
    for path in made:
        print(f"bench: wrote {path}", file=sys.stderr)
    if "transports" in results.get("idioms", {}):
        print(report.idioms_report(results["idioms"]), file=sys.stderr)
    if "transports" in results.get("isolation", {}):
        print(report.isolation_report(results["isolation"]), file=sys.stderr)
    if "floods" in results.get("flood", {}):
        print(report.flood_report(results["flood"]), file=sys.stderr)
    if "attacks" in results.get("hostile", {}):
        print(report.hostile_report(results["hostile"]), file=sys.stderr)
    linkup = results.get("lan_linkup", {})
    if linkup and "error" not in linkup:
        print(report.linkup_report(linkup), file=sys.stderr)
    for t in results["targets"]:
        if t["met"] is None:
            continue  # a benchmark of this target was not run
        mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        detail = f"; {t['detail']}" if t.get("detail") else ""
        print(f"  {mark:6} {t['text']}: {t['value']:.4g} (limit {t['limit']:g}){detail}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
