"""What-if: tabs calling joinSwarm() at the same moment, with and without a fix in
js/peersocket.js for events that arrive in the same batch as a join's result.

``channel.handle()`` routes swarm events by handle, but a new swarm is only
registered in the ``.then()`` of ``joinSwarm`` (a microtask after the whole
batch), so a ``connection`` item in the same batch is dropped. The fix tried
here keeps items for an unknown handle and replays them when the swarm is
registered. It runs on a patched copy of peersocket.js in a temporary
directory; nothing in the repository changes.

    python -m bench.profile.whatif_join [N]      (default 8)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import stats

ROOT = Path(__file__).resolve().parents[2]
PATCHES = (
    (  # anchors in the built js/peersocket.js (esbuild's formatting)
        "    swarms: /* @__PURE__ */ new Map(),\n",
        "    swarms: /* @__PURE__ */ new Map(),\n    early: new Map(), // handle -> items before its swarm\n",
    ),
    (
        "      if (swarm) swarm._receive(item);\n",
        "      if (swarm) swarm._receive(item);\n"
        "      else {\n"
        "        if (!this.early.has(item[1])) this.early.set(item[1], []);\n"
        "        this.early.get(item[1]).push(item);\n"
        "      }\n",
    ),
    (
        "        channel.swarms.set(result.handle, swarm);\n",
        "        channel.swarms.set(result.handle, swarm);\n"
        "        for (const it of channel.early.get(result.handle) || []) swarm._receive(it);\n"
        "        channel.early.delete(result.handle);\n",
    ),
)


def patched_js(dest: Path) -> Path:
    source = (ROOT / "js" / "peersocket.js").read_text()
    for old, new in PATCHES:
        if source.count(old) != 1:
            raise SystemExit(f"whatif_join: anchor not found once in peersocket.js: {old.strip()!r}")
        source = source.replace(old, new)
    (dest / "peersocket.js").write_text(source)
    return dest


async def run(n: int, reps: int) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from bench.scale import page_mesh
    from swarm.core import SwarmCore

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="peerbench-js-") as tmp:
        for variant, js_dir in (("as is", None), ("fixed", patched_js(Path(tmp)))):
            results = []
            for r in range(reps):
                core = SwarmCore(grace=0.0)
                session = QtSession(core, js_dir)
                try:
                    results.append(await page_mesh(session, n, f"bench-join-{r}", 10, concurrent=True))
                finally:
                    await session.close()
                    await core.close()
            out[variant] = {
                "complete_reps": sum(1 for x in results if x["complete"]),
                "missing_sockets": [x["missing_sockets"] for x in results],
                "mesh_ms": stats.median([x["mesh_ms"] for x in results]),
                "reps": results,
            }
            print(json.dumps({"variant": variant, **{k: v for k, v in out[variant].items() if k != "reps"}}))
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True)
    with loop:
        loop.run_until_complete(run(n, 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
