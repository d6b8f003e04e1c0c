// PeerSocketSwarm: what joinSwarm() resolves to. Holds the page's sockets in one swarm,
// routes the browser's events for its handle to them, and closes them with it.

import { channel, tick } from './channel.js';
import { fromWire, makeError } from './errors.js';
import { defineHandlers, fire } from './events.js';
import { PeerSocket, SOCKET } from './socket.js';

export class PeerSocketSwarm extends EventTarget {
  constructor (key, result) {
    if (key !== SOCKET) throw new TypeError('PeerSocketSwarm cannot be constructed; use PeerSocket.joinSwarm()');
    super();
    this._handle = result.handle;
    this._type = result.type;
    this._id = result.id;
    this._state = 'joined';
    this._ready = false;
    this._held = [];
    this._sockets = new Map();
    this._loopbackSocket = new PeerSocket(SOCKET, this, result.loopback);
    this._initial = result.sockets;
    this._closedInfo = new Promise((resolve) => { this._resolveClosed = resolve; });
  }

  get type () { return this._type; }
  get id () { return this._type === 'open' ? this._id : undefined; }
  get readyState () { return this._state; }
  get closed () { return this._state === 'closed'; }

  getLoopback () { return this._loopbackSocket; }

  getSocket (id) {
    if (id === this._loopbackSocket.info.id) return this._loopbackSocket;
    const s = this._sockets.get(String(id).toLowerCase());
    return s && s.readyState !== 'closed' ? s : null;
  }

  getSockets () {
    return Array.from(this._sockets.values()).filter((s) => s.readyState !== 'closed');
  }

  close () {
    if (this._state === 'closed' || this._state === 'closing') return this._closedInfo.then(() => undefined);
    this._state = 'closing';
    return channel.call('leave', this._handle).then(
      () => { this._finish(1000, 'swarm.close() was called'); },
      (err) => { this._finish(1000, 'swarm.close() was called'); throw err; });
  }

  _requireOpen () {
    if (this._state !== 'joined') throw makeError('InvalidStateError', `the swarm is ${this._state}`, 'ERR_SWARM_CLOSED');
  }

  // Connection events are dispatched after joinSwarm() resolves: existing sockets
  // first (as Beaker's watch() replayed peers), then whatever arrived meanwhile.
  _start () {
    tick(() => {
      this._ready = true;
      for (const desc of this._initial) this._connection(desc);
      this._initial = null;
      const held = this._held;
      this._held = [];
      for (const item of held) this._receive(item);
    });
  }

  _connection (desc) {
    const existing = this._sockets.get(desc.id);
    if (existing && existing.readyState !== 'closed') return;
    const socket = new PeerSocket(SOCKET, this, desc);
    this._sockets.set(desc.id, socket);
    fire(this, 'connection', { socket });
    fire(socket, 'open');
  }

  _receive (item) {
    if (!this._ready) { this._held.push(item); return; }
    if (this._state === 'closed') return;
    const kind = item[0];
    if (kind === 'c') { this._connection(item[2]); return; }
    if (kind === 'X') { this._finish(item[2], item[3]); return; }
    const socket = item[2] === this._loopbackSocket.info.id ? this._loopbackSocket : this._sockets.get(item[2]);
    if (!socket) return;
    if (kind === 'm') socket._message(item[3]);
    else if (kind === 'M') { for (const b64 of item[3]) socket._message(b64); }
    else if (kind === 'd') socket._drain(item[3], item[4]);
    else if (kind === 'w') fire(socket, 'error', { error: fromWire(item[3]) });
    else if (kind === 's') socket._sessionData(item[3]);
    else if (kind === 'x') {
      socket._closed(item[3], item[4], item[5]);
      if (item[3] !== 1000 && this._sockets.get(item[2]) === socket) this._sockets.delete(item[2]);
    }
  }

  _finish (code, reason) {
    if (this._state === 'closed') return;
    this._state = 'closed';
    channel.swarms.delete(this._handle);
    for (const s of this._sockets.values()) s._closed(code, reason || 'the swarm was closed', true);
    this._loopbackSocket._closed(code, reason || 'the swarm was closed', true);
    const info = { code, reason, wasClean: true };
    this._resolveClosed(info);
    fire(this, 'close', info);
  }
}
defineHandlers(PeerSocketSwarm.prototype, ['connection', 'close', 'error']);
