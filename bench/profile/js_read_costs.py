"""What a message costs a reading page in this QtWebEngine's renderer, by idiom.

    QT_QPA_PLATFORM=offscreen python -m bench.profile.js_read_costs [N]

In one blank page (no PeerSocket traffic), per message, in µs: a ``message`` event made
the way ``js/peersocket/events.js`` makes it (``new Event`` and ``defineProperty`` per
field), and an ``Event`` subclass with getters instead, each with and without a
listener; a ``ReadableStream`` read whose chunk the source's ``pull`` enqueues (as
``socket.readable`` does: ``highWaterMark`` 0), and one whose chunk was already queued.
Two rounds; the second is printed (the first warms V8 up). Explains the gap between the
``message``-event idiom and the ``readable`` idioms in ``bench/idioms.py``.
"""

from __future__ import annotations

import sys
from typing import Any

EXPR = r"""(async () => {
  const N = __N__;
  function fire (target, type, props) {
    const evt = new Event(type);
    if (props) {
      for (const k of Object.keys(props)) {
        Object.defineProperty(evt, k, { value: props[k], enumerable: true });
      }
    }
    target.dispatchEvent(evt);
  }
  class MessageEventWithGetters extends Event {
    #m;
    constructor (m) { super('message'); this.#m = m; }
    get message () { return this.#m; }
    get data () { return this.#m; }
  }
  const per = (t0, n) => (performance.now() - t0) * 1000 / n;
  let out = {};
  for (let round = 0; round < 2; round++) {
    out = {};
    const t = new EventTarget();
    let t0 = performance.now();
    for (let i = 0; i < N; i++) fire(t, 'message', { message: i, data: i });
    out.event_defineProperty_no_listener = per(t0, N);
    t0 = performance.now();
    for (let i = 0; i < N; i++) t.dispatchEvent(new MessageEventWithGetters(i));
    out.event_getters_no_listener = per(t0, N);
    let sum = 0;
    t.addEventListener('message', (e) => { sum += e.message; });
    t0 = performance.now();
    for (let i = 0; i < N; i++) fire(t, 'message', { message: i, data: i });
    out.event_defineProperty_listener = per(t0, N);
    t0 = performance.now();
    for (let i = 0; i < N; i++) t.dispatchEvent(new MessageEventWithGetters(i));
    out.event_getters_listener = per(t0, N);
    const reads = Math.min(N, 20000);
    const waiting = [];
    const source = { pull (c) { if (waiting.length) c.enqueue(waiting.shift()); } };
    const pulled = new ReadableStream(source, { highWaterMark: 0 });
    const r1 = pulled.getReader();
    for (let i = 0; i < reads; i++) waiting.push(i);
    t0 = performance.now();
    for (let i = 0; i < reads; i++) await r1.read();
    out.stream_read_pulled = per(t0, reads);
    let ctrl = null;
    const queued = new ReadableStream({ start (c) { ctrl = c; } }, { highWaterMark: 0 });
    const r2 = queued.getReader();
    for (let i = 0; i < reads; i++) ctrl.enqueue(i);
    t0 = performance.now();
    for (let i = 0; i < reads; i++) await r2.read();
    out.stream_read_queued = per(t0, reads);
  }
  return out;
})()"""


async def run(n: int) -> dict[str, Any]:
    from bench.qtpages import QtSession
    from swarm.core import SwarmCore

    core = SwarmCore(grace=0.0)
    session = QtSession(core)
    try:
        page = await session.floor_page()
        result: dict[str, Any] = await session.evaluate(page, EXPR.replace("__N__", str(n)))
        return {"us_per_message": {k: round(v, 3) for k, v in result.items()}, "n": n}
    finally:
        await session.close()
        await core.close()


def main() -> int:
    from bench.qtpages import run_on_qt

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    return run_on_qt(lambda: run(n), None)


if __name__ == "__main__":
    sys.exit(main())
