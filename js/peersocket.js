/*
 * PeerSocket: peer-to-peer sockets between web apps, found through Hyperswarm topics.
 *
 * Injected by Peerbrowser into every top-level page at document creation, after
 * Qt's qwebchannel.js. Talks to the browser's `peersocket` bridge object with one
 * `send(batch)` call per task and hears one `events` signal per event-loop turn
 * (bridge/wire.py documents both). API reference: docs/API.md.
 */
(function () {
  'use strict';

  if (window.PeerSocket) return;

  // qwebchannel.js is injected at document creation too; keep our own reference to
  // it as soon as it is there (the page may later shadow the global).
  let QWebChannelCtor = typeof window.QWebChannel === 'function' ? window.QWebChannel : null;
  const MAX_MESSAGE = 4 * 1024 * 1024;
  const MAX_SESSION_DATA = 16 * 1024;
  const MAX_DEPTH = 64;
  // Flow control (docs/API.md): a socket sends while less than WINDOW bytes are unread
  // by the peer (one message always fits), and queues at most MAX_QUEUED bytes more.
  const WINDOW = 1024 * 1024;
  const MAX_QUEUED = 16 * 1024 * 1024;

  // --- errors -------------------------------------------------------------------------

  const JS_ERRORS = { TypeError, RangeError, SyntaxError };

  function makeError (name, message, code) {
    const Ctor = JS_ERRORS[name];
    const err = Ctor ? new Ctor(message) : new DOMException(message, name || 'Error');
    Object.defineProperty(err, 'code', { value: code, enumerable: true });
    return err;
  }

  function fromWire (e) {
    return makeError(e && e.name, (e && e.message) || 'unknown error', (e && e.code) || 'ERR_UNKNOWN');
  }

  // --- msgpack (the encoding of messages and session data on the wire) ----------------

  const textEncoder = new TextEncoder();
  const textDecoder = new TextDecoder('utf-8', { fatal: true });

  class Writer {
    constructor (limit, what) {
      this.buf = new Uint8Array(256);
      this.view = new DataView(this.buf.buffer);
      this.len = 0;
      this.limit = limit;
      this.what = what;
    }

    ensure (n) {
      const need = this.len + n;
      if (need > this.limit) {
        throw makeError('RangeError', `${this.what} is over the ${this.limit}-byte limit once encoded`, 'ERR_TOO_LARGE');
      }
      if (need <= this.buf.length) return;
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }

    u8 (v) { this.ensure(1); this.buf[this.len++] = v; }
    u16 (v) { this.ensure(2); this.view.setUint16(this.len, v); this.len += 2; }
    u32 (v) { this.ensure(4); this.view.setUint32(this.len, v); this.len += 4; }
    f64 (v) { this.ensure(8); this.view.setFloat64(this.len, v); this.len += 8; }
    bytes (b) { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
    result () { return this.buf.slice(0, this.len); }
  }

  function describe (v) {
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return 'a function';
    if (typeof v === 'symbol') return 'a symbol';
    if (typeof v === 'bigint') return 'a BigInt';
    if (typeof Node !== 'undefined' && v instanceof Node) return 'a DOM node';
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    return `a ${tag}`;
  }

  function unsupported (what, path, v, why) {
    return makeError('TypeError',
      `${what}: ${describe(v)} at ${path || 'the top level'} cannot be sent` +
      (why ? ` (${why})` : ' (only null, booleans, numbers, strings, arrays, plain objects, Uint8Array and ArrayBuffer)'),
      'ERR_UNSUPPORTED_VALUE');
  }

  function encodeValue (w, v, path, seen, depth) {
    if (v === null) return w.u8(0xc0);
    switch (typeof v) {
      case 'boolean': return w.u8(v ? 0xc3 : 0xc2);
      case 'number': return encodeNumber(w, v);
      case 'string': return encodeString(w, v);
      case 'object': break;
      default: throw unsupported(w.what, path, v);
    }
    if (depth > MAX_DEPTH) {
      throw unsupported(w.what, path, v, `nested deeper than ${MAX_DEPTH} levels`);
    }
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
      const b = v instanceof Uint8Array ? v : new Uint8Array(v);
      if (b.length < 0x100) { w.u8(0xc4); w.u8(b.length); } else if (b.length < 0x10000) { w.u8(0xc5); w.u16(b.length); } else { w.u8(0xc6); w.u32(b.length); }
      return w.bytes(b);
    }
    if (seen.has(v)) throw unsupported(w.what, path, v, 'it contains itself: cycles cannot be sent');
    if (Array.isArray(v)) {
      seen.add(v);
      const n = v.length;
      if (n < 16) w.u8(0x90 | n); else if (n < 0x10000) { w.u8(0xdc); w.u16(n); } else { w.u8(0xdd); w.u32(n); }
      for (let i = 0; i < n; i++) {
        if (!(i in v)) throw unsupported(w.what, `${path}[${i}]`, undefined, 'arrays must not have holes');
        encodeValue(w, v[i], `${path}[${i}]`, seen, depth + 1);
      }
      seen.delete(v);
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw unsupported(w.what, path, v);
    seen.add(v);
    const keys = Object.keys(v);
    const n = keys.length;
    if (n < 16) w.u8(0x80 | n); else if (n < 0x10000) { w.u8(0xde); w.u16(n); } else { w.u8(0xdf); w.u32(n); }
    for (const k of keys) {
      encodeString(w, k);
      encodeValue(w, v[k], `${path}.${k}`, seen, depth + 1);
    }
    seen.delete(v);
  }

  function encodeNumber (w, v) {
    if (Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      if (v >= 0) {
        if (v < 0x80) return w.u8(v);
        if (v < 0x100) { w.u8(0xcc); return w.u8(v); }
        if (v < 0x10000) { w.u8(0xcd); return w.u16(v); }
        if (v < 0x100000000) { w.u8(0xce); return w.u32(v); }
        w.u8(0xcf); w.u32(Math.floor(v / 0x100000000)); return w.u32(v >>> 0);
      }
      if (v >= -32) return w.u8(v & 0xff);
      if (v >= -0x80) { w.u8(0xd0); return w.u8(v & 0xff); }
      if (v >= -0x8000) { w.u8(0xd1); return w.u16(v & 0xffff); }
      if (v >= -0x80000000) { w.u8(0xd2); return w.u32(v >>> 0); }
      w.u8(0xd3); w.ensure(8); w.view.setBigInt64(w.len, BigInt(v)); w.len += 8; return;
    }
    w.u8(0xcb); w.f64(v);
  }

  function encodeString (w, s) {
    const b = textEncoder.encode(s);
    const n = b.length;
    if (n < 32) w.u8(0xa0 | n); else if (n < 0x100) { w.u8(0xd9); w.u8(n); } else if (n < 0x10000) { w.u8(0xda); w.u16(n); } else { w.u8(0xdb); w.u32(n); }
    w.bytes(b);
  }

  function encode (value, limit, what) {
    const w = new Writer(limit, what);
    encodeValue(w, value, '', new Set(), 0);
    return w.result();
  }

  class Reader {
    constructor (bytes) {
      this.b = bytes;
      this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.p = 0;
    }

    need (n) { if (this.p + n > this.b.length) throw new Error('truncated msgpack value'); }
    u8 () { this.need(1); return this.b[this.p++]; }
    u16 () { this.need(2); const x = this.v.getUint16(this.p); this.p += 2; return x; }
    u32 () { this.need(4); const x = this.v.getUint32(this.p); this.p += 4; return x; }
    take (n) { this.need(n); const x = this.b.slice(this.p, this.p + n); this.p += n; return x; }
    // no copy: for bytes that are decoded at once (strings)
    view (n) { this.need(n); const x = this.b.subarray(this.p, this.p + n); this.p += n; return x; }
  }

  function big (x) { return (x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(-Number.MAX_SAFE_INTEGER)) ? Number(x) : x; }

  function decodeValue (r, depth) {
    if (depth > MAX_DEPTH + 1) throw new Error('msgpack value nested too deeply');
    const t = r.u8();
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xf0) === 0x80) return decodeMap(r, t & 0x0f, depth);
    if ((t & 0xf0) === 0x90) return decodeArray(r, t & 0x0f, depth);
    if ((t & 0xe0) === 0xa0) return textDecoder.decode(r.view(t & 0x1f));
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return r.take(r.u8());
      case 0xc5: return r.take(r.u16());
      case 0xc6: return r.take(r.u32());
      case 0xca: { r.need(4); const x = r.v.getFloat32(r.p); r.p += 4; return x; }
      case 0xcb: { r.need(8); const x = r.v.getFloat64(r.p); r.p += 8; return x; }
      case 0xcc: return r.u8();
      case 0xcd: return r.u16();
      case 0xce: return r.u32();
      case 0xcf: { r.need(8); const x = r.v.getBigUint64(r.p); r.p += 8; return big(x); }
      case 0xd0: { r.need(1); const x = r.v.getInt8(r.p); r.p += 1; return x; }
      case 0xd1: { r.need(2); const x = r.v.getInt16(r.p); r.p += 2; return x; }
      case 0xd2: { r.need(4); const x = r.v.getInt32(r.p); r.p += 4; return x; }
      case 0xd3: { r.need(8); const x = r.v.getBigInt64(r.p); r.p += 8; return big(x); }
      case 0xd9: return textDecoder.decode(r.view(r.u8()));
      case 0xda: return textDecoder.decode(r.view(r.u16()));
      case 0xdb: return textDecoder.decode(r.view(r.u32()));
      case 0xdc: return decodeArray(r, r.u16(), depth);
      case 0xdd: return decodeArray(r, r.u32(), depth);
      case 0xde: return decodeMap(r, r.u16(), depth);
      case 0xdf: return decodeMap(r, r.u32(), depth);
      default: throw new Error(`unsupported msgpack type 0x${t.toString(16)}`);
    }
  }

  function decodeArray (r, n, depth) {
    if (n > r.b.length - r.p) throw new Error('truncated msgpack array');
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = decodeValue(r, depth + 1);
    return out;
  }

  function decodeMap (r, n, depth) {
    if (n * 2 > r.b.length - r.p) throw new Error('truncated msgpack map');
    const out = {};
    for (let i = 0; i < n; i++) {
      const k = decodeValue(r, depth + 1);
      if (typeof k !== 'string') throw new Error('msgpack map keys must be strings');
      Object.defineProperty(out, k, { value: decodeValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  function decode (bytes) {
    const r = new Reader(bytes);
    const value = decodeValue(r, 0);
    if (r.p !== bytes.length) throw new Error('trailing bytes after the msgpack value');
    return value;
  }

  // --- base64 (QWebChannel carries JSON text) ------------------------------------------

  function toBase64 (bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  function fromBase64 (text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  // --- the channel to the browser ------------------------------------------------------

  const channel = {
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
    // eslint-disable-next-line no-new
    new QWebChannelCtor(transport, (ch) => {
      const bridge = ch.objects.peersocket;
      if (!bridge) { console.error('PeerSocket: this browser offers no peersocket bridge'); return; }
      bridge.events.connect((text) => channel.receive(text));
      channel.bridge = bridge;
      channel.flush();
    });
  }

  const docToken = Math.random().toString(36).slice(2) + Date.now().toString(36);
  channel.outbox.push(['hello', docToken]);
  connect();

  // --- event handler attributes (onmessage, onclose...) ----------------------------------

  function defineHandlers (proto, names) {
    for (const name of names) {
      const key = `_on_${name}`;
      Object.defineProperty(proto, `on${name.replace('-', '')}`, {
        get () { return this[key] || null; },
        set (fn) {
          if (this[key]) this.removeEventListener(name, this[key]);
          this[key] = typeof fn === 'function' ? fn : null;
          if (this[key]) this.addEventListener(name, this[key]);
        },
        configurable: true,
        enumerable: true
      });
    }
  }

  function fire (target, type, props) {
    const evt = new Event(type);
    if (props) {
      for (const k of Object.keys(props)) Object.defineProperty(evt, k, { value: props[k], enumerable: true });
    }
    target.dispatchEvent(evt);
  }

  function defer (fn) { setTimeout(fn, 0); }

  // --- PeerSocketInfo ------------------------------------------------------------------

  class PeerSocketInfo {
    constructor (id, host, port) {
      Object.defineProperties(this, {
        id: { value: id, enumerable: true },
        host: { value: host === undefined ? null : host, enumerable: true },
        port: { value: port === undefined ? null : port, enumerable: true }
      });
      Object.freeze(this);
    }
  }

  // --- PeerSocket ------------------------------------------------------------------------

  const SOCKET = Symbol('peersocket-internal');

  class PeerSocket extends EventTarget {
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

  // --- PeerSocketSwarm ---------------------------------------------------------------------

  class PeerSocketSwarm extends EventTarget {
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
      defer(() => {
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
      else if (kind === 'd') socket._drain(item[3]);
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

  // --- PeerSocket static API ----------------------------------------------------------------

  Object.defineProperty(PeerSocket, 'joinSwarm', {
    value: function joinSwarm (opts) {
      channel.used = true;
      if (opts !== undefined && opts !== null && typeof opts !== 'object') {
        return Promise.reject(makeError('TypeError', 'joinSwarm(opts): opts must be an object like {id: "room"}', 'ERR_INVALID_ARGUMENT'));
      }
      const id = opts && opts.id !== undefined ? opts.id : null;
      if (id !== null && typeof id !== 'string') {
        return Promise.reject(makeError('TypeError', `joinSwarm({id}): id must be a string, not ${describe(id)}`, 'ERR_INVALID_ARGUMENT'));
      }
      return channel.callThen('join', (result) => {
        const swarm = new PeerSocketSwarm(SOCKET, result);
        channel.swarms.set(result.handle, swarm);
        swarm._start();
        return swarm;
      }, id);
    },
    enumerable: true
  });

  Object.defineProperty(PeerSocket, 'setDebugIdentity', {
    value: function setDebugIdentity (n) {
      if (channel.used) {
        throw makeError('InvalidStateError', 'PeerSocket.setDebugIdentity() must be called before any other PeerSocket call', 'ERR_DEBUG_IDENTITY_LOCKED');
      }
      if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
        throw makeError('TypeError', 'setDebugIdentity(n): n must be an integer from 0 to 2147483647', 'ERR_INVALID_ARGUMENT');
      }
      channel.call('identity', n).catch((err) => console.error('PeerSocket.setDebugIdentity:', err.message));
    },
    enumerable: true
  });

  Object.defineProperty(PeerSocket, 'MAX_MESSAGE_SIZE', { value: MAX_MESSAGE, enumerable: true });
  Object.defineProperty(PeerSocket, 'MAX_SESSION_DATA_SIZE', { value: MAX_SESSION_DATA, enumerable: true });

  for (const [name, value] of [['PeerSocket', PeerSocket], ['PeerSocketSwarm', PeerSocketSwarm], ['PeerSocketInfo', PeerSocketInfo]]) {
    Object.defineProperty(window, name, { value, writable: false, enumerable: false, configurable: false });
  }
})();
