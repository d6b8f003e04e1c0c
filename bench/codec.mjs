// The page's msgpack codec against @msgpack/msgpack, on what pages send.
//
//   node bench/codec.mjs [--quick] [--json OUT] [--also MODULE]
//
// --also MODULE adds another codec module with the same encode/decode exports as a
// fourth column (e.g. an earlier version: `git show REV:js/peersocket/codec.js >
// js/peersocket/codec-REV.js`, so that its imports resolve).
//
// Needs swarm/sidecar/node_modules (./run-tests or ./run-bench installs it): the library
// is the sidecar's pinned @msgpack/msgpack. No network, no browser: Node's V8.
//
// Three codecs, in one process, interleaved round by round (drift hits all alike):
// - own: js/peersocket/codec.js, what pages use, with every value rule of docs/API.md;
// - library: @msgpack/msgpack's Encoder and Decoder, reused, default options, no rules
//   (its best case: it accepts what the page must refuse and loses -0);
// - library+rules: the library plus what it would need to keep the rules it can keep:
//   a walk before encoding (types, holes, cycles, depth, paths in errors, ArrayBuffer as
//   binary) and the size limit checked after; decoding with string keys only, no
//   extension types, int64 as BigInt turned back into numbers where safe, depth and
//   binary copies checked in a walk after. Even so it loses -0 and refuses "__proto__"
//   keys (see docs/PERFORMANCE.md).
// Figures: operations per second (median of the rounds) and ratios against own in the
// same run; > 1 means faster than own.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decode as ownDecode, encode as ownEncode } from '../js/peersocket/codec.js';
import { MAX_DEPTH, MAX_MESSAGE } from '../js/peersocket/limits.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const sidecar = createRequire(`${root}swarm/sidecar/package.json`);
const msgpack = sidecar('@msgpack/msgpack');
const libVersion = sidecar('@msgpack/msgpack/package.json').version;

// --- what pages send ------------------------------------------------------------------

function randomBytes (n, seed) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24; }
  return out;
}

const LINE = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ';
const CASES = {
  'small object': { type: 'text', text: 'hello world' },
  '200-byte string': (LINE + LINE + LINE).slice(0, 200),
  '64 KiB binary': randomBytes(64 * 1024, 7),
  'nested object': {
    type: 'state',
    room: 'lobby',
    seq: 1234,
    players: Array.from({ length: 8 }, (_, i) => ({
      id: `player-${i}`, name: `Player ${i}`, x: i * 12.5, y: 100 - i * 3, alive: i % 3 !== 0,
      inventory: [{ item: 'sword', n: 1 }, { item: 'potion', n: i }], tags: ['a', 'b']
    })),
    board: { w: 64, h: 48, cells: Array.from({ length: 32 }, (_, i) => i % 5) }
  }
};

// --- the library, with the rules it can keep --------------------------------------------

const libEncoder = new msgpack.Encoder();
const libDecoder = new msgpack.Decoder();

function unsupported (path, why) {
  const err = new TypeError(`the message: ${why} at ${path || 'the top level'} cannot be sent`);
  err.code = 'ERR_UNSUPPORTED_VALUE';
  return err;
}

// Validates `v` by the page's rules; returns `v`, or a copy with ArrayBuffers as
// Uint8Arrays (the library would encode an ArrayBuffer as an empty map).
function check (v, path, seen, depth) {
  if (v === null) return v;
  switch (typeof v) {
    case 'boolean': case 'number': case 'string': return v;
    case 'object': break;
    default: throw unsupported(path, typeof v);
  }
  if (depth > MAX_DEPTH) throw unsupported(path, 'too deep');
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (seen.has(v)) throw unsupported(path, 'a cycle');
  seen.add(v);
  let out = v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw unsupported(`${path}[${i}]`, 'a hole');
      const c = check(v[i], `${path}[${i}]`, seen, depth + 1);
      if (c !== v[i]) { if (out === v) out = v.slice(); out[i] = c; }
    }
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw unsupported(path, 'not a plain object');
    for (const k of Object.keys(v)) {
      const c = check(v[k], `${path}.${k}`, seen, depth + 1);
      if (c !== v[k]) { if (out === v) out = { ...v }; out[k] = c; }
    }
  }
  seen.delete(v);
  return out;
}

function libRulesEncode (value, limit) {
  const out = libEncoder.encode(check(value, '', new Set(), 0));
  if (out.length > limit) throw new RangeError(`the message is over the ${limit}-byte limit once encoded`);
  return out;
}

const noExtensions = {
  tryToEncode () { return null; },
  decode (data, type) { throw new msgpack.DecodeError(`unsupported msgpack extension type ${type}`); }
};
const libRulesDecoder = new msgpack.Decoder({
  extensionCodec: noExtensions,
  useBigInt64: true,
  mapKeyConverter (key) {
    if (typeof key !== 'string') throw new msgpack.DecodeError('msgpack map keys must be strings');
    return key;
  }
});

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
// After decoding: depth, int64 back to numbers where exact, binary as copies of its own.
function settle (v, depth) {
  if (typeof v === 'bigint') return (v <= SAFE && v >= -SAFE) ? Number(v) : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth > MAX_DEPTH + 1) throw new Error('msgpack value nested too deeply');
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = settle(v[i], depth + 1);
  } else {
    for (const k of Object.keys(v)) v[k] = settle(v[k], depth + 1);
  }
  return v;
}

function libRulesDecode (bytes) {
  return settle(libRulesDecoder.decode(bytes), 0);
}

const CODECS = {
  own: { encode: (v) => ownEncode(v, MAX_MESSAGE, 'the message'), decode: ownDecode },
  library: { encode: (v) => libEncoder.encode(v), decode: (b) => libDecoder.decode(b) },
  'library+rules': { encode: (v) => libRulesEncode(v, MAX_MESSAGE), decode: libRulesDecode }
};

// --- timing -----------------------------------------------------------------------------

let sink = 0; // keeps results alive, so V8 cannot drop the work

// CPU time of this process (V8's GC threads included), not wall time: on a machine
// shared with other work, time spent descheduled is not the codec's.
function cpuMs () {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function opsPerSecond (fn, arg, minMs) {
  let n = 0;
  const t0 = cpuMs();
  let t = t0;
  let batch = 16;
  while (t - t0 < minMs) {
    for (let i = 0; i < batch; i++) { const r = fn(arg); sink += r === null ? 0 : 1; }
    n += batch;
    if (batch < 4096) batch *= 2;
    t = cpuMs();
  }
  return n / ((t - t0) / 1000);
}

function median (xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main (args) {
  const alsoAt = args.indexOf('--also');
  if (alsoAt >= 0) {
    const other = await import(new URL(args[alsoAt + 1], `file://${process.cwd()}/`).href);
    CODECS.also = { encode: (v) => other.encode(v, MAX_MESSAGE, 'the message'), decode: other.decode };
  }
  const quick = args.includes('--quick');
  const rounds = quick ? 3 : 9;
  const minMs = quick ? 60 : 200;
  const jsonAt = args.indexOf('--json');

  // the same bytes out of every codec (the library writes the same msgpack for these)
  const encoded = {};
  for (const [name, value] of Object.entries(CASES)) {
    const own = CODECS.own.encode(value);
    for (const [codec, c] of Object.entries(CODECS)) {
      const b = c.encode(value);
      if (Buffer.compare(Buffer.from(b), Buffer.from(own)) !== 0) throw new Error(`${codec} encodes ${name} differently`);
    }
    encoded[name] = own;
  }

  const samples = {};
  for (let round = -1; round < rounds; round++) { // round -1 warms up
    for (const name of Object.keys(CASES)) {
      for (const [codec, c] of Object.entries(CODECS)) {
        for (const [op, fn, arg] of [['encode', c.encode, CASES[name]], ['decode', c.decode, encoded[name]]]) {
          const ops = opsPerSecond(fn, arg, minMs);
          if (round < 0) continue;
          const key = `${name}|${op}|${codec}`;
          (samples[key] = samples[key] || []).push(ops);
        }
      }
    }
  }

  const rows = [];
  for (const name of Object.keys(CASES)) {
    for (const op of ['encode', 'decode']) {
      const own = median(samples[`${name}|${op}|own`]);
      const row = { case: name, op, bytes: encoded[name].length, ops: {}, ratio: {} };
      for (const codec of Object.keys(CODECS)) {
        const ops = median(samples[`${name}|${op}|${codec}`]);
        row.ops[codec] = ops;
        row.ratio[codec] = ops / own;
      }
      rows.push(row);
    }
  }

  const fmt = (x) => x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3);
  console.log(`node ${process.version}, V8 ${process.versions.v8}, @msgpack/msgpack ${libVersion}; ` +
    `${rounds} rounds, median ops per CPU second; ratio = ops/s ÷ own's in this run (> 1: faster than own)`);
  const also = CODECS.also ? ' also ops/s | also ÷ own |' : '';
  console.log(`| case | bytes | op | own ops/s | library ops/s | library+rules ops/s | library ÷ own | library+rules ÷ own |${also}`);
  console.log(`|---|---|---|---|---|---|---|---|${also ? '---|---|' : ''}`);
  for (const r of rows) {
    console.log(`| ${r.case} | ${r.bytes.toLocaleString('en-US')} | ${r.op} | ${fmt(r.ops.own)} | ${fmt(r.ops.library)} | ` +
      `${fmt(r.ops['library+rules'])} | ${r.ratio.library.toFixed(2)} | ${r.ratio['library+rules'].toFixed(2)} |` +
      (also ? ` ${fmt(r.ops.also)} | ${r.ratio.also.toFixed(2)} |` : ''));
  }
  if (jsonAt >= 0) {
    writeFileSync(args[jsonAt + 1], JSON.stringify({
      node: process.version, v8: process.versions.v8, library: libVersion, rounds, rows
    }, null, 1));
  }
  if (sink < 0) console.log(sink);
}

await main(process.argv.slice(2));
