// PeerSocket: one socket of a swarm. Writes with flow control (a window of unread bytes,
// a bounded queue, bufferedAmount), messages as events and as a ReadableStream, session
// data, close. Its static API (joinSwarm...) is added in index.js.

import { channel, fromBase64, toBase64 } from './channel.js';
import { decode, encode } from './codec.js';
import { makeError } from './errors.js';
import { defineHandlers, fire, PeerMessageEvent } from './events.js';
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
    this._queue = []; // writes waiting for room (the window, the batch): {b64, size, resolve, reject}
    this._queued = 0; // their bytes
    this._posted = []; // sizes of writes handed to the browser that no drain counted yet
    this._postedBytes = 0;
    this._postedCount = 0; // writes handed to the browser, ever
    this._unread = 0; // what the last drain said the peer has not consumed yet (every tab's)
    this._lastBuffered = 0;
    this.bufferedAmountLowThreshold = 0;
    this._stream = null;
    this._controller = null;
    this._streamBuffer = []; // messages waiting for the stream's reader: {msg, size}
    this._wantsData = false; // the reader asked for a message and none was there
    this._writable = null;
    this._hearsMessages = false; // a `message` listener was ever added (see addEventListener)
    this.opened = Promise.resolve(this);
    this.closed = new Promise((resolve) => { this._resolveClosed = resolve; });
  }

  // `message` events are made once the page has listened for them (addEventListener or
  // `onmessage`, ever, even if it removed the listener since): a page that only reads
  // `readable` does not pay for an event per message that nobody hears
  // (python -m bench.profile.js_read_costs).
  addEventListener (type, listener, options) {
    if (type === 'message') this._hearsMessages = true;
    super.addEventListener(type, listener, options);
  }

  get loopback () { return this._loopback; }
  get info () { return this._info; }
  get swarm () { return this._swarm; }
  get readyState () { return this._state; }
  get bufferedAmount () { return this._queued + this._postedBytes + this._unread; }

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
    const b64 = toBase64(bytes);
    if (this._queue.length === 0 && this._fits(size) && channel.room(size)) {
      this._post(b64, size);
      this._changed();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this._queue.push({ b64, size, resolve, reject });
      this._queued += size;
      this._pump();
    });
  }

  // Whether the peer's window has room for `size` more bytes (one message always fits
  // when nothing is unread).
  _fits (size) {
    const unread = this._postedBytes + this._unread;
    return unread === 0 || unread + size <= WINDOW;
  }

  // Hand one write to the browser. It gets no reply: a drain later says how many of this
  // page's writes the browser has processed, and a write it refused comes back as an
  // `error` event (the socket closed meanwhile, say).
  _post (b64, size) {
    this._posted.push(size);
    this._postedBytes += size;
    this._postedCount++;
    channel.write(this._swarm._handle, this._info.id, b64);
  }

  // Send queued writes while the window and the next batch have room; each one's
  // write() resolves as it goes.
  _pump () {
    while (this._queue.length && this._state === 'open') {
      const head = this._queue[0];
      if (!this._fits(head.size)) break;
      if (!channel.room(head.b64.length)) { channel.blocked.add(this); break; }
      this._queue.shift();
      this._queued -= head.size;
      this._post(head.b64, head.size);
      head.resolve();
    }
    this._changed();
  }

  // The browser had processed `processed` of this page's writes on this socket when the
  // peer had `unread` bytes of the socket's writes (from every tab of this presence)
  // not consumed yet: those writes are counted in `unread` now, the later ones not yet.
  _drain (unread, processed) {
    let counted = this._postedCount - this._posted.length;
    while (counted < processed && this._posted.length) {
      this._postedBytes -= this._posted.shift();
      counted++;
    }
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
    if (this._hearsMessages) this.dispatchEvent(new PeerMessageEvent(msg));
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
    this._posted = [];
    this._postedBytes = 0;
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
