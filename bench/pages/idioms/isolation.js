// Isolation: a quiet pair of tabs pings while a neighbour misbehaves (bench/isolation.py).
//
// ?role=ROLE&transport=peersocket|rtc&room=ROOM
// The benchmark's server runs phases {name, transport, seq}; every page long-polls
// /phase and does its part:
//   pinger, echo    the quiet pair of `transport`: the pinger does `await socket.write(m)`
//                   then `reader.read()` for the echo (`for await` ... `await
//                   socket.write(m)`) in every phase of its transport, keeps each round
//                   trip with the wall-clock time it started, and posts them all at the
//                   end (the benchmark sorts them into phases by those times).
//                   RTCDataChannel pages: dc.send and 'message' events.
//   writer, reader  the neighbour pair of `transport`, in 'flood' phases of it (and
//                   'flood-apart', the same with their renderers on a core of their own): the
//                   writer `const p = socket.write(m); if (socket.bufferedAmount > 1 << 20)
//                   await p` (200-byte messages), the reader `for await (const m of
//                   socket.readable)`; RTCDataChannel: dc.send under the same
//                   bufferedAmount bound, 'message' events. The writer posts when it
//                   really flooded (/window), and ends each flood with a message that
//                   tells the reader to post /flooded.
//   spammer, sink   in 'spam' phases (of either transport): the spammer calls the
//                   `peersocket` bridge object's `send` itself, speaking the QWebChannel
//                   protocol on window.qt.webChannelTransport, as fast as it can: one
//                   small write to the sink per batch, bursts of SPAM_BURST calls a
//                   macrotask, never waiting for an answer, never saying what it read
//                   (`seen`), so peersocket.js's bounds do not apply, for the first
//                   `spam` seconds of the phase. The sink reads with `for await`. Then
//                   the spammer waits for the answer to every call and posts the spam's
//                   window (its start to the last answer, /window) and counts (/spam).
//   victim          a tab in the swarm a remote device floods with JOIN/LEAVE ('join'
//                   phases, the attacker is bench/isolation.py's); it counts the
//                   `connection` and `close` events it gets (window.__victim).
'use strict';

const params = new URLSearchParams(location.search);
const ROLE = params.get('role');
const TRANSPORT = params.get('transport') || 'peersocket';
const ROOM = params.get('room') || 'bench-isolation';
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 * 1024;
const SPAM_BURST = 64;
const SPAM_MS = Number(params.get('spam') || 1) * 1000;
// The pairs do their part in phases of their own transport only; the others in any.
const PAIRED = ROLE === 'writer' || ROLE === 'reader' || ROLE === 'pinger' || ROLE === 'echo';

// A macrotask that background tabs do not throttle (setTimeout there waits up to 1 s).
const tick = (() => {
  const ch = new MessageChannel();
  const waiting = [];
  ch.port1.onmessage = () => { const f = waiting.shift(); if (f) f(); };
  return () => new Promise((resolve) => { waiting.push(resolve); ch.port2.postMessage(0); });
})();

// What this page is doing, for a benchmark that has to say why it waits (window.__iso).
const state = (window.__iso = { role: ROLE, transport: TRANSPORT, step: 'setup', seq: 0 });

let phase = { name: 'setup', transport: null, seq: 0 };
let phaseChanged = null;
async function followPhases () {
  for (;;) {
    const next = await post('/phase', { after: phase.seq, role: ROLE, transport: TRANSPORT });
    if (PAIRED && next.name !== 'end' && next.transport !== TRANSPORT) next.name = 'idle';
    phase = next;
    state.seq = phase.seq;
    if (phaseChanged) { const f = phaseChanged; phaseChanged = null; f(); }
    if (phase.name === 'end') return;
  }
}
const nextPhase = () => new Promise((resolve) => { phaseChanged = resolve; });

// Wall-clock milliseconds of a performance.now() reading (the benchmark's clock too).
const wall = (t) => Math.round((performance.timeOrigin + t) * 1000) / 1000;

function payload200 () { return { type: 'text', text: 'x'.repeat(180) }; }

// --- transports ---------------------------------------------------------------------

async function joined (room) {
  const swarm = await PeerSocket.joinSwarm({ id: room });
  while (swarm.getSockets().length < 1) {
    await new Promise((resolve) => swarm.addEventListener('connection', resolve, { once: true }));
  }
  return swarm;
}

async function peerSocket () {
  return (await joined(ROOM)).getSockets()[0];
}

const ready = (extra) => post('/ready', { role: ROLE, transport: TRANSPORT, ...extra });

// --- the pairs ------------------------------------------------------------------------

// The writer ends each flood with this, in band: once the reader has it, it has read the
// whole flood (the drain is over).
const endOf = (seq) => ({ type: 'text', ctl: 'end', seq });

async function writer () {
  const msg = payload200();
  let send, write;
  let written = 0; // in this phase's flood (its /window says how many)
  if (TRANSPORT === 'rtc') {
    const { dc } = await dataChannel(ROOM, ROLE === 'writer' || ROLE === 'pinger', LOW_WATER);
    const text = JSON.stringify(msg);
    send = (m) => { dc.send(JSON.stringify(m)); };
    write = async (seq) => {
      while (phase.seq === seq) {
        while (phase.seq === seq && dc.bufferedAmount <= HIGH_WATER) { written++; dc.send(text); }
        if (phase.seq === seq) {
          await new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true }));
        }
      }
    };
  } else {
    const socket = await peerSocket();
    send = (m) => socket.write(m);
    write = async (seq) => {
      while (phase.seq === seq) {
        written++;
        const p = socket.write(msg);
        if (socket.bufferedAmount > HIGH_WATER) await p;
      }
    };
  }
  await ready();
  for (;;) {
    if (phase.name === 'end') return;
    if (phase.name !== 'flood' && phase.name !== 'flood-apart') { await nextPhase(); continue; }
    const seq = phase.seq;
    const t0 = performance.now();
    written = 0;
    await write(seq);
    const t1 = performance.now();
    await send(endOf(seq));
    post('/window', { scenario: 'flood', seq, t0: wall(t0), t1: wall(t1), messages: written });
  }
}

async function reader () {
  const flooded = (m) => {
    if (m && m.ctl === 'end') post('/flooded', { transport: TRANSPORT, seq: m.seq });
  };
  if (TRANSPORT === 'rtc') {
    const { dc } = await dataChannel(ROOM, ROLE === 'writer' || ROLE === 'pinger', LOW_WATER);
    dc.onmessage = (e) => { flooded(JSON.parse(e.data)); };
    await ready();
    return;
  }
  const socket = await peerSocket();
  await ready();
  for await (const m of socket.readable) flooded(m);
}

async function echo () {
  if (TRANSPORT === 'rtc') {
    const { dc } = await dataChannel(ROOM, ROLE === 'writer' || ROLE === 'pinger', LOW_WATER);
    dc.onmessage = (e) => dc.send(e.data);
    await ready();
    return;
  }
  const socket = await peerSocket();
  await ready();
  for await (const m of socket.readable) {
    state.step = 'echo ' + (m && m.n);
    await socket.write(m);
    state.step = 'echoed ' + (m && m.n);
  }
}

async function pinger () {
  const msg = { type: 'ping', n: 0 };
  let send, read;
  if (TRANSPORT === 'rtc') {
    const { dc } = await dataChannel(ROOM, ROLE === 'writer' || ROLE === 'pinger', LOW_WATER);
    let waiter = null;
    dc.onmessage = (e) => { const w = waiter; waiter = null; if (w) w(JSON.parse(e.data)); };
    send = (m) => { dc.send(JSON.stringify(m)); };
    read = () => new Promise((resolve) => { waiter = resolve; });
  } else {
    const socket = await peerSocket();
    const r = socket.readable.getReader();
    send = (m) => socket.write(m);
    read = async () => (await r.read()).value;
  }
  await ready();
  // [wall-clock ms when sent, round trip ms]: the benchmark puts each in the phase it
  // started in by the wall clock, so the pinger never waits for the server in between
  const samples = [];
  const visibility = new Set();
  for (;;) {
    if (phase.name === 'end') break;
    if (phase.name === 'setup' || phase.name === 'idle') { state.step = 'idle'; await nextPhase(); continue; }
    visibility.add(document.visibilityState);
    while (phase.name !== 'end' && phase.name !== 'setup' && phase.name !== 'idle') {
      msg.n++;
      const t0 = performance.now();
      const got = read();
      state.step = 'write ' + msg.n;
      await send(msg);
      state.step = 'read ' + msg.n;
      await got;
      state.step = 'got ' + msg.n;
      samples.push([wall(t0), Math.round((performance.now() - t0) * 1000) / 1000]);
    }
  }
  state.step = 'post';
  await post('/samples', { transport: TRANSPORT, samples, visibility: [...visibility] });
  state.step = 'done';
}

// --- a page spamming the channel ------------------------------------------------------

function base64 (bytes) { return btoa(String.fromCharCode(...bytes)); }

// The QWebChannel protocol itself (Qt's qwebchannel.js speaks it): message types.
const QWC = { signal: 1, init: 3, invokeMethod: 6, response: 10 };
const FIRST_CALL_ID = 1e9; // far above any id peersocket.js's own channel used

async function spammer () {
  // One round trip through peersocket.js first: its hello has gone out, so ours comes
  // after it (a new document for the bridge). From here on this page has the transport
  // to itself: peersocket.js hears nothing more.
  const warm = await PeerSocket.joinSwarm({ id: ROOM + '-warm' });
  await warm.close();
  const transport = window.qt.webChannelTransport;
  let nextId = FIRST_CALL_ID;
  let sent = 0;
  let answered = 0;
  let allAnswered = null;
  let onInit = null;
  let onEvents = null;
  transport.onmessage = (message) => {
    const data = typeof message.data === 'string' ? JSON.parse(message.data) : message.data;
    if (data.type === QWC.response) {
      if (data.id === 'init') onInit(data.data);
      else if (typeof data.id === 'number' && data.id >= FIRST_CALL_ID) {
        state.answered = ++answered;
        if (answered === sent && allAnswered) allAnswered();
      }
    } else if (data.type === QWC.signal && data.object === 'peersocket' && typeof data.args[0] === 'string') {
      onEvents(data.args[0]);
    }
  };
  const objects = await new Promise((resolve) => {
    onInit = resolve;
    transport.send(JSON.stringify({ type: QWC.init, id: 'init' }));
  });
  const method = objects.peersocket.methods.find((m) => m[0] === 'send')[1];
  // one call of bridge.send(batch), as qwebchannel.js would make it
  const call = (batch) => {
    state.sent = ++sent;
    transport.send('{"type":6,"object":"peersocket","method":' + method + ',"args":[' +
      JSON.stringify(batch) + '],"id":' + (nextId++) + '}');
  };
  let read = 0; // event batches read (said with `seen` while setting up only)
  let handle = null;
  let sink = null;
  await new Promise((resolve, reject) => {
    onEvents = (text) => {
      read++;
      for (const item of JSON.parse(text)) {
        if (item[0] === 'r' && item[1] === 1) {
          if (!item[2]) reject(new Error('join: ' + JSON.stringify(item[3])));
          handle = item[3].handle;
          for (const s of item[3].sockets) if (!s.loopback) sink = s.id;
        } else if (item[0] === 'c' && item[1] === handle && !item[2].loopback) {
          sink = item[2].id;
        }
      }
      if (handle !== null && sink !== null) resolve();
      else call(JSON.stringify([['seen', read]]));
    };
    const token = 'spam' + Math.random().toString(36).slice(2);
    call(JSON.stringify([['hello', token], ['join', 1, ROOM]]));
  });
  onEvents = () => {}; // read, never acknowledged from now on
  // msgpack of the string 'spam': what socket.write('spam') hands the bridge
  const batch = JSON.stringify([['w', handle, sink, base64([0xa4, 0x73, 0x70, 0x61, 0x6d])]]);
  await ready();
  for (;;) {
    if (phase.name === 'end') return;
    if (phase.name !== 'spam') { await nextPhase(); continue; }
    const seq = phase.seq;
    const before = sent;
    const t0 = performance.now();
    // its own clock: the phase's end may be slow to reach a page this busy
    while (phase.seq === seq && performance.now() - t0 < SPAM_MS) {
      for (let i = 0; i < SPAM_BURST; i++) call(batch);
      await tick();
    }
    const t1 = performance.now();
    state.step = `spammed ${sent - before} calls`;
    post('/spammed', { seq, calls: sent - before, spam_ms: t1 - t0 });
    if (answered < sent) await new Promise((resolve) => { allAnswered = resolve; });
    allAnswered = null;
    const t2 = performance.now();
    // the spam lasts until the browser has answered its last call
    await post('/window', { scenario: 'spam', seq, t0: wall(t0), t1: wall(t2) });
    await post('/spam', { seq, calls: sent - before, spam_ms: t1 - t0, answered_after_ms: t2 - t1 });
  }
}

// Reads every socket it gets: the spammer, once cut off, is reloaded for the next spam
// phase and comes back on a new socket.
async function sinkRole () {
  const swarm = await joined(ROOM);
  const drain = async (socket) => { for await (const m of socket.readable) if (m === 'spam') state.read = (state.read || 0) + 1; };
  swarm.addEventListener('connection', (e) => { drain(e.socket); });
  for (const socket of swarm.getSockets()) drain(socket);
  await ready();
}

// --- the tab a remote device floods with JOIN/LEAVE -----------------------------------------

async function victim () {
  const state = (window.__victim = { connections: 0, closes: 0, lastEventAt: 0 });
  const swarm = await PeerSocket.joinSwarm({ id: ROOM });
  const counted = () => { state.lastEventAt = Date.now(); };
  swarm.addEventListener('connection', (e) => {
    state.connections++;
    counted();
    e.socket.addEventListener('close', () => { state.closes++; counted(); });
  });
  await ready({ id: swarm.getLoopback().info.id });
}

(async () => {
  try {
    followPhases();
    const roles = { writer, reader, echo, pinger, spammer, sink: sinkRole, victim };
    await roles[ROLE]();
  } catch (e) {
    await post('/failed', { role: ROLE, transport: TRANSPORT, error: String(e && e.stack || e) });
  }
})();
