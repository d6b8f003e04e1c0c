// Isolation: a quiet pair of tabs pings while a neighbour pair floods.
//
// ?role=writer|reader|pinger|echo&transport=peersocket|rtc&room=ROOM
// The benchmark's server runs phases ('quiet', 'flood', 'spam'...); every page long-polls
// /phase and does its part in each: the writer floods in 'flood' phases with
// `const p = socket.write(m); if (socket.bufferedAmount > 1 << 20) await p` (200-byte
// messages), the reader reads with `for await (const m of socket.readable)`, the pinger
// does `await socket.write(m)` then `reader.read()` for the echo, and reports its
// round-trip times per phase. RTCDataChannel pages do the same with dc.send and
// 'message' events.
'use strict';

const params = new URLSearchParams(location.search);
const ROLE = params.get('role');
const TRANSPORT = params.get('transport') || 'peersocket';
const ROOM = params.get('room') || 'bench-isolation';
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 * 1024;

async function post (path, body) {
  const res = await fetch(path, { method: 'POST', body: JSON.stringify(body) });
  return res.json();
}

let phase = { name: 'setup', seq: 0 };
let phaseChanged = null;
async function followPhases () {
  for (;;) {
    const next = await post('/phase', { after: phase.seq, role: ROLE, transport: TRANSPORT });
    // phases of the other transport are idle time for this page
    if (next.name !== 'end' && next.transport !== TRANSPORT) next.name = 'idle';
    phase = next;
    if (phaseChanged) { const f = phaseChanged; phaseChanged = null; f(); }
    if (phase.name === 'end') return;
  }
}
const nextPhase = () => new Promise((resolve) => { phaseChanged = resolve; });

function payload200 () { return { type: 'text', text: 'x'.repeat(180) }; }

// --- transports ---------------------------------------------------------------------

async function peerSocket () {
  const swarm = await PeerSocket.joinSwarm({ id: ROOM });
  while (swarm.getSockets().length < 1) {
    await new Promise((resolve) => swarm.addEventListener('connection', resolve, { once: true }));
  }
  return swarm.getSockets()[0];
}

async function dataChannel () {
  const pc = new RTCPeerConnection({ iceServers: [] });
  let dc;
  const first = ROLE === 'writer' || ROLE === 'pinger';
  if (first) {
    dc = pc.createDataChannel('bench', { ordered: true });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    await post('/signal', { room: ROOM, key: 'offer', value: pc.localDescription.sdp });
    const answer = await post('/signal', { room: ROOM, key: 'answer' });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.value });
  } else {
    const channel = new Promise((resolve) => { pc.ondatachannel = (e) => resolve(e.channel); });
    const offer = await post('/signal', { room: ROOM, key: 'offer' });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.value });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await post('/signal', { room: ROOM, key: 'answer', value: pc.localDescription.sdp });
    dc = await channel;
  }
  if (dc.readyState !== 'open') await new Promise((resolve) => { dc.onopen = resolve; });
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = LOW_WATER;
  window.__pc = pc;
  return dc;
}

function gathered (pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') resolve();
  }));
}

// --- roles ----------------------------------------------------------------------------

async function writer () {
  const msg = payload200();
  if (TRANSPORT === 'rtc') {
    const dc = await dataChannel();
    await post('/ready', { role: ROLE, transport: TRANSPORT });
    const text = JSON.stringify(msg);
    for (;;) {
      if (phase.name === 'end') return;
      if (phase.name !== 'flood') { await nextPhase(); continue; }
      while (phase.name === 'flood' && dc.bufferedAmount <= HIGH_WATER) dc.send(text);
      if (phase.name === 'flood') await new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true }));
    }
  }
  const socket = await peerSocket();
  await post('/ready', { role: ROLE, transport: TRANSPORT });
  let n = 0;
  for (;;) {
    if (phase.name === 'end') return;
    if (phase.name !== 'flood') { await nextPhase(); continue; }
    const p = socket.write(msg);
    n++;
    if (socket.bufferedAmount > HIGH_WATER) await p;
  }
}

async function reader () {
  if (TRANSPORT === 'rtc') {
    const dc = await dataChannel();
    let n = 0;
    dc.onmessage = (e) => { JSON.parse(e.data); n++; };
    await post('/ready', { role: ROLE, transport: TRANSPORT });
    return;
  }
  const socket = await peerSocket();
  await post('/ready', { role: ROLE, transport: TRANSPORT });
  let n = 0;
  for await (const m of socket.readable) { if (m) n++; }
}

async function echo () {
  if (TRANSPORT === 'rtc') {
    const dc = await dataChannel();
    dc.onmessage = (e) => dc.send(e.data);
    await post('/ready', { role: ROLE, transport: TRANSPORT });
    return;
  }
  const socket = await peerSocket();
  await post('/ready', { role: ROLE, transport: TRANSPORT });
  for await (const m of socket.readable) await socket.write(m);
}

async function pinger () {
  const msg = { type: 'ping', n: 0 };
  let send, read;
  if (TRANSPORT === 'rtc') {
    const dc = await dataChannel();
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
  await post('/ready', { role: ROLE, transport: TRANSPORT });
  for (;;) {
    if (phase.name === 'end') return;
    if (phase.name === 'setup' || phase.name === 'idle') { await nextPhase(); continue; }
    const name = phase.name;
    const seq = phase.seq;
    const samples = [];
    while (phase.seq === seq) {
      msg.n++;
      const t0 = performance.now();
      const got = read();
      await send(msg);
      await got;
      samples.push(performance.now() - t0);
    }
    await post('/samples', { transport: TRANSPORT, phase: name, seq, samples, visibility: document.visibilityState });
  }
}

(async () => {
  try {
    followPhases();
    const roles = { writer, reader, echo, pinger };
    await roles[ROLE]();
  } catch (e) {
    await post('/failed', { role: ROLE, transport: TRANSPORT, error: String(e && e.stack || e) });
  }
})();
