// msgpack, the encoding of messages and session data on the wire (docs/API.md,
// "Messages"; docs/PROTOCOL.md). Written for the page API's value rules rather than
// taken from @msgpack/msgpack: docs/PERFORMANCE.md, "The page's msgpack codec", says why.
//
// encode(value, limit, what) -> Uint8Array, or throws TypeError (ERR_UNSUPPORTED_VALUE,
//   naming where the value is) or RangeError (ERR_TOO_LARGE, as soon as the output
//   would pass `limit`: nothing is encoded twice).
// decode(bytes) -> value, or throws Error with a message saying what is malformed.

import { describe, makeError } from './errors.js';
import { MAX_DEPTH } from './limits.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const objectProto = Object.prototype;

// Strings up to this length are written and read byte by byte when they are ASCII (most
// keys and short words): cheaper than a call into TextEncoder / TextDecoder.
const SHORT_STRING = 16;
// encode() keeps its buffer for the next call while it is no larger than this.
const KEEP_BUFFER = 64 * 1024;

// --- encoding --------------------------------------------------------------------------

class Writer {
  constructor () {
    this.buf = new Uint8Array(4096);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
    this.limit = 0;
    this.what = '';
    this.stack = []; // the arrays and objects being encoded, outermost first (cycles)
  }

  // room for `n` more bytes, within the limit
  ensure (n) {
    const need = this.len + n;
    if (need > this.limit) throw this.tooLarge();
    if (need > this.buf.length) this.grow(need);
  }

  grow (need) {
    const next = new Uint8Array(Math.max(this.buf.length * 2, need));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tooLarge () {
    return makeError('RangeError', `${this.what} is over the ${this.limit}-byte limit once encoded`, 'ERR_TOO_LARGE');
  }

  u8 (v) { this.ensure(1); this.buf[this.len++] = v; }
  u16 (v) { this.ensure(2); this.view.setUint16(this.len, v); this.len += 2; }
  u32 (v) { this.ensure(4); this.view.setUint32(this.len, v); this.len += 4; }
  f64 (v) { this.ensure(8); this.view.setFloat64(this.len, v); this.len += 8; }
  bytes (b) { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
}

// The writer encode() reuses, made at the first call (a page that sends nothing pays
// nothing); null while a call has it: a getter in a value can call write() in the
// middle of an encoding, and that call gets a writer of its own.
let spare = null;

// A value that cannot be sent, on its way up to encode(), which names where it is: each
// array or object it passes through adds its index or key (nothing is spent on paths
// while nothing is wrong).
class Unsupported {
  constructor (value, why) {
    this.value = value;
    this.why = why;
    this.path = [];
  }

  toError (what) {
    let path = '';
    for (const step of this.path) path += typeof step === 'number' ? `[${step}]` : `.${step}`;
    return makeError('TypeError',
      `${what}: ${describe(this.value)} at ${path || 'the top level'} cannot be sent` +
      (this.why ? ` (${this.why})` : ' (only null, booleans, numbers, strings, arrays, plain objects, Uint8Array and ArrayBuffer)'),
      'ERR_UNSUPPORTED_VALUE');
  }
}

function within (e, step) {
  if (e instanceof Unsupported) e.path.unshift(step);
  return e;
}

function encodeValue (w, v, depth) {
  if (v === null) return w.u8(0xc0);
  switch (typeof v) {
    case 'boolean': return w.u8(v ? 0xc3 : 0xc2);
    case 'number': return encodeNumber(w, v);
    case 'string': return encodeString(w, v);
    case 'object': break;
    default: throw new Unsupported(v);
  }
  if (depth > MAX_DEPTH) throw new Unsupported(v, `nested deeper than ${MAX_DEPTH} levels`);
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
    const b = v instanceof Uint8Array ? v : new Uint8Array(v);
    if (b.length < 0x100) { w.u8(0xc4); w.u8(b.length); } else if (b.length < 0x10000) { w.u8(0xc5); w.u16(b.length); } else { w.u8(0xc6); w.u32(b.length); }
    return w.bytes(b);
  }
  const stack = w.stack;
  for (let d = 0; d < depth; d++) {
    if (stack[d] === v) throw new Unsupported(v, 'it contains itself: cycles cannot be sent');
  }
  if (Array.isArray(v)) {
    stack[depth] = v;
    const n = v.length;
    if (n < 16) w.u8(0x90 | n); else if (n < 0x10000) { w.u8(0xdc); w.u16(n); } else { w.u8(0xdd); w.u32(n); }
    for (let i = 0; i < n; i++) {
      if (!(i in v)) throw within(new Unsupported(undefined, 'arrays must not have holes'), i);
      try { encodeValue(w, v[i], depth + 1); } catch (e) { throw within(e, i); }
    }
    stack[depth] = null;
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== objectProto && proto !== null) throw new Unsupported(v);
  stack[depth] = v;
  const keys = Object.keys(v);
  const n = keys.length;
  if (n < 16) w.u8(0x80 | n); else if (n < 0x10000) { w.u8(0xde); w.u16(n); } else { w.u8(0xdf); w.u32(n); }
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    encodeString(w, k);
    try { encodeValue(w, v[k], depth + 1); } catch (e) { throw within(e, k); }
  }
  stack[depth] = null;
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

function headerSize (n) {
  return n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function writeStringHeader (buf, view, at, n) {
  if (n < 32) buf[at] = 0xa0 | n;
  else if (n < 0x100) { buf[at] = 0xd9; buf[at + 1] = n; } else if (n < 0x10000) { buf[at] = 0xda; view.setUint16(at + 1, n); } else { buf[at] = 0xdb; view.setUint32(at + 1, n); }
}

function encodeString (w, s) {
  const n = s.length;
  if (n <= SHORT_STRING) {
    // ASCII: n bytes (anything else takes more, so the limit check holds for it too)
    const head = headerSize(n);
    w.ensure(head + n);
    const buf = w.buf;
    let p = w.len + head;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[p++] = c;
    }
    if (i === n) {
      writeStringHeader(buf, w.view, w.len, n);
      w.len = p;
      return;
    }
  }
  // UTF-8 straight into the buffer, after room for the largest header it can need; at most
  // 3 bytes per UTF-16 unit, and never more room than the limit leaves (a string that
  // does not fit there is over the limit, whatever its header).
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

export function encode (value, limit, what) {
  const w = spare || new Writer();
  spare = null;
  w.len = 0;
  w.limit = limit;
  w.what = what;
  try {
    encodeValue(w, value, 0);
    if (w.len < w.buf.length) return w.buf.slice(0, w.len);
    // grown to the exact size (a large binary or string): hand the buffer over
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

// --- decoding --------------------------------------------------------------------------

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

  str (n) {
    this.need(n);
    const b = this.b;
    const start = this.p;
    this.p += n;
    if (n <= SHORT_STRING) {
      let s = '';
      let i = start;
      const end = start + n;
      for (; i < end; i++) {
        const c = b[i];
        if (c > 0x7f) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    try {
      return textDecoder.decode(b.subarray(start, start + n));
    } catch (e) {
      throw new Error('invalid UTF-8 in a msgpack string', { cause: e });
    }
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
function big (x) { return (x <= SAFE && x >= -SAFE) ? Number(x) : x; }

function decodeValue (r, depth) {
  if (depth > MAX_DEPTH + 1) throw new Error('msgpack value nested too deeply');
  const t = r.u8();
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if ((t & 0xf0) === 0x80) return decodeMap(r, t & 0x0f, depth);
  if ((t & 0xf0) === 0x90) return decodeArray(r, t & 0x0f, depth);
  if ((t & 0xe0) === 0xa0) return r.str(t & 0x1f);
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
    case 0xd9: return r.str(r.u8());
    case 0xda: return r.str(r.u16());
    case 0xdb: return r.str(r.u32());
    case 0xdc: return decodeArray(r, r.u16(), depth);
    case 0xdd: return decodeArray(r, r.u32(), depth);
    case 0xde: return decodeMap(r, r.u16(), depth);
    case 0xdf: return decodeMap(r, r.u32(), depth);
    default: throw new Error(`unsupported msgpack type 0x${t.toString(16)}`);
  }
}

function decodeArray (r, n, depth) {
  if (n > r.b.length - r.p) throw new Error('truncated msgpack array');
  const out = [];
  for (let i = 0; i < n; i++) out.push(decodeValue(r, depth + 1));
  return out;
}

function decodeMap (r, n, depth) {
  if (n * 2 > r.b.length - r.p) throw new Error('truncated msgpack map');
  const out = {};
  for (let i = 0; i < n; i++) {
    const k = decodeValue(r, depth + 1);
    if (typeof k !== 'string') throw new Error('msgpack map keys must be strings');
    const value = decodeValue(r, depth + 1);
    // An own data property, whatever the key: a plain assignment would call a setter
    // that Object.prototype has under that name ("__proto__", or one the page added).
    if (k in objectProto) {
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    } else {
      out[k] = value;
    }
  }
  return out;
}

export function decode (bytes) {
  const r = new Reader(bytes);
  const value = decodeValue(r, 0);
  if (r.p !== bytes.length) throw new Error('trailing bytes after the msgpack value');
  return value;
}
