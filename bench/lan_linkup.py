"""Link-up time of two fresh devices on one LAN, both counting as firewalled at start.

Each trial makes a new lab (tests/network/netns.py: one namespace per device on a hub
bridge, no NAT, no route out), starts two fresh devices (a swarm core on the Hyperswarm
engine, ``tests/network/device_proc.py``), and once both are ready has both join one
swarm at the same moment; the link-up time is from that moment until each device's tab
has a socket to the other's. Neither is told it is reachable (no ``--reachable``).

Series, all in the same run:

``before``           the sidecar as it was before issue 11 (``BEFORE``: hyperdht 6.32.0, no
                     reachability probe), on a 3-node testnet in the lab (``--bootstrap``:
                     there was no ``lan`` network then). Installed once with ``npm ci``
                     into the user's cache (``$XDG_CACHE_HOME/peerbrowser/bench``, beside
                     the installed sidecar), never into the checkout, where an old copy
                     of the code would sit beside the current one; skipped, saying why,
                     when that cannot be done.
``after_bootstrap``  this sidecar on the same kind of testnet.
``after_lan``        this sidecar on ``--network lan`` (multicast DNS, no bootstrap node).

    python -m bench.lan_linkup --out lan_linkup.json [--trials 20] [--before-trials 3]
                               [--series before,after_bootstrap,after_lan]

Every wait has a hang guard: a trial that does not link within ``LINK_GUARD`` seconds
(or whose devices do not start within ``processes.HANG_GUARD``) counts as failed, and
what the devices saw (their events and, for this sidecar, its trace:
PEERBROWSER_SIDECAR_TRACE) goes into the result and onto stderr. Needs root and
iproute2 (namespaces); traffic stays inside the lab.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import stats
from swarm.sidecar_install import cache_root

ROOT = Path(__file__).resolve().parent.parent
CACHE = cache_root().parent / "bench"
#: main just before issue 11: hyperdht 6.32.0, devices on a small DHT stay firewalled
BEFORE = "feffb2f38d5f70668faf1b5ae47740b91f73a701"
#: seconds a link-up may take before the trial counts as failed (a hang guard: the
#: "before" sidecar took 16 to 86 s)
LINK_GUARD = 120.0
SERIES = ("before", "after_bootstrap", "after_lan")
NETWORK = {"before": "bootstrap", "after_bootstrap": "bootstrap", "after_lan": "lan"}
SEEN_LINES = 60  # lines of each process kept for a failed trial


@dataclass
class Trial:
    seconds: float | None = None
    failed: str | None = None  # what it was waiting for when the hang guard ran out
    seen: dict[str, list[str]] = field(default_factory=dict)


def before_sidecar() -> tuple[Path | None, str | None]:
    """The sidecar of ``BEFORE`` with its node_modules, built once; or why it cannot be."""
    dest = CACHE / f"sidecar-{BEFORE[:12]}"
    if (dest / "node_modules" / "hyperswarm").is_dir():
        return dest, None
    if shutil.which("git") is None or shutil.which("npm") is None or shutil.which("tar") is None:
        return None, "git, tar and npm are needed to install the 'before' sidecar"
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE, "swarm/sidecar"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if archive.returncode != 0:
            return None, f"git archive {BEFORE[:12]}: {archive.stderr.decode().strip()}"
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True, timeout=120)
        built = Path(tmp) / "swarm" / "sidecar"
        print(f"lan_linkup: installing the 'before' sidecar ({BEFORE[:12]}) with npm ci", file=sys.stderr)
        npm = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=built,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if npm.returncode != 0:
            return None, f"npm ci for the 'before' sidecar failed: {npm.stderr.strip()[-500:]}"
        shutil.rmtree(dest, ignore_errors=True)
        built.rename(dest)
    return dest, None


def trial(network: str, sidecar: Path) -> Trial:
    from tests.network.netns import Lab
    from tests.network.processes import DeviceProc, Proc

    lab = Lab()
    procs: dict[str, Proc] = {}
    out = Trial()
    waiting = "the lab"
    try:
        # the sidecar's trace (this one has it) arrives as the engine's debug log
        env = {**lab.env(), "PEERBROWSER_SIDECAR_TRACE": "1", "DEVICE_PROC_DEBUG": "1"}
        bootstrap: list[str] = []
        if network == "bootstrap":
            dht = lab.add("dht")
            guard = str(sidecar / "loopback-guard.cjs")
            argv = ["node", "-r", guard, str(sidecar / "testnet.js"), "3", "0", dht]
            testnet = procs["testnet"] = Proc(lab.exec("dht", argv), stdin=True, env=env)
            waiting = "the testnet"
            ready = testnet.wait_for(
                lambda _: [e for e in testnet.json_events() if "bootstrap" in e], waiting
            )
            bootstrap = list(ready[0]["bootstrap"])
        devices = {}
        for name in ("a", "b"):
            address = lab.add(name)
            extra = ["--network", network, "--sidecar-dir", str(sidecar)]
            if network == "bootstrap":
                extra += ["--host", address]
            dev = DeviceProc(bootstrap, extra=extra, wrap=lambda argv, n=name: lab.exec(n, argv), env=env)
            procs[name] = dev.p
            devices[name] = dev
        for name, dev in devices.items():
            waiting = f"device {name} ready"
            dev.ready()
        start = time.monotonic()
        for dev in devices.values():
            dev.do(op="join", tab=0, origin="https://bench.example", identity=0, swarm="linkup")
        for name, dev in devices.items():
            waiting = f"device {name}'s link to the other"
            left = max(0.0, LINK_GUARD - (time.monotonic() - start))
            dev.p.wait_for(lambda _, d=dev: d.events("connection"), waiting, guard=left)
        out.seconds = time.monotonic() - start
    except AssertionError:  # a hang guard ran out, or a device failed to start
        out.failed = waiting
        for name, p in procs.items():
            lines = [line for line in p.lines if "trace " in line or line.startswith("{") or "ERROR" in line]
            out.seen[name] = lines[-SEEN_LINES:]
    finally:
        for p in procs.values():
            p.stop()
        lab.close()
    return out


def series(name: str, trials: int, sidecar: Path) -> dict[str, Any]:
    times: list[float] = []
    failures: list[dict[str, Any]] = []
    for i in range(trials):
        t = trial(NETWORK[name], sidecar)
        if t.seconds is None:
            failures.append({"trial": i + 1, "waiting_for": t.failed, "seen": t.seen})
            print(f"lan_linkup: {name} trial {i + 1}: FAILED waiting for {t.failed}; seen:", file=sys.stderr)
            for who, lines in t.seen.items():
                print(f"  -- {who}", file=sys.stderr)
                for line in lines:
                    print(f"     {line}", file=sys.stderr)
        else:
            times.append(t.seconds)
            print(f"lan_linkup: {name} trial {i + 1}: {t.seconds:.3f} s", file=sys.stderr)
    # a failed trial took longer than the guard: it ranks last, and a percentile that
    # lands on it is unknown (None), never the mean of the trials that linked
    ranked = sorted(times) + [float("inf")] * len(failures)

    def rank(q: float) -> float | None:
        value = stats.percentile(ranked, q)
        return value if value != float("inf") else None

    return {
        "network": NETWORK[name],
        "trials": trials,
        "failed": len(failures),
        "seconds": times,
        "p50": rank(50),
        "p95": rank(95),
        "max": rank(100),
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true", help="5 trials a series, 1 before")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument(
        "--before-trials",
        type=int,
        default=3,
        help="trials of the 'before' series (default 3: each usually runs into the guard)",
    )
    parser.add_argument("--series", default=",".join(SERIES), help="comma-separated, of " + ", ".join(SERIES))
    args = parser.parse_args()
    # stopped from outside (bench/run.py's hang guard): unwind, so that every trial's
    # `finally` stops its devices and deletes its namespaces
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from swarm.sidecar_options import SIDECAR_DIR
    from tests.network.netns import Lab

    names = [s for s in args.series.split(",") if s]
    if unknown := set(names) - set(SERIES):
        parser.error(f"unknown series {sorted(unknown)}")
    trials = 5 if args.quick else args.trials
    before_trials = 1 if args.quick else args.before_trials
    result: dict[str, Any] = {"link_guard_s": LINK_GUARD, "before_commit": BEFORE}
    why = Lab.unavailable()
    if why:
        result["skipped"] = why
    else:
        os.environ["PEERBROWSER_LOOPBACK_ONLY"] = "1"
        for name in names:
            if name == "before":
                sidecar, why_not = before_sidecar()
                if sidecar is None:
                    result[name] = {"skipped": why_not}
                    print(f"lan_linkup: before: skipped: {why_not}", file=sys.stderr)
                    continue
                result[name] = series(name, before_trials, sidecar)
            else:
                result[name] = series(name, trials, SIDECAR_DIR)
        before, after = result.get("before", {}), result.get("after_lan", {})
        if before.get("p95") and after.get("p95"):
            result["p95_before_over_after_lan"] = before["p95"] / after["p95"]
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
