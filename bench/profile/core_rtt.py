"""Core-to-core round trips (or a flood) for a while, for a profiler to attach to.

    python -m bench.profile.core_rtt rtt|flood small|binary SECONDS

Starts a local testnet (127.0.0.1 only) and an echo device (``bench.device core echo``),
then measures from this process. Prints this process's PID, then a JSON line per round
(the median round trip of 500, or a flood's msgs/s). Attach a profiler to the PID:

    py-spy record --pid PID --idle -o core.svg
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time

from bench import devices, procs, stats


async def run(what: str, kind: str, seconds: float, bootstrap: list[str], room: str) -> None:
    from bench.corepeer import CorePeer
    from bench.device import ORIGIN, make_core, wait_ready

    core = make_core(bootstrap)
    try:
        await wait_ready(core)
        peer = CorePeer(core, ORIGIN, 2, room)
        await asyncio.wait_for(peer.until_peers(1), 60)
        socket = next(iter(peer.sockets.values()))
        print(json.dumps({"sidecar_pid": core.engine.pid}), flush=True)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if what == "rtt":
                samples = await peer.rtt(socket, kind, 500, 20)
                print(json.dumps({"rtt_median_ms": stats.median(samples)}), flush=True)
            else:
                n = 20000 if kind == "small" else 200
                print(json.dumps({"msgs_per_s": n / await peer.flood(socket, kind, n)}), flush=True)
    finally:
        await core.close()


def main() -> int:
    what, kind, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    print(json.dumps({"pid": os.getpid()}), flush=True)
    room = f"bench-core-rtt-{secrets.token_hex(4)}"
    with procs.Children() as children:
        bootstrap = devices.start_testnet(children)
        tail = ["--bootstrap", ",".join(bootstrap), "--room", room]
        echo = children.start(
            [devices.PY, "-m", "bench.device", "core", "echo", *tail],
            env=devices.py_env(),
            cwd=devices.HERE.parent,
        )
        procs.read_json_line(echo, devices.START_TIMEOUT)
        print(json.dumps({"echo_pid": echo.pid}), flush=True)
        asyncio.run(run(what, kind, seconds, bootstrap, room))
    return 0


if __name__ == "__main__":
    sys.exit(main())
