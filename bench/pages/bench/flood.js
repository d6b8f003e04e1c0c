// The long flood (bench/flood.py): one page floods another through the real PeerSocket
// API while a third page pings a fourth and the flooding page; all four in one swarm.
//
// Roles, each started and stopped by the harness:
//   F.startFlood(peer, kind, highWater)  write as fast as write() allows, keeping at most
//                                        highWater bytes in bufferedAmount (16 MiB: the
//                                        page's whole send queue), waiting on bufferedamountlow
//   F.startReader(peer, mode, perSecond) 'read' (every message read as it arrives),
//                                        'slow' (the readable stream, perSecond reads a
//                                        second) or 'stalled' (the stream, never read)
//   F.echo(peer)                         answer every ping on that socket
//   F.startPing(peers, periodMs)         one ping to each peer in turn, every periodMs
// and F.stop*() return what each saw. Nothing here waits on a timer for correctness:
// timers only pace the pings and the slow reader.
'use strict';

const F = {
  w: null,
  r: null,
  p: null,

  _socket (peer) {
    const s = B.swarm.getSocket(peer);
    if (!s) throw new Error(`no socket to ${peer}`);
    return s;
  },

  // --- the writer -----------------------------------------------------------------------

  startFlood (peer, kind, highWater) {
    const s = F._socket(peer);
    const msg = makeMessage(kind);
    const w = {
      kind, highWater, written: 0, accepted: 0, rejected: 0, errors: {}, maxBuffered: 0,
      blockedMs: 0, waits: 0, stop: false, wake: null, t0: performance.now(), t1: 0
    };
    F.w = w;
    s.bufferedAmountLowThreshold = Math.floor(highWater * 3 / 4);
    const accepted = () => { w.accepted++; };
    const rejected = (e) => { w.rejected++; const c = (e && e.code) || String(e); w.errors[c] = (w.errors[c] || 0) + 1; };
    const size = kind === 'binary' ? 64 * 1024 : 32; // an upper bound of the encoded size
    w.done = (async () => {
      let slice = performance.now();
      while (!w.stop) {
        if (s.bufferedAmount + size > highWater) {
          const t = performance.now();
          w.waits++;
          await new Promise((resolve) => {
            w.wake = resolve;
            s.addEventListener('bufferedamountlow', resolve, { once: true });
          });
          s.removeEventListener('bufferedamountlow', w.wake);
          w.wake = null;
          w.blockedMs += performance.now() - t;
          slice = performance.now();
          continue;
        }
        s.write(msg).then(accepted, rejected);
        w.written++;
        const b = s.bufferedAmount;
        if (b > w.maxBuffered) w.maxBuffered = b;
        // a well-behaved page: give its event loop a turn every few ms of writing
        if (performance.now() - slice > 4) { await yieldTask(); slice = performance.now(); }
      }
      w.t1 = performance.now();
    })();
    return true;
  },

  async stopFlood () {
    const w = F.w;
    w.stop = true;
    if (w.wake) w.wake();
    await w.done;
    return {
      kind: w.kind, high_water: w.highWater, written: w.written, accepted_by_stop: w.accepted,
      rejected: w.rejected, errors: w.errors, max_buffered: w.maxBuffered, waits: w.waits,
      blocked_ms: w.blockedMs, ms: w.t1 - w.t0
    };
  },

  // Resolves once everything written on the socket to `peer` has been consumed.
  drained (peer) {
    const s = F._socket(peer);
    if (s.bufferedAmount === 0) return Promise.resolve(true);
    s.bufferedAmountLowThreshold = 0;
    return new Promise((resolve) => s.addEventListener('bufferedamountlow', () => resolve(true), { once: true }));
  },

  bufferedAmount (peer) { return F._socket(peer).bufferedAmount; },

  // --- the reader -----------------------------------------------------------------------

  startReader (peer, mode, perSecond) {
    const s = F._socket(peer);
    const r = { mode, delivered: 0, deliveredBytes: 0, read: 0, stop: false, t0: performance.now() };
    F.r = r;
    s.onmessage = (e) => {
      r.delivered++;
      const m = e.message;
      r.deliveredBytes += m instanceof Uint8Array ? m.length : 0;
    };
    if (mode === 'read') {
      r.done = Promise.resolve(); // message events only: each message is read as it arrives
    } else if (mode === 'slow') {
      const reader = s.readable.getReader();
      r.cancel = () => reader.cancel();
      r.done = (async () => {
        const gap = 1000 / perSecond;
        let next = performance.now();
        while (!r.stop) {
          const { done } = await reader.read();
          if (done) break;
          r.read++;
          next += gap;
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => { r.wake = resolve; r.timer = setTimeout(resolve, wait); });
        }
      })();
    } else if (mode === 'stalled') {
      const stream = s.readable; // taken, never read: holds the writer to its window
      r.cancel = () => stream.cancel();
      r.done = Promise.resolve();
    } else {
      throw new Error(`unknown reader mode ${mode}`);
    }
    return true;
  },

  // Stops reading slowly (or not at all): the stream is cancelled, so what it held
  // counts as read and later messages are read as they arrive.
  async stopReader () {
    const r = F.r;
    r.stop = true;
    clearTimeout(r.timer);
    if (r.wake) r.wake();
    if (r.cancel) await r.cancel();
    await r.done;
    return { mode: r.mode, delivered: r.delivered, delivered_bytes: r.deliveredBytes, read: r.read, ms: performance.now() - r.t0 };
  },

  // --- latency of other sockets ---------------------------------------------------------

  echo (peer) {
    const s = F._socket(peer);
    s.onmessage = (e) => { s.write(e.message); };
    return true;
  },

  startPing (peers, periodMs) {
    const sockets = peers.map(F._socket);
    const p = { stop: false, samples: peers.map(() => []), at: peers.map(() => []), waiting: null };
    F.p = p;
    sockets.forEach((s, i) => {
      s.onmessage = (e) => { if (p.waiting && p.waiting.i === i && e.message.seq === p.waiting.seq) p.waiting.resolve(); };
    });
    let seq = 0;
    p.done = (async () => {
      let next = performance.now();
      while (!p.stop) {
        for (let i = 0; i < sockets.length; i++) {
          const mySeq = ++seq;
          const back = new Promise((resolve) => { p.waiting = { i, seq: mySeq, resolve }; });
          const t0 = performance.now();
          sockets[i].write({ type: 'ping', seq: mySeq });
          await back;
          const t1 = performance.now();
          p.samples[i].push(Math.round((t1 - t0) * 1000) / 1000);
          p.at[i].push(Math.round(performance.timeOrigin + t0));
        }
        next += periodMs;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else next = performance.now(); // a slow round trip: no burst to catch up
      }
    })();
    return true;
  },

  async stopPing () {
    const p = F.p;
    p.stop = true;
    await p.done;
    return { samples_ms: p.samples, at_ms: p.at };
  }
};

window.F = F;
