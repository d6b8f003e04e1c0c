'use strict'
// stdio framing shared by both directions: 4-byte big-endian length, then a
// msgpack array [type, ...args]. See docs/SIDECAR.md.

const { encode, decode } = require('@msgpack/msgpack')

const HEADER = 4
const MAX_FRAME = 32 * 1024 * 1024 // bound for frames read from Python

class FrameError extends Error {
  constructor(message) {
    super(message)
    this.code = 'ERR_FRAME'
  }
}

function encodeFrame(frame) {
  const body = encode(frame)
  const out = Buffer.allocUnsafe(HEADER + body.byteLength)
  out.writeUInt32BE(body.byteLength, 0)
  out.set(body, HEADER)
  return out
}

// Incremental reader: push(chunk) returns the complete frames decoded so far.
class FrameReader {
  constructor(maxFrame = MAX_FRAME) {
    this.maxFrame = maxFrame
    this._chunks = []
    this._size = 0
  }

  push(chunk) {
    this._chunks.push(chunk)
    this._size += chunk.byteLength
    const frames = []
    while (this._size >= HEADER) {
      const head = this._peek(HEADER)
      const len = head.readUInt32BE(0)
      if (len > this.maxFrame) throw new FrameError(`frame of ${len} bytes exceeds ${this.maxFrame}`)
      if (this._size < HEADER + len) break
      const buf = this._take(HEADER + len)
      const frame = decode(buf.subarray(HEADER))
      if (!Array.isArray(frame) || typeof frame[0] !== 'string') {
        throw new FrameError('a frame must be an array starting with its type')
      }
      frames.push(frame)
    }
    return frames
  }

  _peek(n) {
    if (this._chunks[0].byteLength < n) this._chunks = [Buffer.concat(this._chunks)]
    return this._chunks[0]
  }

  _take(n) {
    const all = this._chunks.length === 1 ? this._chunks[0] : Buffer.concat(this._chunks)
    const out = all.subarray(0, n)
    const rest = all.subarray(n)
    this._chunks = rest.byteLength ? [rest] : []
    this._size -= n
    return out
  }
}

// msgpack bin decodes to a Uint8Array view: give Hyperswarm a Buffer.
function toBuffer(bin) {
  if (!(bin instanceof Uint8Array)) throw new FrameError('expected binary data')
  return Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength)
}

module.exports = { encodeFrame, FrameReader, FrameError, toBuffer, MAX_FRAME }
