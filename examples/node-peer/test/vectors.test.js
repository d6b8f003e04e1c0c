'use strict'
// examples/node-peer against docs/PROTOCOL.md: the test vectors, read from the document
// itself, and the rules a peer must follow, with bytes in and bytes out.
//   node --test test/       (from examples/node-peer)

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { EventEmitter } = require('events')
const { encode, decode } = require('@msgpack/msgpack')
const { PeerLink, Presence, openTopic, originTopic, keepsNewerLink } = require('../peerlink')

const DOC = path.join(__dirname, '..', '..', '..', 'docs', 'PROTOCOL.md')
const SEED_B = Buffer.from('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'hex')
const F = { HELLO: 0, TOPIC: 1, UNTOPIC: 2, PRESENCE: 3, UNPRESENCE: 4, JOIN: 5, LEAVE: 6, SESSION: 7, MESSAGE: 8, CLOSE: 9, GOODBYE: 10, CREDIT: 11, MESSAGES: 12 }
const ORDER = ['HELLO', 'TOPIC', 'PRESENCE', 'JOIN', 'SESSION', 'MESSAGE', 'CREDIT', 'CLOSE', 'LEAVE', 'UNPRESENCE', 'UNTOPIC', 'GOODBYE']

// every `name: value` line of the document's ```vectors blocks: hex as a Buffer, a
// JSON string as text
function readVectors () {
  const found = {}
  const text = fs.readFileSync(DOC, 'utf8')
  for (const [, block] of text.matchAll(/^```vectors\n([\s\S]*?)^```/gm)) {
    for (const line of block.split('\n')) {
      if (!line.trim() || line.trim().startsWith('#')) continue
      const i = line.indexOf(':')
      const name = line.slice(0, i).trim(); const value = line.slice(i + 1).trim()
      found[name] = value.startsWith('"') ? JSON.parse(value) : Buffer.from(value, 'hex')
    }
  }
  return found
}

const V = readVectors()

// A stream that records what a PeerLink writes, and whether it ended or destroyed it.
class Wire extends EventEmitter {
  constructor () { super(); this.chunks = []; this.ended = false; this.destroyed = false }
  write (data) { assert.ok(!this.ended, 'written after end()'); this.chunks.push(Buffer.from(data)) }
  end () { this.ended = true }
  destroy () { this.destroyed = true }
  take () { const out = Buffer.concat(this.chunks); this.chunks = []; return out }
}

const frame = (...fields) => { const body = Buffer.from(encode(fields)); const head = Buffer.alloc(4); head.writeUInt32BE(body.length); return Buffer.concat([head, body]) }

function frames (data) {
  const out = []
  for (let i = 0; i < data.length;) {
    const size = data.readUInt32BE(i)
    out.push(decode(data.subarray(i + 4, i + 4 + size)))
    i += 4 + size
  }
  return out
}

function split (data) { // each frame's bytes, length prefix included
  const out = []
  for (let i = 0; i < data.length;) {
    const size = data.readUInt32BE(i)
    out.push(data.subarray(i, i + 4 + size))
    i += 4 + size
  }
  return out
}

// side B's presence proof on the vectors' link
function proofB (b) {
  const message = Buffer.concat([Buffer.from('peersocket-presence-v1'), V['link.key'], V['link.nonce_b'], b.id])
  return b.sign(message)
}

function events (link) {
  const seen = []
  for (const name of ['open', 'peer', 'session', 'message', 'socket-close', 'leave', 'close']) {
    link.on(name, (e) => seen.push([name, e]))
  }
  return seen
}

test('topic hashes: the ids as given, not normalised', () => {
  for (const name of ['open', 'open-nfc', 'open-nfd']) {
    assert.equal(openTopic(V[`${name}.id`]).toString('hex'), V[`${name}.topic`].toString('hex'), name)
  }
  assert.equal(V['open-nfc.id'], V['open-nfd.id'].normalize('NFC')) // the same text to a reader...
  assert.notEqual(V['open-nfc.topic'].toString('hex'), V['open-nfd.topic'].toString('hex')) // ...two swarms
  assert.equal(originTopic(V['origin.origin']).toString('hex'), V['origin.topic'].toString('hex'))
})

test('a swarm id that is not valid Unicode, or empty, is refused', () => {
  assert.throws(() => openTopic('a\ud800b'), /valid Unicode/)
  assert.throws(() => openTopic(''), /non-empty/)
  assert.throws(() => openTopic('x'.repeat(1025)), /1024 bytes/)
})

test('the node peer sends exactly the frame vectors (side A, speaking version 1)', () => {
  const wire = new Wire()
  const a = new PeerLink(wire, new Presence(V['presence.seed']), [V['open.topic']], Buffer.from(encode({ name: 'bot' })), { nonce: V['link.nonce_a'], versions: [1] })
  const b = new Presence(SEED_B)
  const sent = []
  const take = () => sent.push(...split(wire.take()))
  take() // HELLO
  a.stream.emit('data', frame(F.HELLO, 1, V['link.nonce_b']))
  assert.equal(a.key.toString('hex'), V['link.key'].toString('hex'))
  take() // TOPIC
  a.stream.emit('data', frame(F.TOPIC, 0, V['link.tag']))
  take() // PRESENCE, JOIN
  a.stream.emit('data', Buffer.concat([frame(F.PRESENCE, 0, b.id, proofB(b)), frame(F.JOIN, 0, 0, null)]))
  assert.equal(wire.take().length, 0)
  a.setSession(null)
  take()
  assert.ok(a.send(V['open.topic'], b.id, Buffer.from(encode('hi'))))
  take()
  a.stream.emit('data', frame(F.MESSAGE, 0, 0, 0, Buffer.alloc(4096))) // consumed at once: CREDIT
  take()
  assert.ok(a.closeSocket(V['open.topic'], b.id, 'bye'))
  take()
  a.leave(V['open.topic']) // LEAVE, and UNPRESENCE: the presence is in no topic now
  take()
  a.removeTopic(V['open.topic'])
  take()
  a.close('ERR_DEVICE_CLOSING', 'the device is shutting down')
  take()
  assert.deepEqual(sent.map((x) => x.toString('hex')), ORDER.map((n) => V[`frame.${n}`].toString('hex')))
  const proof = frames(V['frame.PRESENCE'])[0]
  assert.equal(Buffer.from(proof[2]).toString('hex'), V['presence.id'].toString('hex'))
  assert.equal(Buffer.from(proof[3]).toString('hex'), V['presence.signature'].toString('hex'))
  assert.ok(wire.ended && !wire.destroyed) // ended after its GOODBYE, not destroyed
})

test('the node peer reads the frame vectors as the frames they are (side B)', () => {
  const wire = new Wire()
  const b = new Presence(SEED_B)
  const link = new PeerLink(wire, b, [V['open.topic']], null, { nonce: V['link.nonce_b'] })
  const seen = events(link)
  for (const name of ORDER) link.stream.emit('data', V[`frame.${name}`])
  const idA = V['presence.id'].toString('hex')
  assert.deepEqual(seen.map(([name, e]) => {
    if (name === 'peer') return [name, Buffer.from(e.id).toString('hex'), decode(e.session)]
    if (name === 'session') return [name, e.session]
    if (name === 'message') return [name, Buffer.from(e.from).toString('hex'), decode(e.payload)]
    if (name === 'socket-close') return [name, e.code, e.reason]
    if (name === 'leave') return [name, Buffer.from(e.id).toString('hex')]
    if (name === 'close') return [name, e.code, e.reason, e.byPeer]
    return [name]
  }), [
    ['open'],
    ['peer', idA, { name: 'bot' }],
    ['session', null],
    ['message', idA, 'hi'],
    ['socket-close', 1000, 'bye'],
    ['leave', idA],
    ['close', 'ERR_DEVICE_CLOSING', 'the device is shutting down', true]
  ])
  // B's own frames: its HELLO, TOPIC, then (topic shared) PRESENCE and JOIN, a CREDIT for
  // the message; nothing after the peer's GOODBYE, and its half of the stream ended
  assert.deepEqual(frames(wire.take()).map((f) => f[0]), [F.HELLO, F.TOPIC, F.PRESENCE, F.JOIN, F.CREDIT])
  assert.ok(wire.ended)
  link.stream.emit('data', frame(F.MESSAGE, 0, 0, 0, Buffer.from('late')))
  assert.equal(wire.chunks.length, 0)
})

test('versions: a HELLO offering 1 and 2 links in 2, or in 1 with a version-1 side; one sharing none is refused', () => {
  const ok = new PeerLink(new Wire(), new Presence(), [], null, { nonce: V['link.nonce_b'] })
  ok.stream.emit('data', V['frame.HELLO-1-2'])
  assert.equal(ok.version, 2)
  assert.ok(!ok.closed)
  const old = new PeerLink(new Wire(), new Presence(), [], null, { nonce: V['link.nonce_b'], versions: [1] })
  old.stream.emit('data', V['frame.HELLO-1-2'])
  assert.equal(old.version, 1)
  const wire = new Wire()
  const refused = new PeerLink(wire, new Presence(), [], null)
  wire.take()
  refused.stream.emit('data', frame(F.HELLO, [3, 4], V['link.nonce_a']))
  assert.deepEqual(frames(wire.take()), [[F.GOODBYE, 'ERR_VERSION', 'no protocol version in common: this side speaks 1, 2, the peer 3, 4']])
  assert.ok(wire.ended)
  for (const bad of [0, [], [2, 1], '1', [1, 1]]) {
    const w = new Wire()
    const p = new PeerLink(w, new Presence(), [], null)
    w.take()
    p.stream.emit('data', frame(F.HELLO, bad, V['link.nonce_a']))
    assert.equal(frames(w.take())[0][1], 'ERR_PROTOCOL', JSON.stringify(bad))
  }
})

test('a presence number reused after UNPRESENCE is refused', () => {
  const wire = new Wire()
  const link = new PeerLink(wire, new Presence(), [V['open.topic']], null, { nonce: V['link.nonce_b'] })
  link.stream.emit('data', frame(F.HELLO, 1, V['link.nonce_a']))
  const first = new Presence(); const second = new Presence()
  const proof = (p) => p.sign(Buffer.concat([Buffer.from('peersocket-presence-v1'), link.key, V['link.nonce_a'], p.id]))
  wire.take()
  link.stream.emit('data', Buffer.concat([frame(F.PRESENCE, 0, first.id, proof(first)), frame(F.UNPRESENCE, 0)]))
  assert.ok(!link.closed)
  link.stream.emit('data', frame(F.PRESENCE, 0, second.id, proof(second)))
  assert.deepEqual(frames(wire.take()), [[F.GOODBYE, 'ERR_PROTOCOL', 'PRESENCE 0 reuses a number: presence numbers only increase on a link (the last was 0)']])
})

test('presences are announced only where a topic is shared', () => {
  const wire = new Wire()
  const me = new Presence()
  const link = new PeerLink(wire, me, [openTopic('mine')], null)
  link.stream.emit('data', frame(F.HELLO, 1, V['link.nonce_a']))
  link.stream.emit('data', frame(F.TOPIC, 0, Buffer.alloc(32, 7))) // a topic we do not know
  const sent = wire.take()
  assert.deepEqual(frames(sent).map((f) => f[0]), [F.HELLO, F.TOPIC])
  assert.equal(sent.indexOf(me.id), -1)
})

test('of two links to one device, both devices keep the same one', () => {
  const small = Buffer.alloc(32, 1); const large = Buffer.alloc(32, 2)
  for (const [firstBySmall, secondBySmall] of [[true, false], [false, true], [true, true], [false, false]]) {
    const bySmall = keepsNewerLink(small, large, firstBySmall, secondBySmall)
    const byLarge = keepsNewerLink(large, small, !firstBySmall, !secondBySmall)
    assert.equal(bySmall, byLarge)
    if (firstBySmall !== secondBySmall) assert.equal(bySmall, !secondBySmall) // the greater key's dial
    else assert.equal(bySmall, true) // the same device dialled again: the newer
  }
})

test('strings: a reason is cut to 256 bytes between characters; a longer one is refused', () => {
  const wire = new Wire()
  const link = new PeerLink(wire, new Presence(), [], null)
  link.close('ERR_DEVICE_CLOSING', '日本'.repeat(100))
  const goodbye = frames(wire.take()).pop()
  assert.equal(goodbye[2], '日本'.repeat(42) + '日')
  const w = new Wire()
  const p = new PeerLink(w, new Presence(), [], null)
  w.take()
  p.stream.emit('data', frame(F.GOODBYE, 'X', 'é'.repeat(128) + 'x'))
  assert.equal(frames(w.take())[0][1], 'ERR_PROTOCOL')
})

test('version 2: the node peer sends HELLO-1-2, and two messages of one task as the MESSAGES vector (side A)', async () => {
  const wire = new Wire()
  const a = new PeerLink(wire, new Presence(V['presence.seed']), [V['open.topic']], Buffer.from(encode({ name: 'bot' })), { nonce: V['link.nonce_a'] })
  assert.equal(wire.take().toString('hex'), V['frame.HELLO-1-2'].toString('hex'))
  const b = new Presence(SEED_B)
  a.stream.emit('data', frame(F.HELLO, [1, 2], V['link.nonce_b']))
  a.stream.emit('data', frame(F.TOPIC, 0, V['link.tag']))
  a.stream.emit('data', Buffer.concat([frame(F.PRESENCE, 0, b.id, proofB(b)), frame(F.JOIN, 0, 0, null)]))
  assert.equal(a.version, 2)
  wire.take()
  assert.ok(a.send(V['open.topic'], b.id, Buffer.from(encode('hi'))))
  assert.ok(a.send(V['open.topic'], b.id, Buffer.from(encode('ho'))))
  await new Promise((resolve) => setImmediate(resolve)) // the run goes at the end of the task
  assert.equal(wire.take().toString('hex'), V['frame.MESSAGES'].toString('hex'))
  // a run ends before any other frame, so the order on the link is the order written
  a.send(V['open.topic'], b.id, Buffer.from(encode(1)))
  a.send(V['open.topic'], b.id, Buffer.from(encode(2)))
  a.closeSocket(V['open.topic'], b.id, 'bye')
  assert.deepEqual(frames(wire.take()).map((f) => f[0]), [F.MESSAGES, F.CLOSE])
})

test('version 2: the node peer reads the MESSAGES vector as two messages, in order, and credits them at once (side B)', () => {
  const wire = new Wire()
  const link = new PeerLink(wire, new Presence(SEED_B), [V['open.topic']], null, { nonce: V['link.nonce_b'] })
  const seen = events(link)
  for (const name of ['HELLO-1-2', 'TOPIC', 'PRESENCE', 'JOIN', 'MESSAGES']) link.stream.emit('data', V[`frame.${name}`])
  assert.equal(link.version, 2)
  assert.deepEqual(seen.filter(([name]) => name === 'message').map(([, e]) => decode(e.payload)), ['hi', 'ho'])
  const credits = frames(wire.take()).filter((f) => f[0] === F.CREDIT)
  assert.deepEqual(credits.map((f) => f[4]), [encode('hi').length + encode('ho').length])
})

test('version 2: a malformed MESSAGES closes the link; on a version-1 link MESSAGES is an unknown frame', () => {
  const open = (versions) => {
    const wire = new Wire()
    const link = new PeerLink(wire, new Presence(SEED_B), [V['open.topic']], null, { nonce: V['link.nonce_b'], versions })
    for (const name of ['HELLO-1-2', 'TOPIC', 'PRESENCE', 'JOIN']) link.stream.emit('data', V[`frame.${name}`])
    wire.take()
    return { wire, link }
  }
  const bad = [
    frame(F.MESSAGES, 0, 0, 0, [Buffer.from('x')]),
    frame(F.MESSAGES, 0, 0, 0, Array.from({ length: 257 }, () => Buffer.from('x'))),
    frame(F.MESSAGES, 0, 0, 0, [Buffer.from('x'), 'text']),
    frame(F.MESSAGES, 0, 0, 0, Buffer.from('xy'))
  ]
  for (const f of bad) {
    const { wire, link } = open(undefined)
    link.stream.emit('data', f)
    const goodbye = frames(wire.take()).pop()
    assert.equal(goodbye[0], F.GOODBYE)
    assert.equal(goodbye[1], 'ERR_PROTOCOL')
    assert.ok(link.closed)
  }
  const { wire, link } = open([1])
  assert.equal(link.version, 1)
  link.stream.emit('data', frame(F.MESSAGES, 0, 0, 0, [Buffer.from('x'), Buffer.from('y')]))
  assert.deepEqual(frames(wire.take()).pop(), [F.GOODBYE, 'ERR_PROTOCOL', 'unknown frame type 12 in version 1'])
})
