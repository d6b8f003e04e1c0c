"""The hostile bench's message flood against one core, with the sidecar's own account.

``./run-bench hostile`` sees the sidecar from outside (its RSS, its smaps). Here the
attacker (``tests/hostile/attacker.js``) floods a presence of a core driven from this
process (``tests/network/device_proc.py``'s device: a real ``SwarmCore`` over a
Hyperswarm engine on a loopback testnet), whose listener takes every message, each
``--slow`` ms late (a core that is behind, as the browser's is under the flood). The
sidecar's ``stats`` (RSS, V8's heap, ``arrayBuffers``, the GCs it ran, its connections
and what each holds) before, every 0.5 s through the flood and every 2 s for ``--idle``
seconds after it; then its smaps, and how the attacker's links came and went.

    python -m bench.profile.sidecar_hostile [--seconds S] [--slow MS] [--idle S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from typing import Any

from bench import procs
from bench.devices import START_TIMEOUT, start_testnet
from bench.hostile import ATTACKER, Lines, smaps

MiB = 2**20


async def run(seconds: float, slow_ms: float, idle: float) -> dict[str, Any]:
    import tests.network.device_proc as device_proc
    from swarm.events import Messages
    from swarm.topics import SwarmKey

    device_proc.emit = lambda _obj: None  # its listener reports each event on stdout
    out: dict[str, Any] = {"seconds": seconds, "slow_ms": slow_ms, "samples": []}
    with procs.Children() as children:
        bootstrap = start_testnet(children)
        before = {p.pid for p in procs.tree()}
        device = device_proc.Device(bootstrap)
        await device.core.start()
        sidecar = next(
            p for p in procs.tree() if p.pid not in before and "sidecar.js" in " ".join(p.cmdline())
        )
        try:
            swarm = f"sidecar-hostile-{secrets.token_hex(3)}"
            takes = device.listener(0)

            def listener(handle: Any, event: Any) -> None:
                if slow_ms and isinstance(event, Messages):
                    time.sleep(slow_ms * len(event.payloads) / 1000)  # the core is behind
                takes(handle, event)

            handle = device.core.join("https://a.example", 1, SwarmKey.open(swarm), ("tab", 0), listener)
            me = handle.presence.id_hex
            attacker = Lines(children.start(
                procs.node_command(ATTACKER, "--bootstrap", ",".join(bootstrap), "--swarm", swarm),
                env=procs.loopback_env(NODE_PATH=str(procs.SIDECAR_DIR / "node_modules")),
            ))  # fmt: skip
            await attacker.wait(
                lambda items: [i for i in items if i.get("event") == "peer" and i.get("id") == me],
                START_TIMEOUT,
                "the attacker's link",
            )
            t0 = time.monotonic()

            async def sample(phase: str) -> None:
                s = await device.engine.sidecar_stats()
                row = {k: round(s[k] / MiB, 1) for k in ("rss", "heapUsed", "external", "arrayBuffers")}
                conns = {
                    k: {"held_mib": round(v["held"] / MiB, 1), "reading": v["reading"]}
                    for k, v in s["conns"].items()
                }
                out["samples"].append(
                    {
                        "t": round(time.monotonic() - t0, 1),
                        "phase": phase,
                        **row,
                        "gcs": s["gcs"],
                        "conns": conns,
                    }
                )

            await sample("before")
            procs.send_json(attacker.proc, {"attack": "message", "seconds": seconds, "to": [me]})
            while not (ended := attacker.of("done") or attacker.of("error")):
                await sample("flood")
                await asyncio.sleep(0.5)
            out["attacker"] = ended[0]
            procs.send_json(attacker.proc, {"leave": True})
            t1 = time.monotonic()
            while time.monotonic() - t1 < idle:
                await sample("after")
                await asyncio.sleep(2.0)
            out["smaps_end_mib"] = smaps(sidecar.pid)
            out["attacker_links"] = [
                i for i in attacker.items if i.get("event") in ("link", "link-closed", "goodbye")
            ]
        finally:
            await device.core.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the flood")
    parser.add_argument("--slow", type=float, default=5.0, help="ms the core spends on each message")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds watched after the flood")
    args = parser.parse_args()
    os.environ["PEERBROWSER_LOOPBACK_ONLY"] = "1"
    print(json.dumps(asyncio.run(run(args.seconds, args.slow, args.idle)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
