'use strict'
// The PeerSocket link protocol (docs/PROTOCOL.md, versions 1 and 2) for one presence,
// written from the document alone: a program outside the browser joins swarms with it.
//
//   const link = new PeerLink(stream, presence, topics)   // topics: [topicBuffer, ...]
//   link.on('peer', ({ topic, id, session }) => ...)       // a peer presence joined a shared topic
//   link.on('message', ({ topic, from, payload }) => ...)  // payload: msgpack bytes
//   link.send(topic, peerId, bytes)
//
// It speaks for a single local presence, enough for a bot or a bridge; the browser
// multiplexes many presences per link in the same way. test/vectors.test.js checks it
// against the test vectors in docs/PROTOCOL.md.

const { EventEmitter } = require('events')
const sodium = require('sodium-universal')
const { encode, decode } = require('@msgpack/msgpack')

const VERSIONS = [1, 2] // the protocol versions this peer speaks (HELLO carries them)
const F = { HELLO: 0, TOPIC: 1, UNTOPIC: 2, PRESENCE: 3, UNPRESENCE: 4, JOIN: 5, LEAVE: 6, SESSION: 7, MESSAGE: 8, CLOSE: 9, GOODBYE: 10, CREDIT: 11, MESSAGES: 12 }
const WINDOW = 1024 * 1024 // unread bytes a writer may have per socket (docs/PROTOCOL.md)
const MAX_FRAME = 4 * 1024 * 1024 + 4 * 1024
const MAX_PEER_TOPICS = 1024
const MAX_PEER_PRESENCES = 1024
const MAX_CODE = 64 // bytes of UTF-8
const MAX_STRING = 256 // bytes of UTF-8: reasons, and any other string in a frame
const MAX_ELEMENTS = 8 // every array or map in a frame, the frame's own array included
const MAX_SWARM_ID = 1024 // bytes of UTF-8
const END_GRACE = 10000 // after ending the stream, destroy it if the peer has not ended its half
const DECODE = { maxStrLength: MAX_STRING, maxBinLength: MAX_FRAME, maxArrayLength: MAX_ELEMENTS, maxMapLength: MAX_ELEMENTS, maxExtLength: 0 }
// Version 2: MESSAGES carries 2 to 256 payloads of one socket; a sender gathers a run of
// messages written one after the other while they fit 32 KiB of payload.
const MAX_RUN = 256
const RUN_BYTES = 32 * 1024
const DECODE_V2 = { ...DECODE, maxArrayLength: MAX_RUN }

function blake2b (data, key) {
  const out = Buffer.alloc(32)
  if (key) sodium.crypto_generichash(out, data, key)
  else sodium.crypto_generichash(out, data)
  return out
}

// A swarm id is hashed exactly as given: no Unicode normalisation (docs/PROTOCOL.md,
// Topics). Buffer.from() would turn a lone surrogate into U+FFFD, a topic the browser
// (which refuses such an id) never joins: refuse it here too.
function openTopic (id) {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('a swarm id is a non-empty string')
  if (!id.isWellFormed()) throw new TypeError('a swarm id must be valid Unicode (no lone surrogates)')
  if (Buffer.byteLength(id) > MAX_SWARM_ID) throw new RangeError(`a swarm id is at most ${MAX_SWARM_ID} bytes of UTF-8`)
  return blake2b(Buffer.from(`peersocket-open-${id}`))
}

const originTopic = (origin) => blake2b(Buffer.from(`peersocket-origin-${origin}`))

// Of two links to one device, whether the newer one survives (docs/PROTOCOL.md,
// "Duplicate links"): dialled by different devices, the one dialled by the greater key;
// dialled by the same device, the newer.
function keepsNewerLink (localKey, remoteKey, oldInitiator, newInitiator) {
  if (oldInitiator === newInitiator) return true
  const dialler = (initiator) => (initiator ? localKey : remoteKey)
  return Buffer.compare(dialler(newInitiator), dialler(oldInitiator)) > 0
}

class Presence {
  constructor (seed = null) {
    this.id = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
    this._secret = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)
    if (seed) sodium.crypto_sign_seed_keypair(this.id, this._secret, Buffer.from(seed))
    else sodium.crypto_sign_keypair(this.id, this._secret)
  }

  sign (message) {
    const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(sig, message, this._secret)
    return sig
  }
}

class ProtocolError extends Error {
  constructor (message, code = 'ERR_PROTOCOL') { super(message); this.code = code }
}

class PeerLink extends EventEmitter {
  // opts.nonce: a fixed HELLO nonce (tests only: it must be random on a real link);
  // opts.versions: the versions to offer (tests: [1] speaks as a version-1 peer does)
  constructor (stream, presence, topics, session = null, opts = {}) {
    super()
    this.stream = stream
    this.presence = presence
    this.session = session // this presence's session data (msgpack bytes) or null
    this.nonce = Buffer.alloc(32)
    if (opts.nonce) Buffer.from(opts.nonce).copy(this.nonce)
    else sodium.randombytes_buf(this.nonce)
    this.key = null
    this.peerNonce = null
    this.versions = opts.versions || VERSIONS
    this.version = null
    this.closed = false
    this._run = null // version 2: { route, payloads, bytes } not sent yet (a MESSAGES frame)
    this._buf = Buffer.alloc(0)
    // numbers from 0, in the order the TOPIC / PRESENCE frames go out, never reused
    this._nextTnum = 0
    this._nextPnum = 0
    this._pnum = null // our presence's number on this link, given with its PRESENCE
    this._topics = [] // { topic, tnum, tag, joined }
    this._peerLastTnum = -1
    this._peerLastPnum = -1
    this._peerTopics = new Map() // tnum -> tag hex
    this._peerTags = new Set() // tag hex
    this._peerPresences = new Map() // pnum -> id
    this._shared = new Map() // our topic hex -> peer tnum
    this._sharedByTnum = new Map() // peer tnum -> our topic entry
    this._joins = new Map() // peer tnum -> Map(pnum -> session)
    this._unread = new Map() // "tnum|pnum" -> bytes we sent that the peer has not consumed
    this._waiting = new Map() // "tnum|pnum" -> frames held back until the peer makes room
    for (const topic of topics) this.addTopic(topic)
    stream.on('data', (data) => this._onData(data))
    stream.on('end', () => this._end()) // the peer ended its half: end ours (the link is lost)
    stream.on('close', () => this._closed('ERR_LINK_LOST', 'the connection closed', true))
    stream.on('error', () => {})
    // a peer that speaks version 1 only sends exactly [0, 1, nonce]
    this._send([F.HELLO, this.versions.length === 1 ? this.versions[0] : this.versions, this.nonce])
  }

  peers (topic) {
    const tnum = this._shared.get(Buffer.from(topic).toString('hex'))
    if (tnum === undefined) return []
    return Array.from(this._joins.get(tnum) || new Map(), ([pnum, session]) => ({ id: this._peerPresences.get(pnum), session }))
  }

  addTopic (topic) {
    if (this._topics.some((t) => t.topic.equals(Buffer.from(topic)))) return
    const t = { topic: Buffer.from(topic), tnum: this._nextTnum++, tag: null, joined: true }
    this._topics.push(t)
    if (this.key) this._announce(t)
  }

  // The presence leaves one topic (LEAVE); once it is in none, it is withdrawn
  // (UNPRESENCE) and proves itself again, under a new number, if it joins later.
  leave (topic) {
    const t = this._topic(topic)
    if (!t || !t.joined || this.closed) return
    t.joined = false
    if (this._pnum !== null && this._shared.has(t.topic.toString('hex'))) this._send([F.LEAVE, t.tnum, this._pnum])
    if (this._pnum !== null && !this._topics.some((x) => x.joined)) {
      this._send([F.UNPRESENCE, this._pnum])
      this._pnum = null
    }
  }

  removeTopic (topic) {
    const t = this._topic(topic)
    if (!t || this.closed) return
    this.leave(topic)
    this._topics.splice(this._topics.indexOf(t), 1)
    if (this.key) this._send([F.UNTOPIC, t.tnum])
    const tnum = this._shared.get(t.topic.toString('hex'))
    if (tnum !== undefined) this._unshare(tnum)
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
    this._message(frame)
  }

  // One MESSAGE frame; in version 2, messages of one socket sent one after the other
  // in this task join a run that goes as one MESSAGES frame (before any other frame,
  // or at the end of the task).
  _message (frame) {
    if (this.version < 2) return this._send(frame)
    const payload = frame[4]
    const run = this._run
    if (run && run.route.every((n, i) => n === frame[1 + i]) && run.payloads.length < MAX_RUN && run.bytes + payload.length <= RUN_BYTES) {
      run.payloads.push(payload)
      run.bytes += payload.length
      return
    }
    this._endRun()
    if (payload.length >= RUN_BYTES) return this._send(frame)
    this._run = { route: frame.slice(1, 4), payloads: [payload], bytes: payload.length }
    queueMicrotask(() => this._endRun())
  }

  _endRun () {
    const run = this._run
    if (!run) return
    this._run = null
    if (run.payloads.length === 1) this._write([F.MESSAGE, ...run.route, run.payloads[0]])
    else this._write([F.MESSAGES, ...run.route, run.payloads])
  }

  _onCredit (f) {
    arity(f, 5, 'CREDIT')
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2]); const to = num(f[3]); const n = num(f[4])
    if (n === 0) throw new ProtocolError('CREDIT of 0 bytes')
    const t = this._sharedByTnum.get(tnum)
    if (!t || to !== this._pnum) return
    const key = `${t.tnum}|${pnum}`
    this._unread.set(key, Math.max(0, (this._unread.get(key) || 0) - n))
    const waiting = this._waiting.get(key) || []
    this._waiting.delete(key)
    for (const frame of waiting) this._sendMessage(key, frame)
  }

  closeSocket (topic, peerId, reason = '') {
    const route = this._route(topic, peerId)
    if (!route) return false
    this._send([F.CLOSE, ...route, 1000, clip(reason, MAX_STRING)])
    return true
  }

  setSession (session) {
    this.session = session
    if (this._pnum === null) return
    for (const t of this._topics) {
      if (t.joined && this._shared.has(t.topic.toString('hex'))) this._send([F.SESSION, t.tnum, this._pnum, session])
    }
  }

  // GOODBYE is our last frame; then we end our half of the stream (never destroy it:
  // the GOODBYE would be lost), and destroy it only if the peer does not end its own.
  close (code = 'ERR_DEVICE_CLOSING', reason = 'closing') {
    if (this.closed) return
    this._send([F.GOODBYE, clip(code, MAX_CODE), clip(reason, MAX_STRING)])
    this._closed(code, reason, false)
    this._end()
  }

  // --- internals ------------------------------------------------------------

  _end () {
    if (this._ending) return
    this._ending = true
    this.stream.end()
    const timer = setTimeout(() => this.stream.destroy(), END_GRACE)
    if (timer.unref) timer.unref()
    this.stream.once('close', () => clearTimeout(timer))
  }

  _send (frame) {
    this._endRun() // every frame after the messages written before it
    this._write(frame)
  }

  _write (frame) {
    if (this.closed) return
    const body = encode(frame)
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length)
    this.stream.write(Buffer.concat([head, body]))
  }

  _topic (topic) {
    return this._topics.find((x) => x.topic.equals(Buffer.from(topic)))
  }

  _route (topic, peerId) {
    const t = this._topic(topic)
    if (!t || !t.joined || this.closed || this._pnum === null) return null
    const tnum = this._shared.get(t.topic.toString('hex'))
    if (tnum === undefined) return null
    for (const [pnum] of this._joins.get(tnum) || []) {
      if (this._peerPresences.get(pnum).equals(Buffer.from(peerId))) return [t.tnum, this._pnum, pnum]
    }
    return null
  }

  _announce (t) {
    t.tag = blake2b(t.topic, this.key)
    this._send([F.TOPIC, t.tnum, t.tag])
    const tnum = [...this._peerTopics].find(([, tag]) => tag === t.tag.toString('hex'))
    if (tnum) this._share(t, tnum[0])
  }

  _share (t, tnum) {
    this._shared.set(t.topic.toString('hex'), tnum)
    this._sharedByTnum.set(tnum, t)
    if (!t.joined) return
    if (this._pnum === null) {
      // proven on the first topic it shares with the peer, never before
      this._pnum = this._nextPnum++
      const proof = Buffer.concat([Buffer.from('peersocket-presence-v1'), this.key, this.nonce, this.presence.id])
      this._send([F.PRESENCE, this._pnum, this.presence.id, this.presence.sign(proof)])
    }
    this._send([F.JOIN, t.tnum, this._pnum, this.session])
  }

  _unshare (tnum) {
    const t = this._sharedByTnum.get(tnum)
    if (!t) return
    this._sharedByTnum.delete(tnum)
    this._shared.delete(t.topic.toString('hex'))
    for (const pnum of (this._joins.get(tnum) || new Map()).keys()) this.emit('leave', { topic: t.topic, id: this._peerPresences.get(pnum) })
    this._joins.delete(tnum)
  }

  _onData (data) {
    if (this.closed) return // nothing after a GOODBYE is read
    this._buf = this._buf.length ? Buffer.concat([this._buf, data]) : data
    try {
      while (this._buf.length >= 4) {
        const size = this._buf.readUInt32BE(0)
        if (size === 0 || size > MAX_FRAME) throw new ProtocolError(`frame of ${size} bytes is not allowed`)
        if (this._buf.length < 4 + size) break
        const body = this._buf.subarray(4, 4 + size)
        this._buf = this._buf.subarray(4 + size)
        let frame
        try { frame = decode(body, this.version >= 2 ? DECODE_V2 : DECODE) } catch (err) { throw new ProtocolError(`frame is not valid msgpack: ${err.message}`) }
        this._handle(frame)
        if (this.closed) return
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.close(err.code, err.message)
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
      case F.GOODBYE: return this._onGoodbye(f)
      case F.MESSAGES:
        if (this.version < 2) throw new ProtocolError(`unknown frame type ${f[0]} in version 1`)
        return this._onMessages(f)
      default: throw new ProtocolError(`unknown frame type ${f[0]}`)
    }
  }

  _onHello (f) {
    if (this.key !== null) throw new ProtocolError('a second HELLO')
    if (f.length < 3) throw new ProtocolError(`HELLO frame must have at least 3 fields, not ${f.length}`)
    // fields after the nonce are for later versions: version 1 ignores them
    const versions = parseVersions(f[1])
    const nonce = bytes(f[2], 32, 'HELLO nonce')
    const common = versions.filter((v) => this.versions.includes(v))
    if (common.length === 0) {
      throw new ProtocolError(`no protocol version in common: this side speaks ${this.versions.join(', ')}, the peer ${versions.join(', ')}`, 'ERR_VERSION')
    }
    if (nonce.equals(this.nonce)) throw new ProtocolError('the peer echoed our nonce')
    this.version = Math.max(...common)
    this.peerNonce = nonce
    const [lo, hi] = Buffer.compare(this.nonce, nonce) < 0 ? [this.nonce, nonce] : [nonce, this.nonce]
    this.key = blake2b(Buffer.concat([Buffer.from('peersocket-link-v1'), lo, hi]))
    for (const t of this._topics) this._announce(t)
    this.emit('open')
  }

  _onTopic (f) {
    arity(f, 3, 'TOPIC')
    const tnum = num(f[1]); const tag = bytes(f[2], 32, 'TOPIC tag')
    if (tnum <= this._peerLastTnum) throw new ProtocolError(`TOPIC ${tnum} reuses a number: topic numbers only increase on a link (the last was ${this._peerLastTnum})`)
    if (this._peerTags.has(tag.toString('hex'))) throw new ProtocolError('the same topic announced under two numbers')
    if (this._peerTopics.size >= MAX_PEER_TOPICS) throw new ProtocolError('too many topics')
    this._peerLastTnum = tnum
    this._peerTopics.set(tnum, tag.toString('hex'))
    this._peerTags.add(tag.toString('hex'))
    const t = this._topics.find((x) => x.tag && x.tag.equals(tag))
    if (t) this._share(t, tnum)
  }

  _onUntopic (f) {
    arity(f, 2, 'UNTOPIC')
    const tnum = this._peerTnum(f[1])
    this._peerTags.delete(this._peerTopics.get(tnum))
    this._peerTopics.delete(tnum)
    this._unshare(tnum)
  }

  _onPresence (f) {
    arity(f, 4, 'PRESENCE')
    const pnum = num(f[1]); const id = bytes(f[2], 32, 'PRESENCE id'); const sig = bytes(f[3], 64, 'PRESENCE signature')
    if (pnum <= this._peerLastPnum) throw new ProtocolError(`PRESENCE ${pnum} reuses a number: presence numbers only increase on a link (the last was ${this._peerLastPnum})`)
    if ([...this._peerPresences.values()].some((x) => x.equals(id))) throw new ProtocolError('the same presence announced under two numbers')
    if (this._peerPresences.size >= MAX_PEER_PRESENCES) throw new ProtocolError('too many presences')
    if (id.equals(this.presence.id)) throw new ProtocolError('the peer claims our own presence')
    const proof = Buffer.concat([Buffer.from('peersocket-presence-v1'), this.key, this.peerNonce, id])
    if (!sodium.crypto_sign_verify_detached(sig, proof, id)) throw new ProtocolError('a presence proof does not verify for this link')
    this._peerLastPnum = pnum
    this._peerPresences.set(pnum, id)
  }

  _onUnpresence (f) {
    arity(f, 2, 'UNPRESENCE')
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
    arity(f, 4, isJoin ? 'JOIN' : 'SESSION')
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
    arity(f, 3, 'LEAVE')
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2])
    const t = this._sharedByTnum.get(tnum)
    const joins = this._joins.get(tnum)
    if (!t || !joins || !joins.delete(pnum)) return
    this.emit('leave', { topic: t.topic, id: this._peerPresences.get(pnum) })
  }

  _onSocketFrame (f, event) {
    arity(f, event === 'message' ? 5 : 6, event === 'message' ? 'MESSAGE' : 'CLOSE')
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2]); const to = num(f[3])
    const t = this._sharedByTnum.get(tnum)
    if (!t || to !== this._pnum) return
    const from = this._peerPresences.get(pnum)
    if (event === 'message') {
      const payload = bytes(f[4], null, 'payload')
      this.emit('message', { topic: t.topic, from, payload })
      // consumed at once: give the writer its room back
      if (payload.length) this._send([F.CREDIT, t.tnum, this._pnum, pnum, payload.length])
    } else {
      if (!Number.isInteger(f[4]) || f[4] < 0 || f[4] > 4999) throw new ProtocolError('CLOSE code must be an integer from 0 to 4999')
      this.emit('socket-close', { topic: t.topic, from, code: f[4], reason: text(f[5], MAX_STRING, 'CLOSE reason') })
    }
  }

  // version 2: several messages of one socket, in order; consumed at once, one CREDIT
  _onMessages (f) {
    arity(f, 5, 'MESSAGES')
    const tnum = this._peerTnum(f[1]); const pnum = this._peerPnum(f[2]); const to = num(f[3])
    if (!Array.isArray(f[4]) || f[4].length < 2 || f[4].length > MAX_RUN) {
      throw new ProtocolError(`MESSAGES payloads must be an array of 2 to ${MAX_RUN} messages`)
    }
    const payloads = f[4].map((p) => bytes(p, null, 'MESSAGES payload'))
    const t = this._sharedByTnum.get(tnum)
    if (!t || to !== this._pnum) return
    const from = this._peerPresences.get(pnum)
    let total = 0
    for (const payload of payloads) {
      total += payload.length
      this.emit('message', { topic: t.topic, from, payload })
    }
    if (total) this._send([F.CREDIT, t.tnum, this._pnum, pnum, total])
  }

  // the peer's last frame: no answer; end our half of the stream at once
  _onGoodbye (f) {
    arity(f, 3, 'GOODBYE')
    const code = text(f[1], MAX_CODE, 'GOODBYE code'); const reason = text(f[2], MAX_STRING, 'GOODBYE reason')
    this._closed(code, reason, true)
    this._end()
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

function parseVersions (v) {
  const list = Number.isInteger(v) ? [v] : v
  const ok = Array.isArray(list) && list.length > 0 && list.length <= MAX_ELEMENTS &&
    list.every((x, i) => Number.isInteger(x) && x > 0 && x <= 0xffffffff && (i === 0 || x > list[i - 1]))
  if (!ok) throw new ProtocolError(`HELLO versions must be a version number from 1, or an array of up to ${MAX_ELEMENTS} increasing ones`)
  return list
}

function arity (f, n, name) {
  if (f.length !== n) throw new ProtocolError(`${name} frame must have ${n} fields, not ${f.length}`)
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

function text (v, max, what) {
  if (typeof v !== 'string' || Buffer.byteLength(v) > max) throw new ProtocolError(`${what} must be a string of at most ${max} bytes of UTF-8`)
  return v
}

// `s` as valid UTF-8 of at most `max` bytes, cut between characters
function clip (s, max) {
  s = String(s)
  if (s.isWellFormed() && Buffer.byteLength(s) <= max) return s
  return Buffer.from(s).subarray(0, max).toString('utf8').replace(/\uFFFD$/, '')
}

module.exports = { PeerLink, Presence, openTopic, originTopic, keepsNewerLink, VERSIONS, encodeValue: (v) => Buffer.from(encode(v)), decodeValue: decode }
