// The channel to the browser: the `peersocket` bridge object over Qt's QWebChannel.
//
// Calls go out as one `send(batch)` per task (a JSON array of ops); the browser answers
// with one `events` signal per event-loop turn (a JSON array of results and events).
// bridge/wire.py documents both. Results settle the promise of their call; events go
// to the swarm whose handle they name.

import { fromWire } from './errors.js';

// QWebChannel carries JSON text: message bytes travel as base64.

export function toBase64 (bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64 (text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// qwebchannel.js is injected at document creation too, just before this script; keep
// our own reference to it as soon as it is there (the page may later shadow the global).
let QWebChannelCtor = null;

export const channel = {
  bridge: null,
  outbox: [],
  flushQueued: false,
  nextReq: 1,
  pending: new Map(), // req -> {resolve, reject}
  swarms: new Map(), // handle -> PeerSocketSwarm
  acks: new Map(), // "handle|peer" -> [handle, peer, bytes] consumed since the last flush
  used: false,

  ack (handle, peer, bytes) {
    const key = handle + '|' + peer;
    const entry = this.acks.get(key);
    if (entry) entry[2] += bytes; else this.acks.set(key, [handle, peer, bytes]);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
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

  post (item) {
    this.outbox.push(item);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  },

  flush () {
    this.flushQueued = false;
    if (!this.bridge) return;
    if (this.acks.size) {
      this.outbox.push(['ack', Array.from(this.acks.values())]);
      this.acks.clear();
    }
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.bridge.send(JSON.stringify(batch));
  },

  receive (text) {
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
