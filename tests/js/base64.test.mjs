// Message bytes cross QWebChannel as base64 (js/peersocket/channel.js): both ways agree
// with Node's own base64 for every length class, whichever path the engine takes
// (Uint8Array's own base64 where the engine has it, atob/btoa otherwise). Run by
// tests/js/test_node.py (`node --test`).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fromBase64, toBase64 } from '../../js/peersocket/channel.js';

const SIZES = [0, 1, 2, 3, 4, 5, 255, 0x8000 - 1, 0x8000, 0x8000 + 1, 65536, 4 * 1024 * 1024];

test('bytes to base64 and back, as Node encodes them', () => {
  for (const size of SIZES) {
    const bytes = new Uint8Array(randomBytes(size));
    const text = toBase64(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64'), `${size} bytes`);
    const back = fromBase64(text);
    assert.ok(back instanceof Uint8Array);
    assert.deepEqual(back, bytes, `${size} bytes back`);
  }
});

test('a view encodes only its own bytes', () => {
  const whole = new Uint8Array(randomBytes(100));
  const view = whole.subarray(10, 20);
  assert.equal(toBase64(view), Buffer.from(whole.slice(10, 20)).toString('base64'));
});

test('text that is not base64 is refused with an exception', () => {
  assert.throws(() => fromBase64('not base64!'));
});
