"""Where a round trip across devices spends its time, hop by hop, in each device process.

    python -m bench.profile.hops core|page [--quick]

Runs ``bench.devices`` for one pair (core to core, or page to page) with
``PEERBENCH_HOPS`` set: each device process (``bench.device``) then timestamps, with
``time.perf_counter``, the points a message passes on its main thread, and writes them to
a file of its own. Afterwards this prints, per process, how long the thread took from
each kind of point to the next (the median and the 10th percentile, over the run's round
trips and floods; the round trips dominate the counts):

- ``in``: bytes from the sidecar's stdout reach the driver (``StdoutFrames.feed``);
- ``turn``: a core turn starts (``Turns._turn``);
- ``page``: a page's batch reaches its bridge (``Turns.ready`` for a ``PageBridge``);
- ``pre-emit`` / ``emit``: a batch of events to a page, before and after the
  QWebChannel emission (``PageBridge._emit``);
- ``pre-out`` / ``out``: frames to the sidecar's stdin, before and after the write
  (``FrameWriter.flush``).

So ``out -> in`` is everything on the other side of the link (both sidecars, the
network, the other device), ``emit -> page`` the page's own side (QWebChannel's IPC to
the renderer and back, the page's script), and ``turn -> pre-emit`` / ``turn -> pre-out``
the core's and the bridge's work for one message. Nothing changes in the repository;
the timestamps cost about a microsecond each.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ENV = "PEERBENCH_HOPS"
#: At most this many points per process (the first ones: warm-up and round trips).
LIMIT = 40_000


def install(directory: str) -> None:
    """Timestamp the points above in this process, into ``directory/<pid>.txt``."""
    from bridge import page as bridge_page
    from swarm import hyperswarm, sidecar_writer, turns

    points: list[tuple[str, float]] = []
    now = time.perf_counter

    def mark(kind: str) -> None:
        if len(points) < LIMIT:
            points.append((kind, now()))

    def save() -> None:
        text = "".join(f"{kind} {t:.7f}\n" for kind, t in points)
        Path(directory, f"{os.getpid()}.txt").write_text(text)

    atexit.register(save)

    def wrap(cls: Any, name: str, before: str | None, after: str | None = None, test: Any = None) -> None:
        original = getattr(cls, name)

        def wrapped(self: Any, *args: Any) -> Any:
            hit = test is None or test(self, *args)
            if before and hit:
                mark(before)
            result = original(self, *args)
            if after and hit:
                mark(after)
            return result

        setattr(cls, name, wrapped)

    wrap(hyperswarm.StdoutFrames, "feed", "in")
    wrap(turns.Turns, "_turn", "turn")
    wrap(turns.Turns, "ready", "page", test=lambda _self, source: isinstance(source, bridge_page.PageBridge))
    wrap(bridge_page.PageBridge, "_emit", "pre-emit", "emit")
    wrap(sidecar_writer.FrameWriter, "flush", "pre-out", "out", test=lambda self: bool(self._queue))


def summarize(path: Path) -> list[str]:
    points = [(line.split()[0], float(line.split()[1])) for line in path.read_text().splitlines()]
    gaps: dict[str, list[float]] = collections.defaultdict(list)
    for (a, ta), (b, tb) in itertools.pairwise(points):
        gaps[f"{a} -> {b}"].append((tb - ta) * 1e6)
    lines = [f"process {path.stem}: {len(points)} points"]
    for step, values in sorted(gaps.items(), key=lambda kv: -len(kv[1]))[:14]:
        values.sort()
        lines.append(
            f"  {step:20s} n={len(values):6d}  median {statistics.median(values):8.0f} us"
            f"  p10 {values[len(values) // 10]:8.0f} us"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pair", choices=("core", "page"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from bench import devices

    with tempfile.TemporaryDirectory(prefix="peerbench-hops-") as directory:
        os.environ[ENV] = directory
        result = devices.run(args.quick, {args.pair})
        small = result[args.pair]["small"]
        print(f"{args.pair} to {args.pair}, small: RTT median {small['rtt']['median_ms']:.3f} ms")
        for path in sorted(Path(directory).glob("*.txt")):
            print("\n".join(summarize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
