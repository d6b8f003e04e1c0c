"""What-if: QWebChannel calls without a response. A page calling a slot gets a
response message back for every call (even a void one); a page writing a
property gets none. This measures the bare echo both ways, interleaved, so the
bridge's owner can judge sending batches as property writes.

    python -m bench.profile.whatif_floor
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench import stats


async def run() -> dict[str, Any]:
    from bench.qtpages import QtSession

    session = QtSession(None)
    out: dict[str, Any] = {}
    try:
        pages = {"slot": await session.floor_page(), "property": await session.floor_page()}
        await session.evaluate(pages["slot"], "B.floor(false)")
        await session.evaluate(pages["property"], "B.floor(true)")
        raw: dict[str, dict[str, list[float]]] = {k: {"rtt": [], "rate": []} for k in pages}
        for page in pages.values():
            await session.evaluate(page, "B.flood('small', 3000)")
        for _ in range(5):
            for name, page in pages.items():
                r = await session.evaluate(page, "B.rtt('small', 1000, 50)")
                raw[name]["rtt"].append(stats.median(r["blocks"]))
                f = await session.evaluate(page, "B.flood('small', 30000)")
                raw[name]["rate"].append(30000 / (f["ms"] / 1000))
        for name, r in raw.items():
            out[name] = {"rtt_ms": stats.median(r["rtt"]), "msgs_per_s": stats.median(r["rate"]), **r}
    finally:
        await session.close()
    return out


def main() -> int:
    from browser.qtstart import start_qt

    _app, loop = start_qt(offscreen=True)
    with loop:
        print(json.dumps(loop.run_until_complete(run())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
