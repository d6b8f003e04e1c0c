"""Link-up time of two fresh devices on one LAN, both counting as firewalled.

Each trial makes a new lab (tests/network/netns.py: one namespace per device on a hub
bridge, no route out), starts two fresh devices (a swarm core on the Hyperswarm engine,
``tests/network/device_proc.py``), and once both are ready has both join one swarm at
the same moment; the link-up time is from that moment until both have the other's
socket. Neither is told it is reachable (no ``--reachable``).

    python -m bench.lan_linkup --out lan_linkup.json [--trials 20] [--network lan|bootstrap]

``lan``: the devices find each other by multicast DNS (no bootstrap node).
``bootstrap``: a 3-node testnet in the lab, as before the ``lan`` network existed.
Needs root and iproute2 (namespaces); traffic stays inside the lab.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import stats

HANG = 90.0  # seconds a trial may take before it counts as failed (a hang guard)


def trial(network: str) -> float | None:
    from swarm.hyperswarm import SIDECAR_DIR
    from tests.network.netns import Lab
    from tests.network.processes import DeviceProc, Proc

    lab = Lab()
    procs: list[Proc] = []
    try:
        extra = ["--network", network]
        bootstrap: list[str] = []
        if network == "bootstrap":
            dht = lab.add("dht")
            guard = str(SIDECAR_DIR / "loopback-guard.cjs")
            testnet = Proc(
                lab.exec("dht", ["node", "-r", guard, str(SIDECAR_DIR / "testnet.js"), "3", "0", dht]),
                stdin=True,
                env=lab.env(),
            )
            procs.append(testnet)
            found = testnet.wait_for(lambda _: [e for e in testnet.json_events() if "bootstrap" in e], "testnet")
            bootstrap = list(found[0]["bootstrap"])
        devices = []
        for name in ("a", "b"):
            address = lab.add(name)
            more = ["--host", address] if network == "bootstrap" else []
            dev = DeviceProc(
                bootstrap, extra=extra + more, wrap=lambda argv, n=name: lab.exec(n, argv), env=lab.env()
            )
            procs.append(dev.p)
            devices.append(dev)
        for dev in devices:
            dev.ready()
        start = time.monotonic()
        for dev in devices:
            dev.do(op="join", tab=0, origin="https://bench.example", identity=0, swarm="linkup")
        try:
            for dev in devices:
                dev.p.wait_for(lambda _, d=dev: d.events("connection"), "link-up")
        except AssertionError:
            return None
        return time.monotonic() - start
    finally:
        for p in procs:
            p.stop()
        lab.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true", help="5 trials")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--network", choices=("lan", "bootstrap"), default="lan")
    args = parser.parse_args()
    from tests.network.netns import Lab

    why = Lab.unavailable()
    result: dict[str, Any] = {"network": args.network}
    if why:
        result["skipped"] = why
    else:
        times: list[float] = []
        failed = 0
        for i in range(5 if args.quick else args.trials):
            took = trial(args.network)
            if took is None:
                failed += 1
            else:
                times.append(took)
            print(f"lan_linkup: trial {i + 1}: {took}", file=sys.stderr)
        result.update(
            trials=len(times) + failed,
            failed=failed,
            seconds=times,
            p50=stats.percentile(times, 50) if times else None,
            p95=stats.percentile(times, 95) if times else None,
            max=max(times) if times else None,
        )
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
