'use strict'
// The PeerSocket link protocol (docs/PROTOCOL.md, version 1) for one presence,
// written from the document alone: a program outside the browser joins swarms with it.
//
//   const link = new PeerLink(stream, presence, topics)   // topics: [topicBuffer, ...]
//   link.on('peer', ({ topic, id, session }) => ...)       // a peer presence joined a shared topic
//   link.on('message', ({ topic, from, payload }) => ...)  // payload: msgpack bytes
//   link.send(topic, peerId, bytes)
//
// It speaks for a single local presence, enough for a bot or a bridge; the browser
// multiplexes many presences per link in the same way.

const { EventEmitter } = require('events')
const sodium = require('sodium-universal')
const { encode, decode } = require('@msgpack/msgpack')

const VERSION = 1
const F = { HELLO: 0, TOPIC: 1, UNTOPIC: 2, PRESENCE: 3, UNPRESENCE: 4, JOIN: 5, LEAVE: 6, SESSION: 7, MESSAGE: 8, CLOSE: 9, GOODBYE: 10, CREDIT: 11 }
const WINDOW = 1024 * 1024 // unread bytes a writer may have per socket (docs/PROTOCOL.md)
const MAX_FRAME = 4 * 1024 * 1024 + 4 * 1024
const MAX_PEER_TOPICS = 1024
const MAX_PEER_PRESENCES = 1024

function blake2b (data, key) {
  const out = Buffer.alloc(32)
  if (key) sodium.crypto_generichash(out, data, key)
  else sodium.crypto_generichash(out, data)
  return out
}

const openTopic = (id) => blake2b(Buffer.from(`peersocket-open-${id}`))
const originTopic = (origin) => blake2b(Buffer.from(`peersocket-origin-${origin}`))

class Presence {
  constructor () {
    this.id = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
    this._secret = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)
    sodium.crypto_sign_keypair(this.id, this._secret)
  }

  sign (message) {
    const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(sig, message, this._secret)
    return sig
  }
}

class ProtocolError extends Error {
  constructor (message) { super(message); this.code = 'ERR_PROTOCOL' }
}

class PeerLink extends EventEmitter {
  constructor (stream, presence, topics, session = null) {
    super()
    this.stream = stream
    this.presence = presence
    this.session = session // this presence's session data (msgpack bytes) or null
    this.nonce = Buffer.alloc(32)
    sodium.randombytes_buf(this.nonce)
    this.key = null
    this.peerNonce = null
    this.closed = false
    this._buf = Buffer.alloc(0)
    this._topics = topics.map((t, i) => ({ topic: Buffer.from(t), tnum: i, tag: null }))
    this._proven = false
    this._peerTopics = new Map() // tnum -> tag hex
    this._peerPresences = new Map() // pnum -> id
    this._shared = new Map() // our topic hex -> peer tnum
    this._sharedByTnum = new Map() // peer tnum -> our topic entry
    this._joins = new Map() // peer tnum -> Map(pnum -> session)
    this._unread = new Map() // "tnum|pnum" -> bytes we sent that the peer has not consumed
    this._waiting = new Map() // "tnum|pnum" -> frames held back until the peer makes room
    stream.on('data', (data) => this._onData(data))
    stream.on('close', () => this._closed('ERR_LINK_LOST', 'the connection closed', true))
    stream.on('error', () => {})
    this._send([F.HELLO, VERSION, this.nonce])
  }

  peers (topic) {
    const tnum = this._shared.get(Buffer.from(topic).toString('hex'))
    if (tnum === undefined) return []
    return Array.from(this._joins.get(tnum) || new Map(), ([pnum, session]) => ({ id: this._peerPresences.get(pnum), session }))
  }

  send (topic, peerId, payload) {
    const route = this._route(topic, peerId)
    if (!route) return false
    const key = `${route[0]}|${route[2]}`
    const waiting = this._waiting.get(key)
    if (waiting) waiting.push([F.MESSAGE, ...route, payload])
    else this._sendMessage(key, [F.MESSAGE, ...route, payload])
    return true
  }

  // flow control: send while the peer has room, hold the rest until it sends CREDIT
  _sendMessage (key, frame) {
    const unread = this._unread.get(key) || 0
    const size = frame[4].length
    if (unread > 0 && unread + size > WINDOW) {
      if (!this._waiting.has(key)) this._waiting.set(key, [])
      this._waiting.get(key).push(frame)
      return
    }
    this._unread.set(key, unread + size)
    this._send(frame)
  }

  _onCredit (f) {
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2]); const to = num(f[3]); const n = num(f[4])
    const t = this._sharedByTnum.get(tnum)
    if (!t || to !== 0 || n === 0) return
    const key = `${t.tnum}|${pnum}`
    this._unread.set(key, Math.max(0, (this._unread.get(key) || 0) - n))
    const waiting = this._waiting.get(key) || []
    this._waiting.delete(key)
    for (const frame of waiting) this._sendMessage(key, frame)
  }

  closeSocket (topic, peerId, reason = '') {
    const route = this._route(topic, peerId)
    if (!route) return false
    this._send([F.CLOSE, ...route, 1000, reason])
    return true
  }

  setSession (session) {
    this.session = session
    for (const t of this._topics) {
      if (this._shared.has(t.topic.toString('hex'))) this._send([F.SESSION, t.tnum, 0, session])
    }
  }

  close (code = 'ERR_DEVICE_CLOSING', reason = 'closing') {
    if (this.closed) return
    this._send([F.GOODBYE, code, reason])
    this._closed(code, reason, false)
    this.stream.end()
  }

  // --- internals ------------------------------------------------------------

  _send (frame) {
    if (this.closed) return
    const body = encode(frame)
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length)
    this.stream.write(Buffer.concat([head, body]))
  }

  _route (topic, peerId) {
    const t = this._topics.find((x) => x.topic.equals(Buffer.from(topic)))
    if (!t || this.closed) return null
    const tnum = this._shared.get(t.topic.toString('hex'))
    if (tnum === undefined) return null
    for (const [pnum, session] of this._joins.get(tnum) || []) {
      if (session !== undefined && this._peerPresences.get(pnum).equals(Buffer.from(peerId))) return [t.tnum, 0, pnum]
    }
    return null
  }

  _onData (data) {
    if (this.closed) return
    this._buf = this._buf.length ? Buffer.concat([this._buf, data]) : data
    try {
      while (this._buf.length >= 4) {
        const size = this._buf.readUInt32BE(0)
        if (size === 0 || size > MAX_FRAME) throw new ProtocolError(`frame of ${size} bytes is not allowed`)
        if (this._buf.length < 4 + size) break
        const body = this._buf.subarray(4, 4 + size)
        this._buf = this._buf.subarray(4 + size)
        let frame
        try { frame = decode(body) } catch (err) { throw new ProtocolError(`frame is not valid msgpack: ${err.message}`) }
        this._handle(frame)
        if (this.closed) return
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.close('ERR_PROTOCOL', err.message)
    }
  }

  _handle (f) {
    if (!Array.isArray(f) || typeof f[0] !== 'number') throw new ProtocolError('a frame must be an array starting with its type')
    if (this.key === null && f[0] !== F.HELLO && f[0] !== F.GOODBYE) throw new ProtocolError('expected HELLO')
    switch (f[0]) {
      case F.HELLO: return this._onHello(f)
      case F.TOPIC: return this._onTopic(f)
      case F.UNTOPIC: return this._onUntopic(f)
      case F.PRESENCE: return this._onPresence(f)
      case F.UNPRESENCE: return this._onUnpresence(f)
      case F.JOIN: return this._onJoin(f, true)
      case F.SESSION: return this._onJoin(f, false)
      case F.LEAVE: return this._onLeave(f)
      case F.MESSAGE: return this._onSocketFrame(f, 'message')
      case F.CLOSE: return this._onSocketFrame(f, 'socket-close')
      case F.CREDIT: return this._onCredit(f)
      case F.GOODBYE: return this._closed(String(f[1]), String(f[2]), true)
      default: throw new ProtocolError(`unknown frame type ${f[0]}`)
    }
  }

  _onHello (f) {
    if (this.key !== null) throw new ProtocolError('a second HELLO')
    const nonce = bytes(f[2], 32, 'HELLO nonce')
    if (f[1] !== VERSION) throw new ProtocolError(`unsupported protocol version ${f[1]}`)
    if (nonce.equals(this.nonce)) throw new ProtocolError('the peer echoed our nonce')
    this.peerNonce = nonce
    const [lo, hi] = Buffer.compare(this.nonce, nonce) < 0 ? [this.nonce, nonce] : [nonce, this.nonce]
    this.key = blake2b(Buffer.concat([Buffer.from('peersocket-link-v1'), lo, hi]))
    for (const t of this._topics) {
      t.tag = blake2b(t.topic, this.key)
      this._send([F.TOPIC, t.tnum, t.tag])
    }
    this.emit('open')
  }

  _onTopic (f) {
    const tnum = num(f[1]); const tag = bytes(f[2], 32, 'TOPIC tag')
    if (this._peerTopics.has(tnum)) throw new ProtocolError(`TOPIC ${tnum} announced twice`)
    if (this._peerTopics.size >= MAX_PEER_TOPICS) throw new ProtocolError('too many topics')
    this._peerTopics.set(tnum, tag.toString('hex'))
    const t = this._topics.find((x) => x.tag.equals(tag))
    if (!t) return
    this._shared.set(t.topic.toString('hex'), tnum)
    this._sharedByTnum.set(tnum, t)
    if (!this._proven) {
      const proof = Buffer.concat([Buffer.from('peersocket-presence-v1'), this.key, this.nonce, this.presence.id])
      this._send([F.PRESENCE, 0, this.presence.id, this.presence.sign(proof)])
      this._proven = true
    }
    this._send([F.JOIN, t.tnum, 0, this.session])
  }

  _onUntopic (f) {
    const tnum = this._peerTnum(f[1])
    this._peerTopics.delete(tnum)
    const t = this._sharedByTnum.get(tnum)
    if (!t) return
    this._sharedByTnum.delete(tnum)
    this._shared.delete(t.topic.toString('hex'))
    for (const pnum of (this._joins.get(tnum) || new Map()).keys()) this.emit('leave', { topic: t.topic, id: this._peerPresences.get(pnum) })
    this._joins.delete(tnum)
  }

  _onPresence (f) {
    const pnum = num(f[1]); const id = bytes(f[2], 32, 'PRESENCE id'); const sig = bytes(f[3], 64, 'PRESENCE signature')
    if (this._peerPresences.has(pnum)) throw new ProtocolError(`PRESENCE ${pnum} announced twice`)
    if (this._peerPresences.size >= MAX_PEER_PRESENCES) throw new ProtocolError('too many presences')
    if (id.equals(this.presence.id)) throw new ProtocolError('the peer claims our own presence')
    const proof = Buffer.concat([Buffer.from('peersocket-presence-v1'), this.key, this.peerNonce, id])
    if (!sodium.crypto_sign_verify_detached(sig, proof, id)) throw new ProtocolError('a presence proof does not verify for this link')
    this._peerPresences.set(pnum, id)
  }

  _onUnpresence (f) {
    const pnum = this._peerPnum(f[1])
    for (const [tnum, joins] of this._joins) {
      if (joins.delete(pnum)) {
        const t = this._sharedByTnum.get(tnum)
        if (t) this.emit('leave', { topic: t.topic, id: this._peerPresences.get(pnum) })
      }
    }
    this._peerPresences.delete(pnum)
  }

  _onJoin (f, isJoin) {
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2])
    const session = f[3] === null ? null : bytes(f[3], null, 'session data')
    const t = this._sharedByTnum.get(tnum)
    if (!t) return // we withdrew it meanwhile
    if (!this._joins.has(tnum)) this._joins.set(tnum, new Map())
    const joins = this._joins.get(tnum)
    const known = joins.has(pnum)
    if (!isJoin && !known) throw new ProtocolError('SESSION for a presence that has not joined')
    joins.set(pnum, session)
    const id = this._peerPresences.get(pnum)
    if (isJoin && !known) this.emit('peer', { topic: t.topic, id, session })
    else if (!isJoin) this.emit('session', { topic: t.topic, id, session })
  }

  _onLeave (f) {
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2])
    const t = this._sharedByTnum.get(tnum)
    const joins = this._joins.get(tnum)
    if (!t || !joins || !joins.delete(pnum)) return
    this.emit('leave', { topic: t.topic, id: this._peerPresences.get(pnum) })
  }

  _onSocketFrame (f, event) {
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2]); const to = num(f[3])
    const t = this._sharedByTnum.get(tnum)
    if (!t || to !== 0) return
    const from = this._peerPresences.get(pnum)
    if (event === 'message') {
      const payload = bytes(f[4], null, 'payload')
      this.emit('message', { topic: t.topic, from, payload })
      // consumed at once: give the writer its room back
      if (payload.length) this._send([F.CREDIT, t.tnum, 0, pnum, payload.length])
    }
    else this.emit('socket-close', { topic: t.topic, from, code: f[4], reason: f[5] })
  }

  _peerTnum (v) {
    const tnum = num(v)
    if (!this._peerTopics.has(tnum)) throw new ProtocolError(`topic ${tnum} was not announced`)
    return tnum
  }

  _peerPnum (v) {
    const pnum = num(v)
    if (!this._peerPresences.has(pnum)) throw new ProtocolError(`presence ${pnum} was not proven`)
    return pnum
  }

  _closed (code, reason, byPeer) {
    if (this.closed) return
    this.closed = true
    this.emit('close', { code, reason, byPeer })
  }
}

function num (v) {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ProtocolError('numbers must be integers from 0 to 2^32-1')
  return v
}

function bytes (v, length, what) {
  if (!(v instanceof Uint8Array) || (length !== null && v.length !== length)) {
    throw new ProtocolError(`${what} must be ${length === null ? '' : length + ' '}bytes`)
  }
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
}

module.exports = { PeerLink, Presence, openTopic, originTopic, encodeValue: (v) => Buffer.from(encode(v)), decodeValue: decode }
