"""What-if: the 4-device mesh with the sidecar's deferred dial shortened.

``swarm/sidecar/sidecar.js`` lets only the peer with the lower key dial at once;
the other waits ``DIAL_DEFER`` (3000 ms) before it dials. This copies the sidecar
to a temporary directory (node_modules linked, nothing in the repository
changes), sets ``DIAL_DEFER`` there, and measures the cold mesh of N presences
over 4 devices with each value, on one local testnet (127.0.0.1 only).

    python -m bench.profile.whatif_dial [N] [DEFER_MS ...]     (default: 64, 3000 300 0)
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from bench import procs, stats
from bench.devices import mesh4, start_testnet


def sidecar_copy(root: Path, defer_ms: int) -> Path:
    dest = root / f"sidecar-{defer_ms}"
    shutil.copytree(procs.SIDECAR_DIR, dest, ignore=shutil.ignore_patterns("node_modules"))
    (dest / "node_modules").symlink_to(procs.SIDECAR_DIR / "node_modules")
    script = dest / "sidecar.js"
    text, count = re.subn(r"const DIAL_DEFER = \d+", f"const DIAL_DEFER = {defer_ms}", script.read_text())
    if count != 1:
        raise SystemExit("whatif_dial: DIAL_DEFER not found in sidecar.js (the sidecar changed)")
    script.write_text(text)
    return dest


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    defers = [int(x) for x in sys.argv[2:]] or [3000, 300, 0]
    out = {}
    with tempfile.TemporaryDirectory(prefix="peerbench-dial-") as tmp, procs.Children() as children:
        bootstrap = start_testnet(children)
        for defer in defers:
            sidecar = sidecar_copy(Path(tmp), defer)
            reps = [mesh4(children, bootstrap, n, str(sidecar))["mesh_ms"] for _ in range(3)]
            out[str(defer)] = {"mesh_ms": stats.median(reps), "reps": reps}
            print(json.dumps({"dial_defer_ms": defer, "n": n, **out[str(defer)]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
