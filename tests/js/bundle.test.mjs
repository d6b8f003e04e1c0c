// The built script (js/peersocket.js) as a page gets it, run in a fresh V8 context with a
// stand-in for Qt's QWebChannel: what it shows the page, and one join and message through
// the channel. Run by tests/js/test_node.py. The real pages are in tests/bridge.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';
import { decode, encode } from '../../js/peersocket/codec.js';

const SOURCE = readFileSync(new URL('../../js/peersocket.js', import.meta.url), 'utf8');
const API = ['PeerSocket', 'PeerSocketInfo', 'PeerSocketSwarm'];

// A MessageChannel that does not keep Node running (the script keeps one for its ticks),
// counting the ticks posted (each costs a real renderer a task).
function unrefChannel (ticks) {
  return function UnrefChannel () {
    const channel = new MessageChannel();
    const port1 = channel.port1;
    return {
      port1: { set onmessage (fn) { port1.onmessage = fn; port1.unref(); } },
      port2: { postMessage (m) { ticks.posted++; channel.port2.postMessage(m); } }
    };
  };
}

// A context whose global is `window`, with the web APIs the script uses and a channel
// that records every batch the script writes.
function page () {
  const sent = [];
  const ticks = { posted: 0 };
  let deliver = null;
  const bridge = {
    // qwebchannel.js turns a write of the bridge's `inbox` property into a message
    set inbox (text) { sent.push(JSON.parse(text)); },
    events: { connect (fn) { deliver = fn; } }
  };
  const context = vm.createContext({
    TextEncoder, TextDecoder, EventTarget, Event, DOMException, atob, btoa, queueMicrotask,
    setTimeout, console, ReadableStream, WritableStream, MessageChannel: unrefChannel(ticks),
    qt: { webChannelTransport: {} },
    QWebChannel: function QWebChannel (transport, ready) { ready({ objects: { peersocket: bridge } }); }
  });
  vm.runInContext('globalThis.window = globalThis', context);
  const names = () => vm.runInContext('Object.getOwnPropertyNames(globalThis)', context);
  const before = names();
  const run = () => new vm.Script(SOURCE, { filename: 'peersocket.js' }).runInContext(context);
  return { context, sent, ticks, before, names, run, deliver: (items) => deliver(JSON.stringify(items)) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

// Until `predicate()` holds, letting the script's tasks run (a hang guard, not a timer).
async function until (predicate, what) {
  for (let i = 0; i < 1000; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

test('the script adds PeerSocket, PeerSocketSwarm and PeerSocketInfo to window, and nothing else', () => {
  const p = page();
  p.run();
  assert.deepEqual(Array.from(p.names()).filter((n) => !p.before.includes(n)).sort(), API);
  for (const name of API) {
    const d = Object.getOwnPropertyDescriptor(p.context, name);
    assert.equal(typeof d.value, 'function', name);
    assert.deepEqual([d.writable, d.enumerable, d.configurable], [false, false, false], name);
  }
  assert.throws(() => vm.runInContext("'use strict'; window.PeerSocket = 1", p.context), { name: 'TypeError' });
});

test('the channel says hello first, once, even when the script runs twice', async () => {
  const p = page();
  p.run();
  const first = p.context.PeerSocket;
  p.run();
  await settle();
  assert.equal(p.context.PeerSocket, first);
  assert.equal(p.sent.length, 1);
  assert.equal(p.sent[0].length, 1);
  assert.equal(p.sent[0][0][0], 'hello');
  assert.match(p.sent[0][0][1], /^[a-z0-9]+$/);
});

test('joinSwarm and a message go through the channel', async () => {
  const p = page();
  p.run();
  const joined = p.context.PeerSocket.joinSwarm({ id: 'room' });
  await settle();
  const [op, req, id] = p.sent[1][0];
  assert.deepEqual([op, id], ['join', 'room']);
  const self = 'ab'.repeat(32);
  p.deliver([['r', req, true, { handle: 1, type: 'open', id: 'room', loopback: { id: self, loopback: true }, sockets: [] }]]);
  const swarm = await joined;
  assert.ok(swarm instanceof p.context.PeerSocketSwarm);
  assert.deepEqual([swarm.type, swarm.id, swarm.readyState], ['open', 'room', 'joined']);
  const loopback = swarm.getLoopback();
  assert.ok(loopback.info instanceof p.context.PeerSocketInfo);
  assert.equal(loopback.info.id, self);

  const got = [];
  loopback.onmessage = (e) => got.push(e.message);
  const value = { type: 'text', text: 'ü日本', bin: new Uint8Array([1, 2, 3]) };
  const bytes = encode(value, 1 << 20, 'm');
  p.deliver([['m', 1, self, Buffer.from(bytes).toString('base64')]]);
  await settle();
  assert.equal(got.length, 1);
  assert.equal(got[0].text, 'ü日本');
  assert.deepEqual(Array.from(got[0].bin), [1, 2, 3]);
  // read: the writer gets its window back, and the browser hears the page read its batches
  const ops = () => p.sent.flat();
  await until(() => ops().some((item) => item[0] === 'ack'), 'the ack');
  assert.deepEqual(ops().filter((item) => item[0] === 'ack'), [['ack', [[1, self, bytes.length]]]]);
  await until(() => ops().some((item) => item[0] === 'seen' && item[1] === 2), 'both batches seen');
});

// A joined swarm with one peer socket besides the loopback, in page `p`.
async function joinedWithPeer (p) {
  const joined = p.context.PeerSocket.joinSwarm({ id: 'room' });
  await until(() => p.sent.flat().some((item) => item[0] === 'join'), 'the join');
  const req = p.sent.flat().find((item) => item[0] === 'join')[1];
  const self = 'ab'.repeat(32);
  const peer = 'cd'.repeat(32);
  p.deliver([['r', req, true, {
    handle: 1, type: 'open', id: 'room', loopback: { id: self, loopback: true },
    sockets: [{ id: peer, loopback: false, host: null, port: null, session: null }]
  }]]);
  const swarm = await joined;
  await until(() => swarm.getSockets().length === 1, 'the peer socket'); // (after a tick)
  return { swarm, self, peer, socket: swarm.getSockets()[0] };
}

test('writes on one socket that follow each other go as one W op, in order; others break the run', async () => {
  const p = page();
  p.run();
  const { swarm, peer } = await joinedWithPeer(p);
  const socket = swarm.getSockets()[0];
  const loopback = swarm.getLoopback();
  p.sent.length = 0;
  for (let i = 0; i < 3; i++) socket.write(i);
  loopback.write('to myself');
  socket.write(3);
  socket.write(4);
  for (let i = 5; i < 5 + 130; i++) socket.write(i); // past the 128 one op holds
  await until(() => p.sent.length > 0, 'a batch');
  const ops = p.sent.flat().filter((item) => item[0] === 'w' || item[0] === 'W');
  const shape = ops.map((op) => [op[0], op[2] === peer ? 'peer' : 'loopback', op[0] === 'W' ? op[3].length : 1]);
  assert.deepEqual(shape, [['W', 'peer', 3], ['w', 'loopback', 1], ['W', 'peer', 128], ['W', 'peer', 4]]);
  // the values, in the order written
  const values = ops.filter((op) => op[2] === peer).flatMap((op) => (op[0] === 'W' ? op[3] : [op[3]]));
  const decoded = values.map((b64) => decode(Buffer.from(b64, 'base64')));
  assert.deepEqual(decoded, Array.from({ length: 135 }, (_, i) => i));
});

test('an M event is read as that many messages of its socket, in order', async () => {
  const p = page();
  p.run();
  const { peer, socket } = await joinedWithPeer(p);
  const got = [];
  const events = [];
  socket.onmessage = (e) => { got.push(e.message); events.push(e); };
  const b64 = (v) => Buffer.from(encode(v, 1 << 20, 'm')).toString('base64');
  p.deliver([['M', 1, peer, [b64('one'), b64('two'), b64('three')]], ['m', 1, peer, b64('four')]]);
  await until(() => got.length === 4, 'four messages');
  assert.deepEqual(got, ['one', 'two', 'three', 'four']);
  // each a `message` Event whose `message` and `data` are the value, read-only
  const e = events[0];
  assert.ok(e instanceof p.context.Event);
  assert.equal(e.type, 'message');
  assert.equal(e.data, 'one');
  assert.throws(() => { 'use strict'; e.message = 'changed'; }, TypeError);
  assert.equal(e.message, 'one');
});

test('a page reading `readable` gets every message; a message listener added later hears the next ones', async () => {
  const p = page();
  p.run();
  const { peer, socket } = await joinedWithPeer(p);
  const b64 = (v) => Buffer.from(encode(v, 1 << 20, 'm')).toString('base64');
  const reader = socket.readable.getReader();
  p.deliver([['M', 1, peer, [b64('one'), b64('two')]]]);
  assert.deepEqual([(await reader.read()).value, (await reader.read()).value], ['one', 'two']);
  const heard = [];
  const listener = (e) => heard.push(e.message);
  socket.addEventListener('message', listener);
  p.deliver([['m', 1, peer, b64('three')]]);
  assert.equal((await reader.read()).value, 'three');
  await until(() => heard.length === 1, 'the event');
  assert.deepEqual(heard, ['three']);
  // removed, it hears nothing more; the stream still reads on
  socket.removeEventListener('message', listener);
  p.deliver([['m', 1, peer, b64('four')]]);
  assert.equal((await reader.read()).value, 'four');
  assert.deepEqual(heard, ['three']);
});

test('a batch with nothing to acknowledge is said read with the next batch, or alone once two wait', async () => {
  const p = page();
  p.run();
  const { socket, peer } = await joinedWithPeer(p);
  const seenOps = () => p.sent.flat().filter((item) => item[0] === 'seen');
  socket.write('first'); // what the page read so far rides with it
  await until(() => p.sent.flat().some((item) => item[0] === 'w'), 'the first write');
  await settle();
  const before = seenOps().length;
  const drain = () => p.deliver([['d', 1, peer, 0, 0]]);
  drain(); // a drain alone: nothing consumed, nothing to ack
  await settle();
  assert.equal(seenOps().length, before, 'one unread-by-count batch waits for the next batch');
  socket.write('rides');
  await until(() => seenOps().length === before + 1, 'the seen riding with the write');
  const batch = p.sent[p.sent.length - 1];
  assert.deepEqual(batch.map((item) => item[0]).sort(), ['seen', 'w']);
  drain();
  drain(); // two the browser may be waiting on: said at once
  await until(() => seenOps().length === before + 2, 'the seen on its own');
  assert.deepEqual(p.sent[p.sent.length - 1], [['seen', seenOps()[seenOps().length - 1][1]]]);
});

// The three ways docs/API.md teaches to answer a message, each as an echo.
const ECHOES = {
  'message events': (socket) => { socket.onmessage = (e) => { socket.write(e.message); }; },
  'reader.read()': (socket) => {
    const reader = socket.readable.getReader();
    (async () => { for (;;) { const { value, done } = await reader.read(); if (done) return; await socket.write(value); } })();
  },
  'for await': (socket) => {
    (async () => { for await (const m of socket.readable) await socket.write(m); })();
  }
};

for (const [idiom, echo] of Object.entries(ECHOES)) {
  test(`${idiom}: the answer to a message carries its ack and what was read, one batch, no tick`, async () => {
    const p = page();
    p.run();
    const { socket, peer } = await joinedWithPeer(p);
    echo(socket);
    const b64 = (v) => Buffer.from(encode(v, 1 << 20, 'm')).toString('base64');
    await settle();
    for (let i = 0; i < 3; i++) {
      const batches = p.sent.length;
      const ticks = p.ticks.posted;
      // the message, and the drain for the answer before it, as the bridge sends them
      p.deliver([...(i ? [['d', 1, peer, 0, i]] : []), ['m', 1, peer, b64(`ping ${i}`)]]);
      await until(() => p.sent.length > batches, 'the answer');
      await settle(); // (a tick, had one been posted, would have run by now)
      assert.equal(p.sent.length, batches + 1, 'one batch per message');
      const batch = p.sent[batches];
      assert.deepEqual(batch.map((item) => item[0]), ['w', 'ack', 'seen']);
      assert.equal(decode(Buffer.from(batch[0][3], 'base64')), `ping ${i}`);
      assert.deepEqual(batch[1][1], [[1, peer, Buffer.from(batch[0][3], 'base64').length]]);
      // (the first message finds the join's reply not said read yet either: with two
      // batches waiting to be said read, that goes at once, on a tick)
      if (i > 0) assert.equal(p.ticks.posted, ticks, `no tick posted for message ${i}`);
    }
  });
}

test('a message read and not answered is acknowledged on its own, at the next macrotask', async () => {
  const p = page();
  p.run();
  const { socket, peer } = await joinedWithPeer(p);
  const got = [];
  socket.onmessage = (e) => got.push(e.message);
  const batches = p.sent.length;
  p.deliver([['m', 1, peer, Buffer.from(encode('hi', 1 << 20, 'm')).toString('base64')]]);
  assert.deepEqual(got, ['hi']);
  await until(() => p.sent.length > batches, 'the ack');
  assert.deepEqual(p.sent[batches].map((item) => item[0]), ['ack', 'seen']);
});

test('writes in a task no batch started still go: the first at once, the rest at the next macrotask', async () => {
  const p = page();
  p.run();
  const { socket, peer } = await joinedWithPeer(p);
  socket.onmessage = () => { socket.write('answer'); };
  p.deliver([['m', 1, peer, Buffer.from(encode('hi', 1 << 20, 'm')).toString('base64')]]);
  await until(() => p.sent.flat().some((item) => item[0] === 'w'), 'the answer');
  await settle();
  const batches = p.sent.length;
  setTimeout(() => { socket.write('a'); socket.write('b'); }, 0); // a timer's task
  await until(() => p.sent.length > batches, 'the timer task\'s writes');
  await settle();
  const writes = p.sent.slice(batches).flat().filter((item) => item[0] === 'w' || item[0] === 'W');
  assert.deepEqual(writes.map((op) => op[0] === 'W' ? op[3].length : 1).reduce((a, b) => a + b, 0), 2);
});
