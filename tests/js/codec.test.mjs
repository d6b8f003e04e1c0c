// The page's msgpack codec on its own (js/peersocket/codec.js): round trips, the value
// rules of docs/API.md ("Messages"), and malformed input. Run by tests/js/test_node.py
// (`node --test tests/js/codec.test.mjs`).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decode, encode } from '../../js/peersocket/codec.js';
import { MAX_DEPTH, MAX_MESSAGE } from '../../js/peersocket/limits.js';

const LIMIT = MAX_MESSAGE;
const enc = (v, limit = LIMIT) => encode(v, limit, 'the message');
const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (h) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const roundTrip = (v) => decode(enc(v));

function nested (levels, leaf) {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

// --- round trips --------------------------------------------------------------------

test('scalars round-trip exactly, -0, NaN and the infinities included', () => {
  const values = [null, true, false, 0, 1, -1, 1.5, -7.25, 0.1, 1e300, -1e-300, Number.MIN_VALUE,
    Number.MAX_VALUE, Infinity, -Infinity, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 64, -(2 ** 63) - 4096, '', 'a', 'ü日本🎉'];
  for (const v of values) assert.ok(Object.is(roundTrip(v), v), String(v));
  assert.ok(Object.is(roundTrip(-0), -0));
  assert.ok(Number.isNaN(roundTrip(NaN)));
});

test('integers take the smallest msgpack form, at every boundary', () => {
  const cases = [
    [0, '00'], [127, '7f'], [128, 'cc80'], [255, 'ccff'], [256, 'cd0100'], [65535, 'cdffff'],
    [65536, 'ce00010000'], [2 ** 32 - 1, 'ceffffffff'], [2 ** 32, 'cf0000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff'], [-1, 'ff'], [-32, 'e0'], [-33, 'd0df'],
    [-128, 'd080'], [-129, 'd1ff7f'], [-32768, 'd18000'], [-32769, 'd2ffff7fff'],
    [-(2 ** 31), 'd280000000'], [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
    [-Number.MAX_SAFE_INTEGER, 'd3ffe0000000000001']
  ];
  for (const [v, want] of cases) {
    assert.equal(hex(enc(v)), want, String(v));
    assert.equal(decode(bytes(want)), v);
  }
  // not integers, or beyond 2^53: 64-bit floats
  assert.equal(hex(enc(-0)), 'cb8000000000000000');
  assert.equal(hex(enc(1.5)), 'cb3ff8000000000000');
  assert.equal(hex(enc(2 ** 53)), 'cb4340000000000000');
});

test('strings and containers take the right header at every size boundary', () => {
  for (const [n, head] of [[0, 'a0'], [31, 'bf'], [32, 'd920'], [255, 'd9ff'], [256, 'da0100'],
    [65535, 'daffff'], [65536, 'db00010000']]) {
    const s = 'x'.repeat(n);
    const b = enc(s);
    assert.equal(hex(b.subarray(0, head.length / 2)), head, `string of ${n}`);
    assert.equal(b.length, head.length / 2 + n);
    assert.equal(decode(b), s);
  }
  for (const [n, head] of [[0, '90'], [15, '9f'], [16, 'dc0010'], [65535, 'dcffff'], [65536, 'dd00010000']]) {
    const a = new Array(n).fill(1);
    const b = enc(a);
    assert.equal(hex(b.subarray(0, head.length / 2)), head, `array of ${n}`);
    assert.deepEqual(decode(b), a);
  }
  for (const [n, head] of [[0, '80'], [15, '8f'], [16, 'de0010'], [65536, 'df00010000']]) {
    const o = {};
    for (let i = 0; i < n; i++) o[`k${i}`] = i;
    const b = enc(o);
    assert.equal(hex(b.subarray(0, head.length / 2)), head, `map of ${n}`);
    assert.deepEqual(decode(b), o);
  }
  for (const [n, head] of [[0, 'c400'], [255, 'c4ff'], [256, 'c50100'], [65535, 'c5ffff'], [65536, 'c600010000']]) {
    const b = enc(new Uint8Array(n).fill(5));
    assert.equal(hex(b.subarray(0, head.length / 2)), head, `binary of ${n}`);
    assert.deepEqual(decode(b), new Uint8Array(n).fill(5));
  }
});

test('strings: every code point, and lone surrogates as U+FFFD (as TextEncoder does)', () => {
  const all = [];
  for (let cp = 0; cp < 0x110000; cp += cp < 0x800 ? 1 : 97) {
    if (cp < 0xd800 || cp > 0xdfff) all.push(String.fromCodePoint(cp));
  }
  const s = all.join('');
  assert.equal(roundTrip(s), s);
  const utf8 = new TextEncoder().encode(s);
  assert.deepEqual(enc(s).subarray(3), utf8); // str 16 header
  assert.ok(utf8.length > 0xff && utf8.length <= 0xffff);
  for (const lone of ['\ud800', 'a\udc00b', '\udbff', 'x\ud83d']) {
    assert.equal(roundTrip(lone), lone.replace(/[\ud800-\udfff]/g, '\ufffd'));
    assert.deepEqual(enc(lone).subarray(1), new TextEncoder().encode(lone));
  }
});

test('arrays and plain objects round-trip, nested, with any string keys', () => {
  const v = {
    a: [1, [2, [3, []]], {}],
    'key with space': { b: { c: null } },
    '': 'empty key',
    ü日本: true,
    123: 'numeric-looking key',
    list: Array.from({ length: 40 }, (_, i) => ({ i, s: String(i) }))
  };
  assert.deepEqual(roundTrip(v), v);
  assert.equal(Object.getPrototypeOf(roundTrip({})), Object.prototype);
  const bare = Object.create(null);
  bare.x = 1;
  assert.deepEqual(roundTrip(bare), { x: 1 });
});

test('"__proto__" and Object.prototype names arrive as own keys, never on the prototype', () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}, "toString": 1, "constructor": "c"}');
  const out = roundTrip(v);
  assert.deepEqual(Object.keys(out), ['__proto__', 'toString', 'constructor']);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__').value, { polluted: true });
  assert.equal(out.toString, 1);
  assert.equal(({}).polluted, undefined);
});

test('Uint8Array and ArrayBuffer arrive as a Uint8Array of their own bytes', () => {
  const big = new Uint8Array(1000).map((_, i) => i);
  const view = big.subarray(10, 20);
  const out = roundTrip({ view, buffer: big.buffer.slice(0, 5), empty: new Uint8Array(0) });
  assert.deepEqual(out.view, big.slice(10, 20));
  assert.deepEqual(out.buffer, new Uint8Array([0, 1, 2, 3, 4]));
  assert.ok(out.empty instanceof Uint8Array && out.empty.length === 0);
  // a copy, not a window on the whole message
  assert.equal(out.view.byteOffset, 0);
  assert.equal(out.view.buffer.byteLength, 10);
});

test('the same object twice (not a cycle) is sent twice', () => {
  const shared = { n: 1 };
  assert.deepEqual(roundTrip({ a: shared, b: [shared, shared] }), { a: { n: 1 }, b: [{ n: 1 }, { n: 1 }] });
});

test(`nesting: ${MAX_DEPTH} levels under the top go, one more does not`, () => {
  assert.deepEqual(roundTrip(nested(MAX_DEPTH + 1, 1)), nested(MAX_DEPTH + 1, 1));
  assertUnsupported(nested(MAX_DEPTH + 2, 1), /nested deeper than 64 levels/);
});

test('integers beyond 2^53 from other encoders arrive as BigInt, smaller ones as numbers', () => {
  assert.equal(decode(bytes('cf ffffffffffffffff')), 2n ** 64n - 1n);
  assert.equal(decode(bytes('cf 0020000000000001')), 2n ** 53n + 1n);
  assert.equal(decode(bytes('d3 8000000000000000')), -(2n ** 63n));
  assert.equal(decode(bytes('cf 0000000000000005')), 5);
  assert.equal(decode(bytes('d3 ffffffffffffffff')), -1);
  assert.equal(decode(bytes('cf 001fffffffffffff')), Number.MAX_SAFE_INTEGER);
  assert.equal(decode(bytes('ca 3fc00000')), 1.5); // float 32
});

test('the encoding is what other msgpack implementations read and write', async (t) => {
  const require = createRequire(fileURLToPath(new URL('../../swarm/sidecar/package.json', import.meta.url)));
  let msgpack;
  try { msgpack = require('@msgpack/msgpack'); } catch (e) {
    t.skip('swarm/sidecar/node_modules missing (run scripts/bootstrap.sh)');
    return;
  }
  // protocol_micro's payload, as Python's msgpack writes it
  assert.equal(hex(enc({ type: 'text', text: 'hello world' })), '82a474797065a474657874a474657874ab68656c6c6f20776f726c64');
  const values = [null, true, 7, -7, 300, -300, 70000, -70000, 2 ** 40, -(2 ** 40), 1.5, 'ü日本🎉',
    'x'.repeat(300), [1, 'a', [null]], { a: { b: [1, 2, { c: 'd' }] } }, new Uint8Array([1, 2, 3]),
    new Uint8Array(70000).fill(3), Array.from({ length: 20 }, (_, i) => i * 1000)];
  for (const v of values) {
    assert.deepEqual(msgpack.decode(enc(v)), v);
    assert.deepEqual(decode(msgpack.encode(v)), v);
  }
});

// --- the value rules ------------------------------------------------------------------

function assertUnsupported (value, message) {
  assert.throws(() => enc(value), (e) => {
    assert.ok(e instanceof TypeError, `${e}`);
    assert.equal(e.code, 'ERR_UNSUPPORTED_VALUE');
    assert.match(e.message, message);
    return true;
  });
}

test('what cannot be sent: a TypeError naming the value and where it is', () => {
  class Point { constructor () { this.x = 1; } }
  const cases = [
    [undefined, /^the message: undefined at the top level cannot be sent/],
    [{ a: undefined }, /undefined at \.a cannot/],
    [[1, () => 1], /a function at \[1\] cannot/],
    [{ s: Symbol('x') }, /a symbol at \.s cannot/],
    [{ n: [10n] }, /a BigInt at \.n\[0\] cannot/],
    [{ when: new Date() }, /a Date at \.when cannot/],
    [new Map(), /a Map at the top level/],
    [new Set([1]), /a Set at/],
    [new Float32Array(2), /a Float32Array at/],
    [new DataView(new ArrayBuffer(2)), /a DataView at/],
    [/re/, /a RegExp at/],
    [new Point(), /a Object at the top level cannot be sent \(only null, booleans/],
    [Object.create({ inherited: 1 }), /cannot be sent/],
    [{ deep: { list: [{ ok: 1 }, { bad: new Point() }] } }, /at \.deep\.list\[1\]\.bad cannot/],
    [Promise.resolve(), /a Promise at/]
  ];
  for (const [value, message] of cases) assertUnsupported(value, message);
});

test('DOM nodes cannot be sent', () => {
  class Node {}
  globalThis.Node = Node;
  try {
    assertUnsupported({ el: new Node() }, /a DOM node at \.el cannot be sent/);
  } finally {
    delete globalThis.Node;
  }
});

test('cycles and holes cannot be sent', () => {
  const o = { a: 1 };
  o.self = o;
  assertUnsupported(o, /at \.self cannot be sent \(it contains itself: cycles cannot be sent\)/);
  const a = [1];
  a.push({ back: a });
  assertUnsupported(a, /at \[1\]\.back cannot .*cycles/);
  assertUnsupported([1, , 3], /undefined at \[1\] cannot be sent \(arrays must not have holes\)/); // eslint-disable-line no-sparse-arrays
  assertUnsupported({ list: new Array(3) }, /at \.list\[0\] .*holes/);
});

test('over the limit: a RangeError as soon as the output passes it, naming what was sent', () => {
  assert.equal(encode('x'.repeat(1021), 1024, 'the message').length, 1024); // exactly at the limit
  for (const v of ['x'.repeat(1022), new Uint8Array(1022), [new Uint8Array(500), new Uint8Array(500), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]]) {
    assert.throws(() => encode(v, 1024, 'the session data'), (e) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.code, 'ERR_TOO_LARGE');
      assert.equal(e.message, 'the session data is over the 1024-byte limit once encoded');
      return true;
    });
  }
  // encoding stops at the limit: what comes after is never read
  let read = false;
  const v = { first: 'x'.repeat(2000), get second () { read = true; return 1; } };
  assert.throws(() => encode(v, 1024, 'the message'), RangeError);
  assert.equal(read, false);
});

test('a getter that sends a message while its own is being encoded: both are whole', () => {
  let inner = null;
  const outer = enc({ a: 'x'.repeat(100), get b () { inner = enc({ c: 'y'.repeat(5000) }); return 2; }, d: [3] });
  assert.deepEqual(decode(outer), { a: 'x'.repeat(100), b: 2, d: [3] });
  assert.deepEqual(decode(inner), { c: 'y'.repeat(5000) });
});

test('a rejected value leaves the codec as it was', () => {
  const o = {};
  o.o = o;
  assert.throws(() => enc(o), TypeError);
  assert.throws(() => encode('x'.repeat(100), 10, 'm'), RangeError);
  assert.deepEqual(roundTrip({ after: [1, 'two'] }), { after: [1, 'two'] });
});

// --- malformed input ----------------------------------------------------------------------

function assertMalformed (input, message) {
  assert.throws(() => decode(input), (e) => {
    assert.ok(e instanceof Error, `${e}`);
    assert.match(e.message, message);
    return true;
  }, hex(input));
}

test('truncated input: every strict prefix of a value is refused', () => {
  const full = enc({ s: 'ü日本', n: [1, 300, 70000, 2 ** 40, -5, 1.5], b: new Uint8Array([1, 2, 3]), t: true, z: null });
  for (let i = 0; i < full.length; i++) assertMalformed(full.subarray(0, i), /truncated/);
});

test('trailing bytes after the value are refused', () => {
  assertMalformed(bytes('01 02'), /trailing bytes after the msgpack value/);
  assertMalformed(bytes('80 c0'), /trailing bytes/);
});

test('types a page never sends are refused: extensions, the reserved byte', () => {
  for (const h of ['c1', 'c7 01 05 00', 'c8 0001 05 00', 'c9 00000001 05 00', 'd4 05 00', 'd5 05 0000',
    'd6 ff 00000000', 'd7 ff 0000000000000000', 'd8 05 00000000000000000000000000000000']) {
    assertMalformed(bytes(h), /unsupported msgpack type 0x/);
  }
});

test('map keys must be strings', () => {
  assertMalformed(bytes('81 01 01'), /map keys must be strings/);
  assertMalformed(bytes('81 90 01'), /map keys must be strings/);
  assertMalformed(bytes('81 c0 01'), /map keys must be strings/);
});

test('strings must be valid UTF-8', () => {
  assertMalformed(bytes('a1 ff'), /UTF-8/);
  assertMalformed(bytes('a2 c3 28'), /UTF-8/);
  assertMalformed(bytes('a3 ed a0 80'), /UTF-8/); // an encoded surrogate
  assertMalformed(bytes('81 a1 ff 01'), /UTF-8/); // in a key too
});

test('too deep: refused without exhausting the stack', () => {
  assertMalformed(new Uint8Array(100).fill(0x91), /nested too deeply/);
  assertMalformed(new Uint8Array(1e6).fill(0x91), /nested too deeply/);
  const maps = new Uint8Array(200);
  for (let i = 0; i < 200; i += 2) { maps[i] = 0x81; maps[i + 1] = 0xa0; } // {'': {'': ...}}
  assertMalformed(maps, /nested too deeply/);
});

test('huge declared lengths are refused before anything is allocated for them', () => {
  for (const h of ['db ffffffff 61', 'c6 ffffffff 00', 'dd ffffffff c0', 'df ffffffff a0 c0',
    'dc ffff', 'de ffff', 'da ffff 61', 'c5 ffff']) {
    assertMalformed(bytes(h), /truncated/);
  }
});

test('random and mutated input: a value or a clear Error, nothing else', () => {
  let x = 12345;
  const rand = (n) => { x = (x * 1103515245 + 12345) >>> 0; return x % n; };
  const seeds = [enc({ a: [1, 'b', { c: new Uint8Array([1, 2]) }], d: 1.5, e: -70000, f: 'ü'.repeat(40) }),
    enc(nested(20, 'x')), enc(Array.from({ length: 20 }, (_, i) => i * 7919))];
  for (let i = 0; i < 20000; i++) {
    let input;
    if (i % 2) {
      input = new Uint8Array(1 + rand(40)).map(() => rand(256));
    } else {
      input = seeds[i % seeds.length].slice();
      for (let m = 0; m <= rand(4); m++) input[rand(input.length)] = rand(256);
    }
    try {
      decode(input);
    } catch (e) {
      assert.ok(e instanceof Error && /msgpack|UTF-8/.test(e.message), `${hex(input)}: ${e}`);
    }
  }
});
