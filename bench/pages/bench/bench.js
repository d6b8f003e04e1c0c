// Benchmark side of a page: transports (PeerSocket, RTCDataChannel, a bare QWebChannel
// echo) behind one small interface, and the two measurements run on each of them.
//
// A transport: send(msg), onmessage = fn(msg), buffered() bytes not yet taken,
// drained() a promise for "buffered() went low again". The peer side of every
// measurement is echo(t): it echoes messages back, except in counting mode
// ({ctl: 'count', n} ... n messages ... then it answers {ctl: 'done'}).
'use strict';

const HIGH_WATER = 1024 * 1024; // bytes a sender lets pile up before it waits
const LOW_WATER = 256 * 1024;

function yieldTask () { // a macrotask turn without setTimeout's clamping
  return new Promise((resolve) => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(); ch.port2.postMessage(0); });
}

function makeMessage (kind) {
  if (kind === 'small') return { type: 'text', text: 'hello world' };
  const bytes = new Uint8Array(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
  return bytes;
}

function isCtl (m, name) { return m !== null && typeof m === 'object' && !(m instanceof Uint8Array) && m.ctl === name; }

const B = {
  transport: null,
  log: [],

  // --- transports -------------------------------------------------------------------

  async peersocket (room, peerCount) {
    const swarm = await PeerSocket.joinSwarm({ id: room });
    B.swarm = swarm;
    const want = peerCount === undefined ? 1 : peerCount;
    while (swarm.getSockets().length < want) await new Promise((resolve) => swarm.addEventListener('connection', resolve, { once: true }));
    return swarm.getLoopback().info.id;
  },

  // The echo of a device pair: echoes the first peer socket from its connection
  // event's listener, so that the messages that follow the event, even in the same
  // batch from the browser, have their listener (as firstPeer, usePeer and echo in
  // three calls did not: a measuring page on the other device that started at once
  // could send before it, and the bench waited for the lost answer).
  echoFirstPeer () {
    return new Promise((resolve) => {
      const use = (socket) => { B.usePeer(socket.info.id); B.echo(); resolve(socket.info.id); };
      const first = B.swarm.getSockets()[0];
      if (first) use(first);
      else B.swarm.addEventListener('connection', (e) => use(e.socket), { once: true });
    });
  },

  // The first peer socket of the swarm, waiting for one (peers on other devices come later).
  async firstPeer () {
    while (B.swarm.getSockets().length < 1) await new Promise((resolve) => B.swarm.addEventListener('connection', resolve, { once: true }));
    return B.swarm.getSockets()[0].info.id;
  },

  usePeer (peerId) {
    const socket = B.swarm.getSocket(peerId);
    if (!socket) throw new Error(`no socket to ${peerId}`);
    socket.bufferedAmountLowThreshold = LOW_WATER;
    const t = {
      name: 'peersocket',
      onmessage: null,
      send (m) { socket.write(m); },
      buffered () { return socket.bufferedAmount; },
      drained () { return new Promise((resolve) => socket.addEventListener('bufferedamountlow', resolve, { once: true })); }
    };
    socket.addEventListener('message', (e) => t.onmessage(e.message));
    B.transport = t;
    return true;
  },

  // RTCDataChannel: the offering side makes the channel; SDP goes through the harness.
  async rtcOffer () {
    const pc = new RTCPeerConnection({ iceServers: [] });
    B.pc = pc;
    B.dc = pc.createDataChannel('bench', { ordered: true });
    await pc.setLocalDescription(await pc.createOffer());
    await B._gathered(pc);
    return pc.localDescription.sdp;
  },

  async rtcAnswer (sdp) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    B.pc = pc;
    const channel = new Promise((resolve) => { pc.ondatachannel = (e) => resolve(e.channel); });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await B._gathered(pc);
    channel.then((dc) => { B.dc = dc; B._useDc(dc); });
    return pc.localDescription.sdp;
  },

  async rtcAccept (sdp) {
    await B.pc.setRemoteDescription({ type: 'answer', sdp });
    const dc = B.dc;
    if (dc.readyState !== 'open') await new Promise((resolve) => { dc.onopen = resolve; });
    B._useDc(dc);
    return true;
  },

  rtcOpen () { return !!(B.dc && B.dc.readyState === 'open' && B.transport); },

  _gathered (pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); }));
  },

  _useDc (dc) {
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = LOW_WATER;
    const t = {
      name: 'rtc',
      onmessage: null,
      // what a web developer does: JSON for structured values, binary as is
      send (m) { dc.send(m instanceof Uint8Array ? m : JSON.stringify(m)); },
      buffered () { return dc.bufferedAmount; },
      drained () { return new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true })); }
    };
    dc.onmessage = (e) => t.onmessage(typeof e.data === 'string' ? JSON.parse(e.data) : new Uint8Array(e.data));
    B.transport = t;
  },

  // A bare QWebChannel echo: a QObject slot that emits a signal back (the floor).
  // viaProperty: write a property instead of calling the slot (no response message).
  floor (viaProperty) {
    return new Promise((resolve) => {
      // eslint-disable-next-line no-new
      new QWebChannel(qt.webChannelTransport, (ch) => {
        const echo = ch.objects.benchecho;
        let inFlight = 0;
        let waiter = null;
        const t = {
          name: 'floor',
          onmessage: null,
          send (m) {
            inFlight++;
            const text = m instanceof Uint8Array ? 'b' + toB64(m) : 'j' + JSON.stringify(m);
            if (viaProperty) echo.inbox = text; else echo.ping(text);
          },
          buffered () { return inFlight * 64; }, // no buffer to read: a window of calls in flight
          drained () { return new Promise((resolve) => { waiter = resolve; }); }
        };
        echo.pong.connect((text) => {
          inFlight--;
          if (waiter && inFlight * 64 <= LOW_WATER) { const w = waiter; waiter = null; w(); }
          t.onmessage(text[0] === 'b' ? fromB64(text.slice(1)) : JSON.parse(text.slice(1)));
        });
        B.transport = t;
        B.floorMode = true;
        resolve(true);
      });
    });
  },

  // --- the peer side --------------------------------------------------------------------

  echo () {
    const t = B.transport;
    let counting = 0;
    t.onmessage = (m) => {
      if (counting > 0) {
        if (--counting === 0) t.send({ ctl: 'done' });
        return;
      }
      if (isCtl(m, 'count')) { counting = m.n; t.send({ ctl: 'ready' }); return; }
      t.send(m);
    };
    return true;
  },

  // --- measurements (the measuring side) -------------------------------------------------

  _next () { return new Promise((resolve) => { B.transport.onmessage = resolve; }); },

  // Sequential round trips. performance.now() is coarsened to 0.1 ms here, so
  // besides each sample it times blocks of BLOCK round trips (their mean, finer).
  async rtt (kind, n, warmup) {
    const BLOCK = 10;
    const t = B.transport;
    const msg = makeMessage(kind);
    const samples = [];
    const blocks = [];
    let blockStart = 0;
    for (let i = 0; i < warmup + n; i++) {
      const got = B._next();
      const t0 = performance.now();
      if (i >= warmup && (i - warmup) % BLOCK === 0) blockStart = t0;
      t.send(msg);
      await got;
      const t1 = performance.now();
      if (i >= warmup) samples.push(t1 - t0);
      if (i >= warmup && (i - warmup) % BLOCK === BLOCK - 1) blocks.push((t1 - blockStart) / BLOCK);
    }
    return { samples, blocks };
  },

  // One way, as fast as the receiver takes them, with the sender respecting bufferedAmount.
  async flood (kind, n) {
    const t = B.transport;
    const msg = makeMessage(kind);
    if (B.floorMode) return B._floodFloor(msg, n);
    const ready = B._next();
    t.send({ ctl: 'count', n });
    await ready;
    return B._timedFlood(msg, n, B._next());
  },

  // The floor echoes to this same page: count the echoes instead of asking a peer.
  async _floodFloor (msg, n) {
    const t = B.transport;
    let got = 0;
    const done = new Promise((resolve) => { t.onmessage = () => { if (++got === n) resolve(); }; });
    return B._timedFlood(msg, n, done);
  },

  // Send `msg` n times, keeping bufferedAmount under the high-water mark; the time
  // until `done` (the receiver has them all).
  async _timedFlood (msg, n, done) {
    const t = B.transport;
    const t0 = performance.now();
    let sent = 0;
    while (sent < n) {
      while (sent < n && t.buffered() <= HIGH_WATER) { t.send(msg); sent++; }
      if (sent < n) await t.drained();
    }
    await done;
    return { ms: performance.now() - t0, n };
  },

  // Scale: time until this page has `want` peers in `room` (from the call to joinSwarm),
  // giving up after `limitMs` (then `have` says how many it got).
  async meshTime (room, want, limitMs) {
    const t0 = performance.now();
    const swarm = await PeerSocket.joinSwarm({ id: room });
    B.swarm = swarm;
    const deadline = t0 + (limitMs || 10000);
    while (swarm.getSockets().length < want && performance.now() < deadline) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        swarm.addEventListener('connection', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
    return { ms: performance.now() - t0, t0: performance.timeOrigin + t0, have: swarm.getSockets().length };
  },

  // Fan-out: one message to every peer; each peer echoes; time until every echo is back.
  async fanout (kind, reps) {
    const msg = makeMessage(kind);
    const sockets = B.swarm.getSockets();
    const out = [];
    for (let r = 0; r < reps; r++) {
      let left = sockets.length;
      const done = new Promise((resolve) => {
        for (const s of sockets) s.onmessage = () => { if (--left === 0) resolve(); };
      });
      const t0 = performance.now();
      for (const s of sockets) s.write(msg);
      await done;
      out.push(performance.now() - t0);
    }
    for (const s of sockets) s.onmessage = null;
    return out;
  },

  echoAll () {
    B.swarm.addEventListener('connection', ({ socket }) => { socket.onmessage = (e) => socket.write(e.message); });
    for (const s of B.swarm.getSockets()) s.onmessage = (e) => s.write(e.message);
    return true;
  }
};

function toB64 (bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromB64 (text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

window.B = B;
window.yieldTask = yieldTask;
