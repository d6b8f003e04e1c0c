"""``peerbrowser dht``: run a HyperDHT bootstrap node for a LAN or a private network.

    peerbrowser dht [--host HOST] [--port PORT]

Defaults to 127.0.0.1 and the local network's port. Other machines then run
``peerbrowser --bootstrap HOST:PORT``. Binding to an address other than
loopback makes the node reachable from the network: only do that on purpose.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys

from swarm.sidecar_install import SidecarInstallError, ensure_sidecar_sync
from swarm.sidecar_options import DEFAULT_LOCAL_PORT, dht_node_command


def dht_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="peerbrowser dht", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_LOCAL_PORT, help="UDP port")
    args = parser.parse_args(argv)
    if shutil.which("node") is None:
        print("peerbrowser dht: Node.js is not installed (install Node.js >= 18)", file=sys.stderr)
        return 1
    try:  # an installed Peerbrowser sets up the sidecar's npm packages on first use
        sidecar = ensure_sidecar_sync(
            progress=lambda text: print(f"peerbrowser dht: {text}", file=sys.stderr)
        )
    except SidecarInstallError as exc:
        print(f"peerbrowser dht: {exc.code}: {exc}", file=sys.stderr)
        return 1
    proc = subprocess.Popen(dht_node_command(args.host, args.port, sidecar_dir=sidecar))
    forwarded: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        forwarded.append(signum)
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = proc.wait()
    if code < 0 and -code in forwarded:
        return 0  # stopped as asked
    return code
