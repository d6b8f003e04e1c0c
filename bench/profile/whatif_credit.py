"""What-if: the receiving core credits a remote writer only once a quarter of the
window is unread-and-consumed, instead of once per loop turn.

Core to core with small messages is bound by the receiving core; in its profile
about 14 % of the busy time is the stdio write of CREDIT frames to the sidecar,
one per loop turn. ``patch()`` wraps ``swarm.flow.Flow.flush`` so sockets on
a link whose releasable bytes are under ``limits.WINDOW / 4`` wait for more.
``bench.device`` applies it when ``PEERBENCH_WHATIF=credit-quarter``; nothing in
the repository changes.

    python -m bench.profile.whatif_credit        (core to core, as is vs patched)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from bench import procs
from bench.devices import device_pair, start_testnet

ENV = "PEERBENCH_WHATIF"


def patch() -> None:
    from swarm import limits
    from swarm.flow import Flow

    threshold = limits.WINDOW // 4
    original = Flow.flush

    def flush(self: Any) -> None:
        keep = set()
        for socket in self._due:
            if socket.link is not None and socket.state == "open":
                release = socket.held - max(socket.owed.values(), default=0)
                if 0 < release < threshold:
                    keep.add(socket)
        self._due -= keep
        original(self)
        self._due |= keep  # considered again after the next delivery

    Flow.flush = flush  # type: ignore[method-assign]


def main() -> int:
    out = {}
    with procs.Children() as children:
        bootstrap = start_testnet(children)
        for variant in ("as is", "credit-quarter", "as is", "credit-quarter"):
            if variant == "as is":
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = variant
            result = device_pair(children, "core", bootstrap, quick=False)
            row = {
                k: {"msgs_per_s": v["msgs_per_s"], "rtt_ms": v["rtt"]["median_ms"]} for k, v in result.items()
            }
            out.setdefault(variant, []).append(row)
            print(json.dumps({"variant": variant, **row}), flush=True)
    os.environ.pop(ENV, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
