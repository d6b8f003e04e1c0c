"""Which threads of which processes use the CPU, window by window (Linux, /proc).

    python -m bench.profile.threads SECONDS [STEP] [--min PERCENT]

Run it beside a benchmark (it measures the whole machine, so run nothing else): every
STEP seconds (0.5 by default) it prints the time since it started, the machine's busy
share (% of one core, all cores summed) and the busiest threads as
``process/thread:pid:percent of one core`` with their niceness, windows under
``--min`` (default 5 %) busy left out. A flood shows as the windows where the machine
is near its cores' total; which thread is at the top there is what bounds it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

Key = tuple[int, int]  # (pid, tid)


def _threads() -> dict[Key, tuple[str, int, int]]:
    """(pid, tid) -> (process/thread names, CPU ticks, niceness) for every thread."""
    out: dict[Key, tuple[str, int, int]] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            process = Path(f"/proc/{pid}/comm").read_text().strip()
            for tid in os.listdir(f"/proc/{pid}/task"):
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat.rsplit(")", 1)[1].split()
                ticks = int(fields[11]) + int(fields[12])  # utime + stime
                out[(int(pid), int(tid))] = (f"{process}/{name}", ticks, int(fields[16]))
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return out


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    seconds = float(args[0])
    step = float(args[1]) if len(args) > 1 else 0.5
    least = float(sys.argv[sys.argv.index("--min") + 1]) if "--min" in sys.argv else 5.0
    hz = os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    before, then = _threads(), start
    while time.monotonic() - start < seconds:
        time.sleep(step)
        now_threads, now = _threads(), time.monotonic()
        span = now - then
        busy = []
        for key, (name, ticks, nice) in now_threads.items():
            if key in before and ticks > before[key][1]:
                busy.append(((ticks - before[key][1]) / hz / span * 100, key, name, nice))
        busy.sort(reverse=True)
        total = sum(b[0] for b in busy)
        if total >= least:
            top = "  ".join(f"{name}:{key[0]}:{pct:.0f}(n{nice})" for pct, key, name, nice in busy[:10])
            print(f"{now - start:7.2f} {total:4.0f}%  {top}", flush=True)
        before, then = now_threads, now
    return 0


if __name__ == "__main__":
    sys.exit(main())
