// GENERATED from js/peersocket/*.js by js/build.mjs (npm --prefix js run build): edit
// those modules, not this file. PeerSocket page API; reference: docs/API.md.
'use strict';
(() => {
  // peersocket/errors.js
  var JS_ERRORS = { TypeError, RangeError, SyntaxError };
  function makeError(name, message, code) {
    const Ctor = JS_ERRORS[name];
    const err = Ctor ? new Ctor(message) : new DOMException(message, name || "Error");
    Object.defineProperty(err, "code", { value: code, enumerable: true });
    return err;
  }
  function fromWire(e) {
    return makeError(e && e.name, e && e.message || "unknown error", e && e.code || "ERR_UNKNOWN");
  }
  function describe(v) {
    if (v === void 0) return "undefined";
    if (typeof v === "function") return "a function";
    if (typeof v === "symbol") return "a symbol";
    if (typeof v === "bigint") return "a BigInt";
    if (typeof Node !== "undefined" && v instanceof Node) return "a DOM node";
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    return `a ${tag}`;
  }

  // peersocket/channel.js
  var nativeFromBase64 = typeof Uint8Array.fromBase64 === "function" ? Uint8Array.fromBase64 : null;
  var nativeToBase64 = typeof Uint8Array.prototype.toBase64 === "function" ? Uint8Array.prototype.toBase64 : null;
  function toBase64(bytes) {
    if (nativeToBase64 !== null) return nativeToBase64.call(bytes);
    let s = "";
    for (let i = 0; i < bytes.length; i += 32768) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
    }
    return btoa(s);
  }
  function fromBase64(text) {
    if (nativeFromBase64 !== null) return nativeFromBase64.call(Uint8Array, text);
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  var QWebChannelCtor = null;
  var tick = /* @__PURE__ */ (() => {
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
  var MAX_BATCH_OPS = 1024;
  var MAX_WRITES_PER_OP = 128;
  var MAX_BATCH_BYTES = 256 * 1024;
  var ACK_EAGER = 256 * 1024;
  var ACK_HOPS = 16;
  var BATCHES_IN_FLIGHT = 8;
  var EVENT_BATCHES_IN_FLIGHT = 2;
  var channel = {
    bridge: null,
    outbox: [],
    outOps: 0,
    // operations in the outbox, each write of a `W` counted
    outBytes: 0,
    lastWrite: null,
    // the outbox's last item, when it is a write (`w` or `W`)
    flushQueued: false,
    flushedInTask: false,
    receiving: false,
    // the task is (or, lacking a tick since, was) one that receive() started
    tickQueued: false,
    nextReq: 1,
    pending: /* @__PURE__ */ new Map(),
    // req -> {resolve, reject, onResult}
    swarms: /* @__PURE__ */ new Map(),
    // handle -> PeerSocketSwarm
    acks: /* @__PURE__ */ new Map(),
    // "handle|peer" -> [handle, peer, bytes] consumed since the last flush
    ackBytes: 0,
    ackWatching: false,
    seen: 0,
    // event batches from the browser read so far (the browser waits for this)
    seenSent: 0,
    sentBatches: 0,
    // batches sent to the browser
    ranBatches: 0,
    // of them, run by the browser (its `p` events)
    blocked: /* @__PURE__ */ new Set(),
    // sockets with writes waiting for room in the next batch
    used: false,
    ack(handle, peer, bytes) {
      const key = handle + "|" + peer;
      const entry = this.acks.get(key);
      if (entry) entry[2] += bytes;
      else this.acks.set(key, [handle, peer, bytes]);
      this.ackBytes += bytes;
      if (this.ackBytes >= ACK_EAGER) this.schedule();
      else this.ackLater();
    },
    // What the page consumed goes with the batch its task sends anyway (the answer to a
    // message, written a few microtasks after the read: `await reader.read()`, `for
    // await`), or, when the task sends none, on its own at the next macrotask. The
    // macrotask (a tick: a task for the renderer, every round trip) is asked for only
    // once ACK_HOPS microtasks passed with no batch on its way.
    ackLater() {
      if (this.ackWatching || this.flushQueued || this.tickQueued) return;
      this.ackWatching = true;
      let hops = ACK_HOPS;
      const watch = () => {
        if (this.flushQueued || this.tickQueued || !this.acks.size) {
          this.ackWatching = false;
          return;
        }
        if (--hops > 0) {
          queueMicrotask(watch);
          return;
        }
        this.ackWatching = false;
        this.later();
      };
      queueMicrotask(watch);
    },
    call(op, ...args) {
      return this.callThen(op, null, ...args);
    },
    // `onResult` runs as the result is read, before the rest of its batch: a new
    // swarm must exist before the events that follow its join in the same batch.
    callThen(op, onResult, ...args) {
      const req = this.nextReq++;
      return new Promise((resolve, reject) => {
        this.pending.set(req, { resolve, reject, onResult });
        this.post([op, req, ...args]);
      });
    },
    // Room in the next batch for a message of `bytes` (one always fits an empty batch).
    room(bytes) {
      return this.outOps < MAX_BATCH_OPS && (this.outBytes === 0 || this.outBytes + bytes <= MAX_BATCH_BYTES);
    },
    post(item, bytes) {
      this.outbox.push(item);
      this.outOps++;
      this.outBytes += bytes || 0;
      this.lastWrite = null;
      this.schedule();
    },
    // One write (base64) on a socket: joined to the write before it when that one was on
    // the same socket (`["W", handle, peer, [b64, ...]]`), else `["w", handle, peer, b64]`.
    write(handle, peer, b64) {
      const last = this.lastWrite;
      if (last !== null && last[1] === handle && last[2] === peer && (last[0] === "w" || last[3].length < MAX_WRITES_PER_OP)) {
        if (last[0] === "w") {
          last[0] = "W";
          last[3] = [last[3], b64];
        } else {
          last[3].push(b64);
        }
        this.outOps++;
        this.outBytes += b64.length;
        this.schedule();
        return;
      }
      this.post(["w", handle, peer, b64], b64.length);
      this.lastWrite = this.outbox[this.outbox.length - 1];
    },
    schedule() {
      if (this.flushQueued) return;
      this.flushQueued = true;
      if (this.flushedInTask) this.later();
      else queueMicrotask(() => this.flush());
    },
    // Flush at the next macrotask (which also starts a new task for `schedule`).
    later() {
      if (this.tickQueued) return;
      this.tickQueued = true;
      tick(() => {
        this.tickQueued = false;
        this.flushedInTask = false;
        this.receiving = false;
        this.flush();
      });
    },
    flush() {
      this.flushQueued = false;
      if (!this.bridge) return;
      if (this.sentBatches - this.ranBatches >= BATCHES_IN_FLIGHT) return;
      if (this.acks.size) {
        this.outbox.push(["ack", Array.from(this.acks.values())]);
        this.acks.clear();
        this.ackBytes = 0;
      }
      if (this.seen !== this.seenSent) {
        this.outbox.push(["seen", this.seen]);
        this.seenSent = this.seen;
      }
      if (this.outbox.length === 0) return;
      const batch = this.outbox;
      this.outbox = [];
      this.lastWrite = null;
      this.outOps = 0;
      this.outBytes = 0;
      this.flushedInTask = true;
      if (!this.receiving) this.later();
      this.sentBatches++;
      this.bridge.inbox = JSON.stringify(batch);
      if (this.blocked.size) {
        const blocked = Array.from(this.blocked);
        this.blocked.clear();
        for (const socket of blocked) socket._pump();
      }
    },
    receive(text) {
      this.flushedInTask = false;
      this.receiving = true;
      this.seen++;
      if (this.seen - this.seenSent >= EVENT_BATCHES_IN_FLIGHT) this.later();
      let items;
      try {
        items = JSON.parse(text);
      } catch (e) {
        console.error("PeerSocket: unreadable batch from the browser");
        return;
      }
      for (const item of items) {
        try {
          this.handle(item);
        } catch (e) {
          console.error("PeerSocket:", e);
        }
      }
    },
    handle(item) {
      const kind = item[0];
      if (kind === "r") {
        const p = this.pending.get(item[1]);
        if (!p) return;
        this.pending.delete(item[1]);
        if (!item[2]) p.reject(fromWire(item[3]));
        else p.resolve(p.onResult ? p.onResult(item[3]) : item[3]);
        return;
      }
      if (kind === "p") {
        const waiting = this.sentBatches - this.ranBatches >= BATCHES_IN_FLIGHT;
        this.ranBatches = item[1];
        if (waiting && (this.outbox.length || this.acks.size)) this.schedule();
        return;
      }
      if (kind === "E") {
        console.error("PeerSocket: the browser refused a batch:", item[1] && item[1].message);
        return;
      }
      const swarm = this.swarms.get(item[1]);
      if (swarm) swarm._receive(item);
    }
  };
  var connectTries = 0;
  function connect() {
    if (!QWebChannelCtor && typeof window.QWebChannel === "function") QWebChannelCtor = window.QWebChannel;
    const transport = window.qt && window.qt.webChannelTransport;
    if (!transport || !QWebChannelCtor) {
      if (++connectTries === 100) console.error("PeerSocket: the browser channel is not available yet");
      setTimeout(connect, connectTries < 100 ? 0 : 50);
      return;
    }
    new QWebChannelCtor(transport, (ch) => {
      const bridge = ch.objects.peersocket;
      if (!bridge) {
        console.error("PeerSocket: this browser offers no peersocket bridge");
        return;
      }
      bridge.events.connect((text) => channel.receive(text));
      channel.bridge = bridge;
      channel.flush();
    });
  }
  function openChannel() {
    if (typeof window.QWebChannel === "function") QWebChannelCtor = window.QWebChannel;
    const docToken = Math.random().toString(36).slice(2) + Date.now().toString(36);
    channel.outbox.push(["hello", docToken]);
    connect();
  }

  // peersocket/limits.js
  var MAX_MESSAGE = 4 * 1024 * 1024;
  var MAX_SESSION_DATA = 16 * 1024;
  var MAX_DEPTH = 64;
  var WINDOW = 1024 * 1024;
  var MAX_QUEUED = 16 * 1024 * 1024;

  // peersocket/codec.js
  var textEncoder = new TextEncoder();
  var textDecoder = new TextDecoder("utf-8", { fatal: true });
  var objectProto = Object.prototype;
  var SHORT_STRING = 16;
  var KEEP_BUFFER = 64 * 1024;
  var Writer = class {
    constructor() {
      this.buf = new Uint8Array(4096);
      this.view = new DataView(this.buf.buffer);
      this.len = 0;
      this.limit = 0;
      this.what = "";
      this.stack = [];
    }
    // room for `n` more bytes, within the limit
    ensure(n) {
      const need = this.len + n;
      if (need > this.limit) throw this.tooLarge();
      if (need > this.buf.length) this.grow(need);
    }
    grow(need) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, need));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    tooLarge() {
      return makeError("RangeError", `${this.what} is over the ${this.limit}-byte limit once encoded`, "ERR_TOO_LARGE");
    }
    u8(v) {
      this.ensure(1);
      this.buf[this.len++] = v;
    }
    u16(v) {
      this.ensure(2);
      this.view.setUint16(this.len, v);
      this.len += 2;
    }
    u32(v) {
      this.ensure(4);
      this.view.setUint32(this.len, v);
      this.len += 4;
    }
    f64(v) {
      this.ensure(8);
      this.view.setFloat64(this.len, v);
      this.len += 8;
    }
    bytes(b) {
      this.ensure(b.length);
      this.buf.set(b, this.len);
      this.len += b.length;
    }
  };
  var spare = null;
  var Unsupported = class {
    constructor(value, why) {
      this.value = value;
      this.why = why;
      this.path = [];
    }
    toError(what) {
      let path = "";
      for (const step of this.path) path += typeof step === "number" ? `[${step}]` : `.${step}`;
      return makeError(
        "TypeError",
        `${what}: ${describe(this.value)} at ${path || "the top level"} cannot be sent` + (this.why ? ` (${this.why})` : " (only null, booleans, numbers, strings, arrays, plain objects, Uint8Array and ArrayBuffer)"),
        "ERR_UNSUPPORTED_VALUE"
      );
    }
  };
  function within(e, step) {
    if (e instanceof Unsupported) e.path.unshift(step);
    return e;
  }
  function encodeValue(w, v, depth) {
    if (v === null) return w.u8(192);
    switch (typeof v) {
      case "boolean":
        return w.u8(v ? 195 : 194);
      case "number":
        return encodeNumber(w, v);
      case "string":
        return encodeString(w, v);
      case "object":
        break;
      default:
        throw new Unsupported(v);
    }
    if (depth > MAX_DEPTH) throw new Unsupported(v, `nested deeper than ${MAX_DEPTH} levels`);
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
      const b = v instanceof Uint8Array ? v : new Uint8Array(v);
      if (b.length < 256) {
        w.u8(196);
        w.u8(b.length);
      } else if (b.length < 65536) {
        w.u8(197);
        w.u16(b.length);
      } else {
        w.u8(198);
        w.u32(b.length);
      }
      return w.bytes(b);
    }
    const stack = w.stack;
    for (let d = 0; d < depth; d++) {
      if (stack[d] === v) throw new Unsupported(v, "it contains itself: cycles cannot be sent");
    }
    if (Array.isArray(v)) {
      stack[depth] = v;
      const n2 = v.length;
      if (n2 < 16) w.u8(144 | n2);
      else if (n2 < 65536) {
        w.u8(220);
        w.u16(n2);
      } else {
        w.u8(221);
        w.u32(n2);
      }
      for (let i = 0; i < n2; i++) {
        if (!(i in v)) throw within(new Unsupported(void 0, "arrays must not have holes"), i);
        try {
          encodeValue(w, v[i], depth + 1);
        } catch (e) {
          throw within(e, i);
        }
      }
      stack[depth] = null;
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== objectProto && proto !== null) throw new Unsupported(v);
    stack[depth] = v;
    const keys = Object.keys(v);
    const n = keys.length;
    if (n < 16) w.u8(128 | n);
    else if (n < 65536) {
      w.u8(222);
      w.u16(n);
    } else {
      w.u8(223);
      w.u32(n);
    }
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      encodeString(w, k);
      try {
        encodeValue(w, v[k], depth + 1);
      } catch (e) {
        throw within(e, k);
      }
    }
    stack[depth] = null;
  }
  function encodeNumber(w, v) {
    if (Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      if (v >= 0) {
        if (v < 128) return w.u8(v);
        if (v < 256) {
          w.u8(204);
          return w.u8(v);
        }
        if (v < 65536) {
          w.u8(205);
          return w.u16(v);
        }
        if (v < 4294967296) {
          w.u8(206);
          return w.u32(v);
        }
        w.u8(207);
        w.u32(Math.floor(v / 4294967296));
        return w.u32(v >>> 0);
      }
      if (v >= -32) return w.u8(v & 255);
      if (v >= -128) {
        w.u8(208);
        return w.u8(v & 255);
      }
      if (v >= -32768) {
        w.u8(209);
        return w.u16(v & 65535);
      }
      if (v >= -2147483648) {
        w.u8(210);
        return w.u32(v >>> 0);
      }
      w.u8(211);
      w.ensure(8);
      w.view.setBigInt64(w.len, BigInt(v));
      w.len += 8;
      return;
    }
    w.u8(203);
    w.f64(v);
  }
  function headerSize(n) {
    return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
  }
  function writeStringHeader(buf, view, at, n) {
    if (n < 32) buf[at] = 160 | n;
    else if (n < 256) {
      buf[at] = 217;
      buf[at + 1] = n;
    } else if (n < 65536) {
      buf[at] = 218;
      view.setUint16(at + 1, n);
    } else {
      buf[at] = 219;
      view.setUint32(at + 1, n);
    }
  }
  function encodeString(w, s) {
    const n = s.length;
    if (n <= SHORT_STRING) {
      const head2 = headerSize(n);
      w.ensure(head2 + n);
      const buf = w.buf;
      let p = w.len + head2;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[p++] = c;
      }
      if (i === n) {
        writeStringHeader(buf, w.view, w.len, n);
        w.len = p;
        return;
      }
    }
    const head = headerSize(n * 3);
    const room = Math.min(n * 3, w.limit - w.len - 1);
    if (room < n) throw w.tooLarge();
    if (w.len + head + room > w.buf.length) w.grow(w.len + head + room);
    const { read, written } = textEncoder.encodeInto(s, w.buf.subarray(w.len + head, w.len + head + room));
    if (read < n) throw w.tooLarge();
    const exact = headerSize(written);
    if (w.len + exact + written > w.limit) throw w.tooLarge();
    if (exact < head) w.buf.copyWithin(w.len + exact, w.len + head, w.len + head + written);
    writeStringHeader(w.buf, w.view, w.len, written);
    w.len += exact + written;
  }
  function encode(value, limit, what) {
    const w = spare || new Writer();
    spare = null;
    w.len = 0;
    w.limit = limit;
    w.what = what;
    try {
      encodeValue(w, value, 0);
      if (w.len < w.buf.length) return w.buf.slice(0, w.len);
      const out = w.buf;
      w.buf = new Uint8Array(4096);
      w.view = new DataView(w.buf.buffer);
      return out;
    } catch (e) {
      throw e instanceof Unsupported ? e.toError(what) : e;
    } finally {
      w.stack.length = 0;
      if (w.buf.length <= KEEP_BUFFER) spare = w;
    }
  }
  var Reader = class {
    constructor(bytes) {
      this.b = bytes;
      this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.p = 0;
    }
    need(n) {
      if (this.p + n > this.b.length) throw new Error("truncated msgpack value");
    }
    u8() {
      this.need(1);
      return this.b[this.p++];
    }
    u16() {
      this.need(2);
      const x = this.v.getUint16(this.p);
      this.p += 2;
      return x;
    }
    u32() {
      this.need(4);
      const x = this.v.getUint32(this.p);
      this.p += 4;
      return x;
    }
    take(n) {
      this.need(n);
      const x = this.b.slice(this.p, this.p + n);
      this.p += n;
      return x;
    }
    str(n) {
      this.need(n);
      const b = this.b;
      const start = this.p;
      this.p += n;
      if (n <= SHORT_STRING) {
        let s = "";
        let i = start;
        const end = start + n;
        for (; i < end; i++) {
          const c = b[i];
          if (c > 127) break;
          s += String.fromCharCode(c);
        }
        if (i === end) return s;
      }
      try {
        return textDecoder.decode(b.subarray(start, start + n));
      } catch (e) {
        throw new Error("invalid UTF-8 in a msgpack string", { cause: e });
      }
    }
  };
  var SAFE = BigInt(Number.MAX_SAFE_INTEGER);
  function big(x) {
    return x <= SAFE && x >= -SAFE ? Number(x) : x;
  }
  function decodeValue(r, depth) {
    if (depth > MAX_DEPTH + 1) throw new Error("msgpack value nested too deeply");
    const t = r.u8();
    if (t < 128) return t;
    if (t >= 224) return t - 256;
    if ((t & 240) === 128) return decodeMap(r, t & 15, depth);
    if ((t & 240) === 144) return decodeArray(r, t & 15, depth);
    if ((t & 224) === 160) return r.str(t & 31);
    switch (t) {
      case 192:
        return null;
      case 194:
        return false;
      case 195:
        return true;
      case 196:
        return r.take(r.u8());
      case 197:
        return r.take(r.u16());
      case 198:
        return r.take(r.u32());
      case 202: {
        r.need(4);
        const x = r.v.getFloat32(r.p);
        r.p += 4;
        return x;
      }
      case 203: {
        r.need(8);
        const x = r.v.getFloat64(r.p);
        r.p += 8;
        return x;
      }
      case 204:
        return r.u8();
      case 205:
        return r.u16();
      case 206:
        return r.u32();
      case 207: {
        r.need(8);
        const x = r.v.getBigUint64(r.p);
        r.p += 8;
        return big(x);
      }
      case 208: {
        r.need(1);
        const x = r.v.getInt8(r.p);
        r.p += 1;
        return x;
      }
      case 209: {
        r.need(2);
        const x = r.v.getInt16(r.p);
        r.p += 2;
        return x;
      }
      case 210: {
        r.need(4);
        const x = r.v.getInt32(r.p);
        r.p += 4;
        return x;
      }
      case 211: {
        r.need(8);
        const x = r.v.getBigInt64(r.p);
        r.p += 8;
        return big(x);
      }
      case 217:
        return r.str(r.u8());
      case 218:
        return r.str(r.u16());
      case 219:
        return r.str(r.u32());
      case 220:
        return decodeArray(r, r.u16(), depth);
      case 221:
        return decodeArray(r, r.u32(), depth);
      case 222:
        return decodeMap(r, r.u16(), depth);
      case 223:
        return decodeMap(r, r.u32(), depth);
      default:
        throw new Error(`unsupported msgpack type 0x${t.toString(16)}`);
    }
  }
  function decodeArray(r, n, depth) {
    if (n > r.b.length - r.p) throw new Error("truncated msgpack array");
    const out = [];
    for (let i = 0; i < n; i++) out.push(decodeValue(r, depth + 1));
    return out;
  }
  function decodeMap(r, n, depth) {
    if (n * 2 > r.b.length - r.p) throw new Error("truncated msgpack map");
    const out = {};
    for (let i = 0; i < n; i++) {
      const k = decodeValue(r, depth + 1);
      if (typeof k !== "string") throw new Error("msgpack map keys must be strings");
      const value = decodeValue(r, depth + 1);
      if (k in objectProto) {
        Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
      } else {
        out[k] = value;
      }
    }
    return out;
  }
  function decode(bytes) {
    const r = new Reader(bytes);
    const value = decodeValue(r, 0);
    if (r.p !== bytes.length) throw new Error("trailing bytes after the msgpack value");
    return value;
  }

  // peersocket/events.js
  function defineHandlers(proto, names) {
    for (const name of names) {
      const key = `_on_${name}`;
      Object.defineProperty(proto, `on${name.replace("-", "")}`, {
        get() {
          return this[key] || null;
        },
        set(fn) {
          if (this[key]) this.removeEventListener(name, this[key]);
          this[key] = typeof fn === "function" ? fn : null;
          if (this[key]) this.addEventListener(name, this[key]);
        },
        configurable: true,
        enumerable: true
      });
    }
  }
  function fire(target, type, props) {
    const evt = new Event(type);
    if (props) {
      for (const k of Object.keys(props)) Object.defineProperty(evt, k, { value: props[k], enumerable: true });
    }
    target.dispatchEvent(evt);
  }
  var PeerMessageEvent = class extends Event {
    #message;
    constructor(message) {
      super("message");
      this.#message = message;
    }
    get message() {
      return this.#message;
    }
    get data() {
      return this.#message;
    }
  };

  // peersocket/socket.js
  var PeerSocketInfo = class {
    constructor(id, host, port) {
      Object.defineProperties(this, {
        id: { value: id, enumerable: true },
        host: { value: host === void 0 ? null : host, enumerable: true },
        port: { value: port === void 0 ? null : port, enumerable: true }
      });
      Object.freeze(this);
    }
  };
  var SOCKET = /* @__PURE__ */ Symbol("peersocket-internal");
  var PeerSocket = class extends EventTarget {
    constructor(key, swarm, desc) {
      if (key !== SOCKET) throw new TypeError("PeerSocket cannot be constructed; use PeerSocket.joinSwarm()");
      super();
      this._swarm = swarm;
      this._info = new PeerSocketInfo(desc.id, desc.host, desc.port);
      this._loopback = !!desc.loopback;
      this._session = desc.session;
      this._sessionValue = void 0;
      this._state = "open";
      this._queue = [];
      this._queued = 0;
      this._posted = [];
      this._postedBytes = 0;
      this._postedCount = 0;
      this._unread = 0;
      this._lastBuffered = 0;
      this.bufferedAmountLowThreshold = 0;
      this._stream = null;
      this._controller = null;
      this._streamBuffer = [];
      this._wantsData = false;
      this._writable = null;
      this._hearsMessages = false;
      this.opened = Promise.resolve(this);
      this.closed = new Promise((resolve) => {
        this._resolveClosed = resolve;
      });
    }
    // `message` events are made once the page has listened for them (addEventListener or
    // `onmessage`, ever, even if it removed the listener since): a page that only reads
    // `readable` does not pay for an event per message that nobody hears
    // (python -m bench.profile.js_read_costs).
    addEventListener(type, listener, options) {
      if (type === "message") this._hearsMessages = true;
      super.addEventListener(type, listener, options);
    }
    get loopback() {
      return this._loopback;
    }
    get info() {
      return this._info;
    }
    get swarm() {
      return this._swarm;
    }
    get readyState() {
      return this._state;
    }
    get bufferedAmount() {
      return this._queued + this._postedBytes + this._unread;
    }
    getSessionData() {
      if (this._session == null) return null;
      if (this._sessionValue === void 0) {
        try {
          this._sessionValue = decode(fromBase64(this._session));
        } catch (e) {
          this._sessionValue = null;
        }
      }
      return this._sessionValue;
    }
    setSessionData(data) {
      if (!this._loopback) {
        throw makeError("TypeError", "setSessionData() is only valid on the loopback socket (swarm.getLoopback())", "ERR_NOT_LOOPBACK");
      }
      this._swarm._requireOpen();
      const bytes = data === null ? null : encode(data, MAX_SESSION_DATA, "the session data");
      this._session = bytes === null ? null : toBase64(bytes);
      this._sessionValue = void 0;
      return channel.call("session", this._swarm._handle, this._session).then(() => void 0);
    }
    write(msg) {
      if (this._state !== "open") {
        return Promise.reject(makeError("InvalidStateError", `the socket is ${this._state}`, "ERR_SOCKET_CLOSED"));
      }
      let bytes;
      try {
        bytes = encode(msg, MAX_MESSAGE, "the message");
      } catch (e) {
        return Promise.reject(e);
      }
      const size = bytes.length;
      if (this._queued + size > MAX_QUEUED) {
        return Promise.reject(makeError(
          "OperationError",
          `${this._queued} bytes are already waiting to be sent on this socket: wait for write() or bufferedamountlow`,
          "ERR_BUFFER_FULL"
        ));
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
    _fits(size) {
      const unread = this._postedBytes + this._unread;
      return unread === 0 || unread + size <= WINDOW;
    }
    // Hand one write to the browser. It gets no reply: a drain later says how many of this
    // page's writes the browser has processed, and a write it refused comes back as an
    // `error` event (the socket closed meanwhile, say).
    _post(b64, size) {
      this._posted.push(size);
      this._postedBytes += size;
      this._postedCount++;
      channel.write(this._swarm._handle, this._info.id, b64);
    }
    // Send queued writes while the window and the next batch have room; each one's
    // write() resolves as it goes.
    _pump() {
      while (this._queue.length && this._state === "open") {
        const head = this._queue[0];
        if (!this._fits(head.size)) break;
        if (!channel.room(head.b64.length)) {
          channel.blocked.add(this);
          break;
        }
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
    _drain(unread, processed) {
      let counted = this._postedCount - this._posted.length;
      while (counted < processed && this._posted.length) {
        this._postedBytes -= this._posted.shift();
        counted++;
      }
      this._unread = unread;
      this._pump();
    }
    _changed() {
      const now = this.bufferedAmount;
      const threshold = this.bufferedAmountLowThreshold;
      const before = this._lastBuffered;
      this._lastBuffered = now;
      if (before > threshold && now <= threshold) fire(this, "bufferedamountlow");
    }
    _consumed(size) {
      channel.ack(this._swarm._handle, this._info.id, size);
    }
    close(reason) {
      if (this._state !== "open") return this.closed.then(() => void 0);
      if (this._loopback) {
        return Promise.reject(makeError("InvalidAccessError", "the loopback socket lives as long as the swarm: close the swarm instead", "ERR_LOOPBACK_CLOSE"));
      }
      if (reason !== void 0 && typeof reason !== "string") {
        return Promise.reject(makeError("TypeError", "close(reason): reason must be a string", "ERR_INVALID_ARGUMENT"));
      }
      this._state = "closing";
      return channel.call("close", this._swarm._handle, this._info.id, reason === void 0 ? "" : reason).then(
        () => this.closed.then(() => void 0),
        (err) => {
          if (this._state === "closing") this._state = "open";
          throw err;
        }
      );
    }
    // `readable` hands a message to the stream only when its reader asks for one, so a
    // reader that does not read holds its writer back (the messages wait here, unacked).
    get readable() {
      if (this._stream === null) {
        this._stream = new ReadableStream({
          start: (controller) => {
            this._controller = controller;
            if (this._state === "closed") controller.close();
          },
          pull: (controller) => {
            const next = this._streamBuffer.shift();
            if (next) {
              controller.enqueue(next.msg);
              this._consumed(next.size);
            } else if (this._state === "closed") {
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
    _dropStream() {
      for (const { size } of this._streamBuffer) this._consumed(size);
      this._streamBuffer = [];
      this._stream = null;
      this._controller = null;
      this._wantsData = false;
    }
    get writable() {
      if (this._writable === null) {
        this._writable = new WritableStream({
          write: (chunk) => this.write(chunk),
          close: () => this.close(),
          abort: () => this.close()
        });
      }
      return this._writable;
    }
    get writeable() {
      return this.writable;
    }
    _message(b64) {
      let bytes, msg;
      try {
        bytes = fromBase64(b64);
        msg = decode(bytes);
      } catch (e) {
        if (bytes) this._consumed(bytes.length);
        fire(this, "error", { error: makeError("SyntaxError", `a message from the peer could not be decoded: ${e.message}`, "ERR_BAD_MESSAGE") });
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
    _sessionData(b64) {
      this._session = b64;
      this._sessionValue = void 0;
      fire(this, "session-data", { sessionData: this.getSessionData() });
    }
    _closed(code, reason, wasClean) {
      if (this._state === "closed") return;
      this._state = "closed";
      const queue = this._queue;
      this._queue = [];
      this._queued = 0;
      this._unread = 0;
      this._posted = [];
      this._postedBytes = 0;
      for (const w of queue) w.reject(makeError("InvalidStateError", "the socket closed before this message was sent", "ERR_SOCKET_CLOSED"));
      if (this._controller && this._streamBuffer.length === 0) {
        try {
          this._controller.close();
        } catch (e) {
        }
        this._controller = null;
      }
      const info = { code, reason, wasClean };
      this._resolveClosed(info);
      fire(this, "close", info);
    }
  };
  defineHandlers(PeerSocket.prototype, ["open", "message", "session-data", "close", "error", "bufferedamountlow"]);

  // peersocket/swarm.js
  var PeerSocketSwarm = class extends EventTarget {
    constructor(key, result) {
      if (key !== SOCKET) throw new TypeError("PeerSocketSwarm cannot be constructed; use PeerSocket.joinSwarm()");
      super();
      this._handle = result.handle;
      this._type = result.type;
      this._id = result.id;
      this._state = "joined";
      this._ready = false;
      this._held = [];
      this._sockets = /* @__PURE__ */ new Map();
      this._loopbackSocket = new PeerSocket(SOCKET, this, result.loopback);
      this._initial = result.sockets;
      this._closedInfo = new Promise((resolve) => {
        this._resolveClosed = resolve;
      });
    }
    get type() {
      return this._type;
    }
    get id() {
      return this._type === "open" ? this._id : void 0;
    }
    get readyState() {
      return this._state;
    }
    get closed() {
      return this._state === "closed";
    }
    getLoopback() {
      return this._loopbackSocket;
    }
    getSocket(id) {
      if (id === this._loopbackSocket.info.id) return this._loopbackSocket;
      const s = this._sockets.get(String(id).toLowerCase());
      return s && s.readyState !== "closed" ? s : null;
    }
    getSockets() {
      return Array.from(this._sockets.values()).filter((s) => s.readyState !== "closed");
    }
    close() {
      if (this._state === "closed" || this._state === "closing") return this._closedInfo.then(() => void 0);
      this._state = "closing";
      return channel.call("leave", this._handle).then(
        () => {
          this._finish(1e3, "swarm.close() was called");
        },
        (err) => {
          this._finish(1e3, "swarm.close() was called");
          throw err;
        }
      );
    }
    _requireOpen() {
      if (this._state !== "joined") throw makeError("InvalidStateError", `the swarm is ${this._state}`, "ERR_SWARM_CLOSED");
    }
    // Connection events are dispatched after joinSwarm() resolves: existing sockets
    // first (as Beaker's watch() replayed peers), then whatever arrived meanwhile.
    _start() {
      tick(() => {
        this._ready = true;
        for (const desc of this._initial) this._connection(desc);
        this._initial = null;
        const held = this._held;
        this._held = [];
        for (const item of held) this._receive(item);
      });
    }
    _connection(desc) {
      const existing = this._sockets.get(desc.id);
      if (existing && existing.readyState !== "closed") return;
      const socket = new PeerSocket(SOCKET, this, desc);
      this._sockets.set(desc.id, socket);
      fire(this, "connection", { socket });
      fire(socket, "open");
    }
    _receive(item) {
      if (!this._ready) {
        this._held.push(item);
        return;
      }
      if (this._state === "closed") return;
      const kind = item[0];
      if (kind === "c") {
        this._connection(item[2]);
        return;
      }
      if (kind === "X") {
        this._finish(item[2], item[3]);
        return;
      }
      const socket = item[2] === this._loopbackSocket.info.id ? this._loopbackSocket : this._sockets.get(item[2]);
      if (!socket) return;
      if (kind === "m") socket._message(item[3]);
      else if (kind === "M") {
        for (const b64 of item[3]) socket._message(b64);
      } else if (kind === "d") socket._drain(item[3], item[4]);
      else if (kind === "w") fire(socket, "error", { error: fromWire(item[3]) });
      else if (kind === "s") socket._sessionData(item[3]);
      else if (kind === "x") {
        socket._closed(item[3], item[4], item[5]);
        if (item[3] !== 1e3 && this._sockets.get(item[2]) === socket) this._sockets.delete(item[2]);
      }
    }
    _finish(code, reason) {
      if (this._state === "closed") return;
      this._state = "closed";
      channel.swarms.delete(this._handle);
      for (const s of this._sockets.values()) s._closed(code, reason || "the swarm was closed", true);
      this._loopbackSocket._closed(code, reason || "the swarm was closed", true);
      const info = { code, reason, wasClean: true };
      this._resolveClosed(info);
      fire(this, "close", info);
    }
  };
  defineHandlers(PeerSocketSwarm.prototype, ["connection", "close", "error"]);

  // peersocket/index.js
  Object.defineProperty(PeerSocket, "joinSwarm", {
    value: function joinSwarm(opts) {
      channel.used = true;
      if (opts !== void 0 && opts !== null && typeof opts !== "object") {
        return Promise.reject(makeError("TypeError", 'joinSwarm(opts): opts must be an object like {id: "room"}', "ERR_INVALID_ARGUMENT"));
      }
      const id = opts && opts.id !== void 0 ? opts.id : null;
      if (id !== null && typeof id !== "string") {
        return Promise.reject(makeError("TypeError", `joinSwarm({id}): id must be a string, not ${describe(id)}`, "ERR_INVALID_ARGUMENT"));
      }
      return channel.callThen("join", (result) => {
        const swarm = new PeerSocketSwarm(SOCKET, result);
        channel.swarms.set(result.handle, swarm);
        swarm._start();
        return swarm;
      }, id);
    },
    enumerable: true
  });
  Object.defineProperty(PeerSocket, "setDebugIdentity", {
    value: function setDebugIdentity(n) {
      if (channel.used) {
        throw makeError("InvalidStateError", "PeerSocket.setDebugIdentity() must be called before any other PeerSocket call", "ERR_DEBUG_IDENTITY_LOCKED");
      }
      if (!Number.isInteger(n) || n < 0 || n > 2147483647) {
        throw makeError("TypeError", "setDebugIdentity(n): n must be an integer from 0 to 2147483647", "ERR_INVALID_ARGUMENT");
      }
      channel.call("identity", n).catch((err) => console.error("PeerSocket.setDebugIdentity:", err.message));
    },
    enumerable: true
  });
  Object.defineProperty(PeerSocket, "MAX_MESSAGE_SIZE", { value: MAX_MESSAGE, enumerable: true });
  Object.defineProperty(PeerSocket, "MAX_SESSION_DATA_SIZE", { value: MAX_SESSION_DATA, enumerable: true });
  if (!window.PeerSocket) {
    openChannel();
    for (const [name, value] of [["PeerSocket", PeerSocket], ["PeerSocketSwarm", PeerSocketSwarm], ["PeerSocketInfo", PeerSocketInfo]]) {
      Object.defineProperty(window, name, { value, writable: false, enumerable: false, configurable: false });
    }
  }
})();
