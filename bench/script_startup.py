"""What the injected PeerSocket script costs a page as it starts, against another version.

    .venv/bin/python -m bench.script_startup [--baseline REV | --baseline-file PATH]
                                             [--rounds N] [--out JSON]

The browser runs ``js/peersocket.js`` at the creation of every top-level document, so
its start-up cost is paid per page. This measures it in a real QtWebEngine page: each
sample runs the script as a classic ``<script>`` in 40 fresh same-origin iframes (a
fresh global each, as a new document has; iframes and script elements are made before
and removed after) and counts the CPU time of the renderer's main thread meanwhile
(``/proc/PID/schedstat``: on a machine shared with other work, wall time would count
the time the renderer waits for a CPU). Two kinds:

- **cold**: a source V8 has not seen (a unique comment appended), so it is parsed and
  compiled: the first page in a renderer process;
- **warm**: the same source again, from V8's compilation cache: every later page.

The baseline is the same measurement of another version of the script in the same run
(default: ``feffb2f``, the last hand-written single-file ``peersocket.js``, before it
was split into modules), with the rounds interleaved (baseline first in even rounds,
current first in odd ones). **floor** is an empty script, measured the same way: what
the measuring itself costs. Figures: medians over the rounds, ms per page, and the
ratio current / baseline (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.qtpages import QtSession, run_on_qt

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "feffb2f"
BATCH = 40

SETUP = """(() => {
  let frames = [];
  let unique = 0;
  window.__startup = {
    sources: %s,
    prepare (name, kind, batch) {
      const source = this.sources[name];
      for (let i = 0; i < batch; i++) {
        const f = document.createElement('iframe');
        document.body.appendChild(f);
        const s = f.contentDocument.createElement('script');
        s.textContent = kind === 'cold' ? `${source}\\n// ${++unique}` : source;
        frames.push([f, s]);
      }
      return true;
    },
    run () {
      for (const [f, s] of frames) f.contentDocument.head.appendChild(s);
      return true;
    },
    clean () {
      for (const [f] of frames) f.remove();
      frames = [];
      return true;
    }
  };
  return true;
})()"""


def main_thread_cpu_ns(pid: int) -> int:
    """CPU time of a process's main thread so far (first field of its schedstat)."""
    with open(f"/proc/{pid}/schedstat", encoding="ascii") as f:
        return int(f.read().split()[0])


def baseline_source(rev: str | None, path: str | None) -> tuple[str, str]:
    if path:
        return path, Path(path).read_text(encoding="utf-8")
    rev = rev or DEFAULT_BASELINE
    text = subprocess.run(
        ["git", "show", f"{rev}:js/peersocket.js"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return rev, text


async def measure(sources: dict[str, str], rounds: int) -> dict[str, Any]:
    session = QtSession(core=None)
    samples: dict[str, dict[str, list[float]]] = {n: {"cold": [], "warm": []} for n in sources}
    try:
        page = await session.floor_page()
        pid = page.renderProcessPid()
        await session.evaluate(page, SETUP % json.dumps(sources))
        names = list(sources)
        for round_ in range(-1, rounds):  # round -1 warms up
            order = names if round_ % 2 == 0 else names[::-1]
            for kind in ("cold", "warm"):
                for name in order:
                    await session.evaluate(page, f"__startup.prepare({json.dumps(name)}, '{kind}', {BATCH})")
                    before = main_thread_cpu_ns(pid)
                    await session.evaluate(page, "__startup.run()")
                    spent = main_thread_cpu_ns(pid) - before
                    await session.evaluate(page, "__startup.clean()")
                    if round_ >= 0:
                        samples[name][kind].append(spent / BATCH / 1e6)
    finally:
        await session.close()
    medians = {n: {k: statistics.median(xs) for k, xs in kinds.items()} for n, kinds in samples.items()}
    return {"rounds": rounds, "batch": BATCH, "samples": samples, "median_ms": medians}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", metavar="REV", help=f"git revision (default {DEFAULT_BASELINE})")
    parser.add_argument("--baseline-file", metavar="PATH", help="a script file instead of a revision")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", help="write the raw samples and medians as JSON here")
    args = parser.parse_args()

    label, base = baseline_source(args.baseline, args.baseline_file)
    current = (ROOT / "js" / "peersocket.js").read_text(encoding="utf-8")
    sources = {"floor": "void 0;", "baseline": base, "current": current}
    result: dict[str, Any] = {}

    async def run() -> dict[str, Any]:
        result.update(await measure(sources, args.rounds))
        result["baseline"] = label
        return result

    run_on_qt(run, args.out or "/dev/null")
    med = result["median_ms"]
    print(f"baseline = {label} ({len(base):,} characters), current = js/peersocket.js ({len(current):,})")
    print(f"renderer main-thread CPU ms per page: medians of {args.rounds} rounds of {BATCH} pages")
    print("| | floor (empty script) | baseline | current | current / baseline |")
    print("|---|---|---|---|---|")
    for kind in ("cold", "warm"):
        f, b, c = med["floor"][kind], med["baseline"][kind], med["current"][kind]
        print(f"| {kind} | {f:.3f} | {b:.3f} | {c:.3f} | {c / b:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
