// The channel to the browser: the `peersocket` bridge object over Qt's QWebChannel.
//
// Calls go out as `send(batch)`, a JSON array of ops (at most one a task, bounded); the
// browser answers with `events` signals, JSON arrays of results and events, and sends
// more only while fewer than two are unread (`seen` says how many the page read): a
// busy page gets its events coalesced in the browser instead of piling up here. bridge/wire.py
// documents both. Results settle the promise of their call; events go to the swarm
// whose handle they name. Writes get no reply (see socket.js).

import { fromWire } from './errors.js';

// QWebChannel carries JSON text: message bytes travel as base64. Engines with
// Uint8Array's own base64 (Chromium 140 and later, so QtWebEngine 6.11) convert 64 KiB
// 12-16x faster than through atob/btoa and leave no intermediate strings for the GC;
// the functions are taken as the script starts, before the page's scripts run.
const nativeFromBase64 = typeof Uint8Array.fromBase64 === 'function' ? Uint8Array.fromBase64 : null;
const nativeToBase64 = typeof Uint8Array.prototype.toBase64 === 'function' ? Uint8Array.prototype.toBase64 : null;

export function toBase64 (bytes) {
  if (nativeToBase64 !== null) return nativeToBase64.call(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64 (text) {
  if (nativeFromBase64 !== null) return nativeFromBase64.call(Uint8Array, text);
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// qwebchannel.js is injected at document creation too, just before this script; keep
// our own reference to it as soon as it is there (the page may later shadow the global).
let QWebChannelCtor = null;

// A macrotask without timer clamping or background-tab throttling (a MessageChannel
// message; setTimeout in a background tab waits up to a second).
export const tick = (() => {
  let waiting = [];
  let port = null;
  return (fn) => {
    if (port === null) {
      const ch = new MessageChannel();
      port = ch.port2;
      ch.port1.onmessage = () => {
        const run = waiting;
        waiting = [];
        for (const f of run) f();
      };
    }
    if (waiting.push(fn) === 1) port.postMessage(0);
  };
})();

// Batches to the browser. The first one of a task leaves at the end of the task's
// microtasks (a lone write goes at once); more in the same task wait for the next
// macrotask, so a loop of awaited writes becomes a few large batches rather than one
// channel message each. A batch holds at most MAX_BATCH_OPS operations and
// MAX_BATCH_BYTES of messages: writes past that wait (write() stays pending) for the
// next one, so no page hands the browser more than that in one go.
const MAX_BATCH_OPS = 1024;
// Writes on one socket that follow each other in a batch go as one `W` op, at most this
// many (bridge/wire.py MAX_WRITES_PER_OP): the handle and peer id once, not per write.
const MAX_WRITES_PER_OP = 128;
const MAX_BATCH_BYTES = 256 * 1024;
// What the page consumed goes out with the next batch, or on its own once this much is
// due (or at the next macrotask): credits need not cost a channel message each.
const ACK_EAGER = 256 * 1024;
// Microtasks a read's acknowledgement waits for a batch of the same task to ride with
// (see ackLater): a read's answer comes within a few (a `for await` loop's, about four).
const ACK_HOPS = 16;
// Batches sent that the browser has not run yet, at most (bridge/wire.py
// PAGE_BATCHES_IN_FLIGHT): past that, what the page does waits here (writes stay
// pending), where it costs the page only.
const BATCHES_IN_FLIGHT = 8;
// Event batches the browser sends that the page has not said it read, at most
// (bridge/wire.py EVENT_BATCHES_IN_FLIGHT): what the page read goes out with its next
// batch, and on its own only once the browser may be waiting for it.
const EVENT_BATCHES_IN_FLIGHT = 2;

export const channel = {
  bridge: null,
  outbox: [],
  outOps: 0, // operations in the outbox, each write of a `W` counted
  outBytes: 0,
  lastWrite: null, // the outbox's last item, when it is a write (`w` or `W`)
  flushQueued: false,
  flushedInTask: false,
  receiving: false, // the task is (or, lacking a tick since, was) one that receive() started
  tickQueued: false,
  nextReq: 1,
  pending: new Map(), // req -> {resolve, reject, onResult}
  swarms: new Map(), // handle -> PeerSocketSwarm
  acks: new Map(), // "handle|peer" -> [handle, peer, bytes] consumed since the last flush
  ackBytes: 0,
  ackWatching: false,
  seen: 0, // event batches from the browser read so far (the browser waits for this)
  seenSent: 0,
  sentBatches: 0, // batches sent to the browser
  ranBatches: 0, // of them, run by the browser (its `p` events)
  blocked: new Set(), // sockets with writes waiting for room in the next batch
  used: false,

  ack (handle, peer, bytes) {
    const key = handle + '|' + peer;
    const entry = this.acks.get(key);
    if (entry) entry[2] += bytes; else this.acks.set(key, [handle, peer, bytes]);
    this.ackBytes += bytes;
    if (this.ackBytes >= ACK_EAGER) this.schedule(); else this.ackLater();
  },

  // What the page consumed goes with the batch its task sends anyway (the answer to a
  // message, written a few microtasks after the read: `await reader.read()`, `for
  // await`), or, when the task sends none, on its own at the next macrotask. The
  // macrotask (a tick: a task for the renderer, every round trip) is asked for only
  // once ACK_HOPS microtasks passed with no batch on its way.
  ackLater () {
    if (this.ackWatching || this.flushQueued || this.tickQueued) return; // (they take the acks)
    this.ackWatching = true;
    let hops = ACK_HOPS;
    const watch = () => {
      if (this.flushQueued || this.tickQueued || !this.acks.size) { this.ackWatching = false; return; }
      if (--hops > 0) { queueMicrotask(watch); return; }
      this.ackWatching = false;
      this.later();
    };
    queueMicrotask(watch);
  },

  call (op, ...args) {
    return this.callThen(op, null, ...args);
  },

  // `onResult` runs as the result is read, before the rest of its batch: a new
  // swarm must exist before the events that follow its join in the same batch.
  callThen (op, onResult, ...args) {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject, onResult });
      this.post([op, req, ...args]);
    });
  },

  // Room in the next batch for a message of `bytes` (one always fits an empty batch).
  room (bytes) {
    return this.outOps < MAX_BATCH_OPS && (this.outBytes === 0 || this.outBytes + bytes <= MAX_BATCH_BYTES);
  },

  post (item, bytes) {
    this.outbox.push(item);
    this.outOps++;
    this.outBytes += bytes || 0;
    this.lastWrite = null;
    this.schedule();
  },

  // One write (base64) on a socket: joined to the write before it when that one was on
  // the same socket (`["W", handle, peer, [b64, ...]]`), else `["w", handle, peer, b64]`.
  write (handle, peer, b64) {
    const last = this.lastWrite;
    if (last !== null && last[1] === handle && last[2] === peer && (last[0] === 'w' || last[3].length < MAX_WRITES_PER_OP)) {
      if (last[0] === 'w') {
        last[0] = 'W';
        last[3] = [last[3], b64];
      } else {
        last[3].push(b64);
      }
      this.outOps++;
      this.outBytes += b64.length;
      this.schedule();
      return;
    }
    this.post(['w', handle, peer, b64], b64.length);
    this.lastWrite = this.outbox[this.outbox.length - 1];
  },

  schedule () {
    if (this.flushQueued) return;
    this.flushQueued = true;
    if (this.flushedInTask) this.later(); else queueMicrotask(() => this.flush());
  },

  // Flush at the next macrotask (which also starts a new task for `schedule`).
  later () {
    if (this.tickQueued) return;
    this.tickQueued = true;
    tick(() => {
      this.tickQueued = false;
      this.flushedInTask = false;
      this.receiving = false;
      this.flush();
    });
  },

  flush () {
    this.flushQueued = false;
    if (!this.bridge) return;
    if (this.sentBatches - this.ranBatches >= BATCHES_IN_FLIGHT) return; // `p` flushes again
    if (this.acks.size) {
      this.outbox.push(['ack', Array.from(this.acks.values())]);
      this.acks.clear();
      this.ackBytes = 0;
    }
    // every batch says what was read when that changed: the browser holds the page to
    // the run count (`p`) in what it says it read (bridge/inbox.py, Inbox.check)
    if (this.seen !== this.seenSent) {
      this.outbox.push(['seen', this.seen]);
      this.seenSent = this.seen;
    }
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.lastWrite = null;
    this.outOps = 0;
    this.outBytes = 0;
    // The rest of this task's writes wait for the next macrotask (schedule). A batch
    // of events starts a task (receive), which ends that wait; in a task that did not
    // start so (a timer, an input event), a tick is what ends it.
    this.flushedInTask = true;
    if (!this.receiving) this.later();
    this.sentBatches++;
    this.bridge.inbox = JSON.stringify(batch); // a property write: QWebChannel sends no answer back
    if (this.blocked.size) {
      const blocked = Array.from(this.blocked);
      this.blocked.clear();
      for (const socket of blocked) socket._pump();
    }
  },

  receive (text) {
    // a new task (QWebChannel delivers each batch in one): its first batch goes at once
    this.flushedInTask = false;
    this.receiving = true;
    this.seen++;
    // say so with the next batch; at the next macrotask only once the browser may be
    // waiting (a batch of messages is acknowledged then anyway: see ack())
    if (this.seen - this.seenSent >= EVENT_BATCHES_IN_FLIGHT) this.later();
    let items;
    try { items = JSON.parse(text); } catch (e) { console.error('PeerSocket: unreadable batch from the browser'); return; }
    for (const item of items) {
      try { this.handle(item); } catch (e) { console.error('PeerSocket:', e); }
    }
  },

  handle (item) {
    const kind = item[0];
    if (kind === 'r') {
      const p = this.pending.get(item[1]);
      if (!p) return;
      this.pending.delete(item[1]);
      if (!item[2]) p.reject(fromWire(item[3]));
      else p.resolve(p.onResult ? p.onResult(item[3]) : item[3]);
      return;
    }
    if (kind === 'p') {
      const waiting = this.sentBatches - this.ranBatches >= BATCHES_IN_FLIGHT;
      this.ranBatches = item[1];
      if (waiting && (this.outbox.length || this.acks.size)) this.schedule();
      return;
    }
    if (kind === 'E') {
      console.error('PeerSocket: the browser refused a batch:', item[1] && item[1].message);
      return;
    }
    const swarm = this.swarms.get(item[1]);
    if (swarm) swarm._receive(item);
  }
};

let connectTries = 0;
function connect () {
  if (!QWebChannelCtor && typeof window.QWebChannel === 'function') QWebChannelCtor = window.QWebChannel;
  const transport = window.qt && window.qt.webChannelTransport;
  if (!transport || !QWebChannelCtor) {
    if (++connectTries === 100) console.error('PeerSocket: the browser channel is not available yet');
    setTimeout(connect, connectTries < 100 ? 0 : 50);
    return;
  }
  new QWebChannelCtor(transport, (ch) => {
    const bridge = ch.objects.peersocket;
    if (!bridge) { console.error('PeerSocket: this browser offers no peersocket bridge'); return; }
    bridge.events.connect((text) => channel.receive(text));
    channel.bridge = bridge;
    channel.flush();
  });
}

// Say hello first (a token for this document: the browser starts afresh for a new
// one, and refuses calls from none) and connect. Called once, as the script runs.
export function openChannel () {
  if (typeof window.QWebChannel === 'function') QWebChannelCtor = window.QWebChannel;
  const docToken = Math.random().toString(36).slice(2) + Date.now().toString(36);
  channel.outbox.push(['hello', docToken]);
  connect();
}
