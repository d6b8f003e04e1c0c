// The idioms docs/API.md teaches, written as a dApp developer writes them, timed.
//
// One page per tab, opened the way `peerbrowser --headless URL URL` opens them (every
// tab but the first is a background tab). The URL says what the page is:
//   ?role=ping|echo&transport=peersocket|rtc&idiom=NAME&room=ROOM&n=N&flood=F&warmup=W
// A ping page measures round trips and then a one-way flood to its echo page, and
// posts the figures to /report on its own origin (the benchmark's server). Before and
// after each timed phase it posts /mark and waits for the answer, so the benchmark can
// read the browser's channel counters at exactly those points.
//
// Idioms (PeerSocket):
//   await-for-await  ping: await socket.write(m), then the next value of a
//                    `for await (const m of socket.readable)` loop; echo: for await ...
//                    { await socket.write(m) }; flood: `await socket.write(m)` each.
//   reader-read      ping: await socket.write(m); await reader.read(); echo: for await;
//                    flood: `const p = socket.write(m); if (socket.bufferedAmount > 1<<20)
//                    await p`, the reader `await reader.read()` in a loop.
//   events           ping: socket.write(m) and the next 'message' event; echo:
//                    onmessage = (e) => socket.write(e.message); flood: write while
//                    bufferedAmount is under 1 MiB, else await 'bufferedamountlow'.
// RTCDataChannel (the baseline): dc.send(JSON.stringify(m)), 'message' events, the same
// bufferedAmount / bufferedamountlow backpressure.
'use strict';

const params = new URLSearchParams(location.search);
const ROLE = params.get('role');
const TRANSPORT = params.get('transport') || 'peersocket';
const IDIOM = params.get('idiom') || 'events';
const ROOM = params.get('room') || 'bench-idioms';
const N = Number(params.get('n') || 1000);
const FLOOD = Number(params.get('flood') || 20000);
const WARMUP = Number(params.get('warmup') || 50);
const KIND = params.get('kind') || 'small';
const REPS = Number(params.get('reps') || 1);
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 * 1024;
const BLOCK = 10; // round trips per block (the page clock is coarse: blocks are finer)

function message () {
  if (KIND === 'small') return { type: 'text', text: 'hello world' };
  const bytes = new Uint8Array(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
  return bytes;
}

function isCtl (m, name) {
  return m !== null && typeof m === 'object' && !(m instanceof Uint8Array) && m.ctl === name;
}

function status (text) { document.title = `${ROLE} ${IDIOM}: ${text}`; }

// --- PeerSocket ------------------------------------------------------------------------

async function peerSocket () {
  const swarm = await PeerSocket.joinSwarm({ id: ROOM });
  while (swarm.getSockets().length < 1) {
    await new Promise((resolve) => swarm.addEventListener('connection', resolve, { once: true }));
  }
  const socket = swarm.getSockets()[0];
  socket.bufferedAmountLowThreshold = LOW_WATER;
  return { swarm, socket };
}

// A socket as each idiom reads it: next() is the next message.
function reading (socket, idiom) {
  if (idiom === 'events') {
    let waiter = null;
    const queue = [];
    socket.addEventListener('message', (e) => {
      if (waiter) { const w = waiter; waiter = null; w(e.message); } else queue.push(e.message);
    });
    return () => queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => { waiter = resolve; });
  }
  if (idiom === 'reader-read') {
    const reader = socket.readable.getReader();
    return async () => (await reader.read()).value;
  }
  // await-for-await: one `for await` loop feeding whoever waits
  let waiter = null;
  const queue = [];
  (async () => {
    for await (const m of socket.readable) {
      if (waiter) { const w = waiter; waiter = null; w(m); } else queue.push(m);
    }
  })();
  return () => queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => { waiter = resolve; });
}

async function echoPeerSocket () {
  const { socket } = await peerSocket();
  status('echoing');
  let counting = 0;
  const handle = async (m) => {
    if (counting > 0) {
      if (--counting === 0) await socket.write({ ctl: 'done' });
      return;
    }
    if (isCtl(m, 'count')) { counting = m.n; await socket.write({ ctl: 'ready' }); return; }
    if (IDIOM === 'events') socket.write(m); else await socket.write(m);
  };
  if (IDIOM === 'events') {
    socket.onmessage = (e) => { handle(e.message); };
  } else if (IDIOM === 'reader-read') {
    const reader = socket.readable.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await handle(value);
    }
  } else {
    for await (const m of socket.readable) await handle(m);
  }
}

async function pingPeerSocket () {
  const { socket } = await peerSocket();
  const next = reading(socket, IDIOM);
  return () => measurePeerSocket(socket, next);
}

async function measurePeerSocket (socket, next) {
  const msg = message();
  const send = IDIOM === 'events' ? (m) => { socket.write(m); } : (m) => socket.write(m);
  const rtt = await roundTrips(send, next, msg);
  // flood, one way, with the idiom's own backpressure
  await send({ ctl: 'count', n: FLOOD });
  if (!isCtl(await next(), 'ready')) throw new Error('echo did not get ready');
  const start = markNow('flood-start');
  const t0 = performance.now();
  if (IDIOM === 'await-for-await') {
    for (let i = 0; i < FLOOD; i++) await socket.write(msg);
  } else if (IDIOM === 'reader-read') {
    for (let i = 0; i < FLOOD; i++) {
      const p = socket.write(msg);
      if (socket.bufferedAmount > HIGH_WATER) await p;
    }
  } else {
    let sent = 0;
    while (sent < FLOOD) {
      while (sent < FLOOD && socket.bufferedAmount <= HIGH_WATER) { socket.write(msg); sent++; }
      if (sent < FLOOD) await new Promise((resolve) => socket.addEventListener('bufferedamountlow', resolve, { once: true }));
    }
  }
  if (!isCtl(await next(), 'done')) throw new Error('echo did not count the flood');
  const ms = performance.now() - t0;
  const marks = markNow('flood-end');
  return { rtt, flood: { ms, n: FLOOD, msgs_per_s: FLOOD / (ms / 1000), start, marks } };
}

async function roundTrips (send, next, msg) {
  const samples = [];
  const blocks = [];
  let blockStart = 0;
  let marks = null;
  let start = null;
  for (let i = 0; i < WARMUP + N; i++) {
    if (i === WARMUP) start = markNow('rtt-start');
    const t0 = performance.now();
    if (i >= WARMUP && (i - WARMUP) % BLOCK === 0) blockStart = t0;
    const got = next();
    await send(msg);
    await got;
    const t1 = performance.now();
    if (i >= WARMUP) samples.push(t1 - t0);
    if (i >= WARMUP && (i - WARMUP) % BLOCK === BLOCK - 1) blocks.push((t1 - blockStart) / BLOCK);
  }
  marks = markNow('rtt-end');
  return { samples, blocks, n: N, start, marks };
}

// --- RTCDataChannel (common.js sets it up) ------------------------------------------------

const encodeDc = (m) => (m instanceof Uint8Array ? m : JSON.stringify(m));
const decodeDc = (d) => (typeof d === 'string' ? JSON.parse(d) : new Uint8Array(d));

async function echoRtc () {
  const { dc } = await dataChannel(ROOM, ROLE === 'ping', LOW_WATER);
  status('echoing');
  let counting = 0;
  dc.onmessage = (e) => {
    const m = decodeDc(e.data);
    if (counting > 0) {
      if (--counting === 0) dc.send(encodeDc({ ctl: 'done' }));
      return;
    }
    if (isCtl(m, 'count')) { counting = m.n; dc.send(encodeDc({ ctl: 'ready' })); return; }
    dc.send(encodeDc(m));
  };
}

async function pingRtc () {
  const { dc } = await dataChannel(ROOM, ROLE === 'ping', LOW_WATER);
  let waiter = null;
  const queue = [];
  dc.onmessage = (e) => {
    const m = decodeDc(e.data);
    if (waiter) { const w = waiter; waiter = null; w(m); } else queue.push(m);
  };
  const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => { waiter = resolve; });
  return () => measureRtc(dc, next);
}

async function measureRtc (dc, next) {
  const send = (m) => { dc.send(encodeDc(m)); };
  const msg = message();
  const rtt = await roundTrips(send, next, msg);
  send({ ctl: 'count', n: FLOOD });
  if (!isCtl(await next(), 'ready')) throw new Error('echo did not get ready');
  const start = markNow('flood-start');
  const t0 = performance.now();
  let sent = 0;
  while (sent < FLOOD) {
    while (sent < FLOOD && dc.bufferedAmount <= HIGH_WATER) { send(msg); sent++; }
    if (sent < FLOOD) await new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true }));
  }
  if (!isCtl(await next(), 'done')) throw new Error('echo did not count the flood');
  const ms = performance.now() - t0;
  const marks = markNow('flood-end');
  return { rtt, flood: { ms, n: FLOOD, msgs_per_s: FLOOD / (ms / 1000), start, marks } };
}

// --- main ------------------------------------------------------------------------------------

(async () => {
  try {
    status('starting');
    if (ROLE === 'echo') {
      await (TRANSPORT === 'rtc' ? echoRtc() : echoPeerSocket());
      return;
    }
    const measure = await (TRANSPORT === 'rtc' ? pingRtc() : pingPeerSocket());
    for (let rep = 0; rep < REPS; rep++) {
      await post('/turn', { room: ROOM, rep });
      status(`rep ${rep}`);
      const result = await measure();
      result.visibility = document.visibilityState;
      await post('/report', { ok: true, transport: TRANSPORT, idiom: IDIOM, room: ROOM, rep, result });
    }
    status('done');
  } catch (e) {
    await post('/report', { ok: false, transport: TRANSPORT, idiom: IDIOM, room: ROOM, error: String(e && e.stack || e) });
    status('failed');
  }
})();
