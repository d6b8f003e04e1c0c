// msgpack, the encoding of messages and session data on the wire (docs/API.md,
// "Messages"; docs/PROTOCOL.md).
//
// encode(value, limit, what) -> Uint8Array, or throws TypeError (ERR_UNSUPPORTED_VALUE,
//   naming where the value is) or RangeError (ERR_TOO_LARGE, as soon as the output
//   would pass `limit`: nothing is encoded twice).
// decode(bytes) -> value, or throws Error with a message saying what is malformed.

import { describe, makeError } from './errors.js';
import { MAX_DEPTH } from './limits.js';

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

export function encode (value, limit, what) {
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

export function decode (bytes) {
  const r = new Reader(bytes);
  const value = decodeValue(r, 0);
  if (r.p !== bytes.length) throw new Error('trailing bytes after the msgpack value');
  return value;
}
