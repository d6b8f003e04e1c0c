"""Where the quiet pair's round trips wait beside a flood, in four parts, at the bridge.

Runs ``bench.isolation`` (PeerSocket only, ``--quick``, the scenarios given, by
default ``flood-apart``) with two timestamps recorded in the browser: when a page's
batch reaches the core (``Turns.ready``, with whether a turn was already scheduled
then) and when a batch leaves for a page (``PageBridge._emit``). A quiet round trip
is then four parts: the pinger's batch in → the echo's batch out (the bridge and the
core), → the echo's answer in (the echo's renderer, the IPC both ways and the wait
for the main thread), → the pinger's batch out, → the pinger's next batch in. Each
is reported per phase (median, p90, p99, max, ms), and the first part again split by
whether a turn was already scheduled when the batch arrived.

    python -m bench.profile.quiet_split [SCENARIO,...]
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench import stats

PARTS = {
    ("in", "pinger"): "pinger in",
    ("out", "echo"): "echo out",
    ("in", "echo"): "echo in",
    ("out", "pinger"): "pinger out",
}


def _role(bridge: Any) -> str:
    """The page's role in bench.isolation (its URL's ``role``), or '' for a link."""
    page = getattr(bridge, "_page", None)
    if page is None:
        return ""
    query = dict(p.split("=", 1) for p in page.url().query().split("&") if "=" in p)
    return query.get("role", "")


def record() -> list[tuple[float, str, str, bool]]:
    """Patch the bridge and the turns to timestamp (wall s, in|out, role, scheduled)."""
    from bridge import page as bridge_page
    from swarm import turns

    events: list[tuple[float, str, str, bool]] = []
    ready, emit = turns.Turns.ready, bridge_page.PageBridge._emit

    def timed_ready(self: Any, source: Any) -> None:
        events.append((time.time(), "in", _role(source), self._scheduled))
        ready(self, source)

    def timed_emit(self: Any, text: str) -> None:
        events.append((time.time(), "out", _role(self), False))
        emit(self, text)

    turns.Turns.ready = timed_ready  # type: ignore[method-assign]
    bridge_page.PageBridge._emit = timed_emit  # type: ignore[method-assign]
    return events


def parts(events: list[tuple[float, str, str, bool]], windows: list[list[float]]) -> dict[str, list[float]]:
    """Each part of the quiet round trips that fall in ``windows``, in ms."""
    out: dict[str, list[float]] = {}
    last: tuple[float, str, bool] | None = None
    for wall, way, role, scheduled in sorted(events):
        name = PARTS.get((way, role))
        if name is None:
            continue
        if not any(t0 <= wall < t1 for t0, t1 in windows):
            last = None
            continue
        if last is not None:
            ms = (wall - last[0]) * 1000
            out.setdefault(f"{last[1]} -> {name}", []).append(ms)
            if last[1] == "pinger in":
                key = "pinger in -> echo out, " + ("a turn was scheduled" if last[2] else "inline")
                out.setdefault(key, []).append(ms)
        last = (wall, name, scheduled)
    return out


def main() -> int:
    scenarios = sys.argv[1] if len(sys.argv) > 1 else "flood-apart"
    events = record()
    from bench import isolation

    sys.argv = ["bench.isolation", "--quick", "--scenarios", scenarios, "--out", "/dev/null"]
    result: dict[str, Any] = {}
    run = isolation.run

    def keep(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result.update(run(*args, **kwargs))
        return result

    isolation.run = keep  # type: ignore[assignment]
    isolation.main()
    phases: dict[str, list[list[float]]] = {}
    for r in result["runs"]:
        phases.setdefault(r["scenario"], []).append(r["window"])
    for phase, windows in phases.items():
        print(phase)
        for name, ms in parts(events, windows).items():
            p90, p99 = stats.percentile(ms, 90), stats.percentile(ms, 99)
            print(
                f"  {name:44s} n={len(ms):5d}  median {stats.median(ms):6.2f}  "
                f"p90 {p90:6.2f}  p99 {p99:6.2f}  max {max(ms):6.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
