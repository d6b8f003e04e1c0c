"""What-if experiments: tab-to-tab numbers with a proposed change patched in, in-process.

Nothing here changes the project's code on disk: each variant monkeypatches one
proposed optimization of bridge/ or browser/ for this process only, so its owner
can see the expected gain before applying it (docs/PERFORMANCE.md).

    python -m bench.profile.whatif [VARIANT ...]     (each variant runs in its own process)

Variants:
  baseline      the code as it is
  no-panel      the PeerSocket panel does not refresh while hidden (no core observers)
  lazy-acks     successful write() acknowledgements ride along with the next batch to
                that page (or go after 2 ms), instead of a batch of their own
  both          no-panel + lazy-acks
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from bench import stats

VARIANTS = ("baseline", "no-panel", "lazy-acks", "both")
ACK_DELAY = 0.002


def patch_lazy_acks() -> None:
    from bridge import page as bridge_page

    original = bridge_page.PageBridge._queue

    def _queue(self: Any, item: list[Any]) -> None:
        is_ack = item[0] == "r" and item[2] is True and item[3] is None
        if not is_ack:
            original(self, item)
            return
        self._out.append(item)  # no flush of its own: the next one takes it along
        if not getattr(self, "_ack_timer", False) and not self._flush_scheduled:
            self._ack_timer = True

            def later() -> None:
                self._ack_timer = False
                if self._out and not self._flush_scheduled:
                    self._flush_scheduled = True
                    self._flush()

            asyncio.get_running_loop().call_later(ACK_DELAY, later)

    bridge_page.PageBridge._queue = _queue  # type: ignore[method-assign]


async def measure(variant: str, reps: int) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from bench.tab_to_tab import open_peersocket
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    try:
        page = await open_peersocket(session)
        if variant in ("no-panel", "both"):
            for window in session.windows:
                window.panel.detach()
        await session.evaluate(page, "B.flood('small', 3000)")
        rtts: list[float] = []
        rates: list[float] = []
        for _ in range(reps):
            r = await session.evaluate(page, "B.rtt('small', 1000, 50)")
            rtts.append(stats.median(r["blocks"]))
            f = await session.evaluate(page, "B.flood('small', 30000)")
            rates.append(30000 / (f["ms"] / 1000))
        return {
            "rtt_ms": stats.median(rtts),
            "msgs_per_s": stats.median(rates),
            "rtt_reps": rtts,
            "rate_reps": rates,
        }
    finally:
        await session.close()
        await core.close()


def child(variant: str) -> int:
    if variant in ("lazy-acks", "both"):
        patch_lazy_acks()
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True)
    with loop:
        result = loop.run_until_complete(measure(variant, 5))
    print(json.dumps({"variant": variant, **result}), flush=True)
    return 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(sys.argv[2])
    variants = sys.argv[1:] or list(VARIANTS)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for variant in variants:
        out = subprocess.run(
            [sys.executable, "-m", "bench.profile.whatif", "--child", variant],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        print(lines[-1] if lines else f'{{"variant": "{variant}", "error": {json.dumps(out.stderr[-500:])}}}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
