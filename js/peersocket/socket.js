// PeerSocket: one socket of a swarm. Writes with flow control (a window of unread bytes,
// a bounded queue, bufferedAmount), messages as events and as a ReadableStream, session
// data, close. Its static API (joinSwarm...) is added in index.js.

import { channel, fromBase64, toBase64 } from './channel.js';
import { decode, encode } from './codec.js';
import { makeError } from './errors.js';
import { defineHandlers, fire } from './events.js';
import { MAX_MESSAGE, MAX_QUEUED, MAX_SESSION_DATA, WINDOW } from './limits.js';

// socket.info: who the socket reaches (docs/API.md). Frozen.
export class PeerSocketInfo {
  constructor (id, host, port) {
    Object.defineProperties(this, {
      id: { value: id, enumerable: true },
      host: { value: host === undefined ? null : host, enumerable: true },
      port: { value: port === undefined ? null : port, enumerable: true }
    });
    Object.freeze(this);
  }
}

// The key that lets this script, and only this script, construct sockets and swarms.
export const SOCKET = Symbol('peersocket-internal');

// A socket to one peer of a swarm, or the loopback socket (the presence's own).
export class PeerSocket extends EventTarget {
  constructor (key, swarm, desc) {
    if (key !== SOCKET) throw new TypeError('PeerSocket cannot be constructed; use PeerSocket.joinSwarm()');
    super();
    this._swarm = swarm;
    this._info = new PeerSocketInfo(desc.id, desc.host, desc.port);
    this._loopback = !!desc.loopback;
    this._session = desc.session;
    this._sessionValue = undefined;
    this._state = 'open';
    this._queue = []; // writes waiting for room in the window: {b64, size, resolve, reject}
    this._queued = 0; // their bytes
    this._unconfirmed = 0; // bytes handed to the browser, not yet confirmed
    this._unread = 0; // bytes the browser took that the peer has not consumed yet
    this._lastBuffered = 0;
    this.bufferedAmountLowThreshold = 0;
    this._stream = null;
    this._controller = null;
    this._streamBuffer = []; // messages waiting for the stream's reader: {msg, size}
    this._wantsData = false; // the reader asked for a message and none was there
    this._writable = null;
    this.opened = Promise.resolve(this);
    this.closed = new Promise((resolve) => { this._resolveClosed = resolve; });
  }

  get loopback () { return this._loopback; }
  get info () { return this._info; }
  get swarm () { return this._swarm; }
  get readyState () { return this._state; }
  get bufferedAmount () { return this._queued + this._unconfirmed + this._unread; }

  getSessionData () {
    if (this._session == null) return null;
    if (this._sessionValue === undefined) {
      try { this._sessionValue = decode(fromBase64(this._session)); } catch (e) { this._sessionValue = null; }
    }
    return this._sessionValue;
  }

  setSessionData (data) {
    if (!this._loopback) {
      throw makeError('TypeError', 'setSessionData() is only valid on the loopback socket (swarm.getLoopback())', 'ERR_NOT_LOOPBACK');
    }
    this._swarm._requireOpen();
    const bytes = data === null ? null : encode(data, MAX_SESSION_DATA, 'the session data');
    this._session = bytes === null ? null : toBase64(bytes);
    this._sessionValue = undefined;
    return channel.call('session', this._swarm._handle, this._session).then(() => undefined);
  }

  write (msg) {
    if (this._state !== 'open') {
      return Promise.reject(makeError('InvalidStateError', `the socket is ${this._state}`, 'ERR_SOCKET_CLOSED'));
    }
    let bytes;
    try {
      bytes = encode(msg, MAX_MESSAGE, 'the message');
    } catch (e) {
      return Promise.reject(e);
    }
    const size = bytes.length;
    if (this._queued + size > MAX_QUEUED) {
      return Promise.reject(makeError('OperationError',
        `${this._queued} bytes are already waiting to be sent on this socket: wait for write() or bufferedamountlow`,
        'ERR_BUFFER_FULL'));
    }
    return new Promise((resolve, reject) => {
      this._queue.push({ b64: toBase64(bytes), size, resolve, reject });
      this._queued += size;
      this._pump();
    });
  }

  // Send queued writes while the peer has room for them.
  _pump () {
    while (this._queue.length && this._state === 'open') {
      const head = this._queue[0];
      const unread = this._unconfirmed + this._unread;
      if (unread > 0 && unread + head.size > WINDOW) break;
      this._queue.shift();
      this._queued -= head.size;
      this._unconfirmed += head.size;
      // The confirmation is counted as it is read (callThen), before the rest of its
      // batch: a drain later in the same batch already includes this write, and
      // counting it again in a promise callback after that would leave the socket
      // believing bytes are unread that the peer has long consumed, and stall it.
      channel.callThen('write', () => {
        this._unconfirmed -= head.size;
        this._unread += head.size;
      }, this._swarm._handle, this._info.id, head.b64).then(
        () => {
          head.resolve();
          this._changed();
        },
        (err) => {
          this._unconfirmed -= head.size;
          head.reject(err);
          this._changed();
        });
    }
    this._changed();
  }

  _drain (unread) {
    this._unread = unread;
    this._pump();
  }

  _changed () {
    const now = this.bufferedAmount;
    const threshold = this.bufferedAmountLowThreshold;
    const before = this._lastBuffered;
    this._lastBuffered = now;
    if (before > threshold && now <= threshold) fire(this, 'bufferedamountlow');
  }

  _consumed (size) {
    channel.ack(this._swarm._handle, this._info.id, size);
  }

  close (reason) {
    if (this._state !== 'open') return this.closed.then(() => undefined);
    if (this._loopback) {
      return Promise.reject(makeError('InvalidAccessError', 'the loopback socket lives as long as the swarm: close the swarm instead', 'ERR_LOOPBACK_CLOSE'));
    }
    if (reason !== undefined && typeof reason !== 'string') {
      return Promise.reject(makeError('TypeError', 'close(reason): reason must be a string', 'ERR_INVALID_ARGUMENT'));
    }
    this._state = 'closing';
    return channel.call('close', this._swarm._handle, this._info.id, reason === undefined ? '' : reason).then(
      () => this.closed.then(() => undefined),
      (err) => { if (this._state === 'closing') this._state = 'open'; throw err; });
  }

  // `readable` hands a message to the stream only when its reader asks for one, so a
  // reader that does not read holds its writer back (the messages wait here, unacked).
  get readable () {
    if (this._stream === null) {
      this._stream = new ReadableStream({
        start: (controller) => {
          this._controller = controller;
          if (this._state === 'closed') controller.close();
        },
        pull: (controller) => {
          const next = this._streamBuffer.shift();
          if (next) {
            controller.enqueue(next.msg);
            this._consumed(next.size);
          } else if (this._state === 'closed') {
            controller.close();
          } else {
            this._wantsData = true;
          }
        },
        cancel: () => this._dropStream()
      }, { highWaterMark: 0 });
    }
    return this._stream;
  }

  _dropStream () {
    for (const { size } of this._streamBuffer) this._consumed(size);
    this._streamBuffer = [];
    this._stream = null;
    this._controller = null;
    this._wantsData = false;
  }

  get writable () {
    if (this._writable === null) {
      this._writable = new WritableStream({
        write: (chunk) => this.write(chunk),
        close: () => this.close(),
        abort: () => this.close()
      });
    }
    return this._writable;
  }

  get writeable () { return this.writable; }

  _message (b64) {
    let bytes, msg;
    try {
      bytes = fromBase64(b64);
      msg = decode(bytes);
    } catch (e) {
      if (bytes) this._consumed(bytes.length);
      fire(this, 'error', { error: makeError('SyntaxError', `a message from the peer could not be decoded: ${e.message}`, 'ERR_BAD_MESSAGE') });
      return;
    }
    if (this._controller && this._wantsData) {
      this._wantsData = false;
      this._controller.enqueue(msg);
      this._consumed(bytes.length);
    } else if (this._controller) {
      this._streamBuffer.push({ msg, size: bytes.length });
    } else {
      this._consumed(bytes.length);
    }
    fire(this, 'message', { message: msg, data: msg });
  }

  _sessionData (b64) {
    this._session = b64;
    this._sessionValue = undefined;
    fire(this, 'session-data', { sessionData: this.getSessionData() });
  }

  _closed (code, reason, wasClean) {
    if (this._state === 'closed') return;
    this._state = 'closed';
    const queue = this._queue;
    this._queue = [];
    this._queued = 0;
    this._unread = 0;
    for (const w of queue) w.reject(makeError('InvalidStateError', 'the socket closed before this message was sent', 'ERR_SOCKET_CLOSED'));
    // the stream ends once its reader has taken what was already buffered
    if (this._controller && this._streamBuffer.length === 0) {
      try { this._controller.close(); } catch (e) { /* already closed */ }
      this._controller = null;
    }
    const info = { code, reason, wasClean };
    this._resolveClosed(info);
    fire(this, 'close', info);
  }
}
defineHandlers(PeerSocket.prototype, ['open', 'message', 'session-data', 'close', 'error', 'bufferedamountlow']);
