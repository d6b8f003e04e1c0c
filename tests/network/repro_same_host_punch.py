"""Reproduce, with HyperDHT alone, a direct dial that times out on one host:

    python -m tests.network.repro_same_host_punch     (root and iproute2 needed)

Makes a network namespace joined to nothing, whose network card has 192.0.2.2/24 (a
reserved range, as on this workplace's machines), and runs tests/network/same_host_punch.js
in it twice: the listening node bound to 0.0.0.0 (ETIMEDOUT after ~13 s), then to
127.0.0.1 (linked at once). The script binds 0.0.0.0, so it runs without the loopback
guard: only ever inside that closed namespace. See docs/SIDECAR.md, "A direct dial on
one host".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from swarm.sidecar_options import SIDECAR_DIR
from tests.network.netns import Lab
from tests.network.processes import REPO

SCRIPT = REPO / "tests/network/same_host_punch.js"


def main() -> int:
    why = Lab.unavailable()
    if why:
        print(f"cannot make a network namespace here: {why}", file=sys.stderr)
        return 2
    lab = Lab()
    try:
        lab.add_alone("host", "192.0.2.2/24")
        env = {**os.environ, "NODE_PATH": str(SIDECAR_DIR / "node_modules")}
        env.pop("PEERBROWSER_LOOPBACK_ONLY", None)
        for server_host in ("0.0.0.0", "127.0.0.1"):
            out = subprocess.run(
                lab.exec("host", ["node", str(SCRIPT), server_host]),
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip()
            print(json.dumps(json.loads(line)) if line.startswith("{") else line)
    finally:
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
