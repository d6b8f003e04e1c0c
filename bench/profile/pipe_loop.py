"""A pipe's round trip under qasync's loop and under the browser's (``browser/qtloop.py``).

    QT_QPA_PLATFORM=offscreen python -m bench.profile.pipe_loop [ROUND_TRIPS] [ROUNDS]

The swarm core reads its sidecar's stdout through an asyncio pipe transport. Under
qasync's own ``QEventLoop`` the transport's reader is scheduled with ``call_soon`` (a Qt
timer) when the pipe's notifier fires; under ``browser.qtloop.QtLoop`` it runs in the
notifier's slot. This writes a byte to ``cat`` and waits for it to come back, ROUND_TRIPS
times, under each loop in turn (ROUNDS alternations, each loop in a child process of its
own so neither inherits the other's Qt state), and prints the median round trip of each
round in µs. Local pipes only; no network.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

from bench import stats

LOOPS = ("qasync", "qtloop")


class _Echo(asyncio.SubprocessProtocol):
    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(data)


async def _round_trips(n: int) -> float:
    loop = asyncio.get_running_loop()
    transport, echo = await loop.subprocess_exec(
        _Echo, "cat", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    stdin = transport.get_pipe_transport(0)
    assert stdin is not None
    samples = []
    try:
        for _ in range(n + 100):
            echo.waiter = loop.create_future()
            start = time.perf_counter()
            stdin.write(b"x")  # type: ignore[attr-defined]
            await echo.waiter
            samples.append(time.perf_counter() - start)
    finally:
        transport.close()
    return stats.median(samples[100:]) * 1e6  # the first hundred warm up


def _child(which: str, n: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PyQt6.QtWidgets import QApplication

    from browser.qtloop import QtLoop

    app = QApplication([sys.argv[0]])
    loop = QtLoop(app) if which == "qtloop" else qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        print(json.dumps({which: loop.run_until_complete(_round_trips(n))}))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]))
        return 0
    args = sys.argv[1:]
    n = int(args[0]) if args else 3000
    rounds = int(args[1]) if len(args) > 1 else 3
    results: dict[str, list[float]] = {which: [] for which in LOOPS}
    for r in range(rounds):
        order = LOOPS if r % 2 == 0 else tuple(reversed(LOOPS))  # neither always first
        for which in order:
            out = subprocess.run(
                [sys.executable, "-m", "bench.profile.pipe_loop", "--child", which, str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[which].append(json.loads(out.stdout.strip().splitlines()[-1])[which])
    for which, medians in results.items():
        print(f"{which:7s} pipe round trip, median per round: {', '.join(f'{m:.1f}' for m in medians)} us")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
