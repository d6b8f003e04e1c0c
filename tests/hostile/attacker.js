'use strict'
// A hostile device, written from docs/PROTOCOL.md alone (not from the browser's code),
// for the tests and `./run-bench hostile`. It links to the devices in an open swarm over
// Hyperswarm like any peer, then does what a well-behaved device never does.
//
//   node -r swarm/sidecar/loopback-guard.cjs tests/hostile/attacker.js \
//        --bootstrap 127.0.0.1:P[,...] --swarm NAME
//
// Loopback only: it refuses a bootstrap node that is not on 127.0.0.1 and binds its DHT
// there (the guard, preloaded, makes anything else impossible anyway). Node modules come
// from swarm/sidecar/node_modules (NODE_PATH).
//
// Commands are JSON lines on stdin, one attack at a time:
//   {"attack": "join-fresh", "seconds": 10}   PRESENCE, JOIN, LEAVE, UNPRESENCE with a new
//                                              key and a new number each time
//   {"attack": "join-one", "seconds": 10}     JOIN / LEAVE of one proven presence
//   {"attack": "session", "seconds": 10}      SESSION updates of 16 KiB, one presence joined
//   {"attack": "message", "seconds": 10, "to": [HEX_ID, ...]}
//                                              64 KiB MESSAGEs to those presences, CREDIT
//                                              ignored (the target pages read, or not)
//   {"attack": "malformed"}                   each malformed frame of MALFORMED on a link of
//                                              its own; reports how each link was closed
//   {"attack": "silent", "seconds": 15}       a link that never says HELLO
//   {"leave": true}                           withdraw everything and exit
// Each attack writes as fast as the stream takes bytes (waiting for 'drain' only).
//
// Events are JSON lines on stdout: ready, link, peer (a presence of the other side joined
// the swarm), attack (started), progress (every second), done (counts), goodbye (the
// other side's GOODBYE), link-closed, malformed (one case), error.

const Hyperswarm = require('hyperswarm')
const HyperDHT = require('hyperdht')
const sodium = require('sodium-universal')
const readline = require('readline')
const { encode, decode } = require('@msgpack/msgpack')

// ---- the protocol, as docs/PROTOCOL.md describes it -----------------------------------

const T = { HELLO: 0, TOPIC: 1, UNTOPIC: 2, PRESENCE: 3, UNPRESENCE: 4, JOIN: 5, LEAVE: 6, SESSION: 7, MESSAGE: 8, CLOSE: 9, GOODBYE: 10, CREDIT: 11, MESSAGES: 12 }
const MAX_FRAME = 4 * 1024 * 1024 + 4 * 1024 // a receiver's bound (Limits); ours to read too
const WRITE_BATCH = 64 * 1024 // frames are gathered into writes of about this size
const KEY_POOL = 4096 // fresh presences cycle through this many keys

function blake2b (data, key) {
  const out = Buffer.alloc(32)
  if (key) sodium.crypto_generichash(out, data, key)
  else sodium.crypto_generichash(out, data)
  return out
}

const openTopic = (id) => blake2b(Buffer.from(`peersocket-open-${id}`, 'utf8'))

function frame (items) {
  const body = encode(items)
  const out = Buffer.allocUnsafe(4 + body.byteLength)
  out.writeUInt32BE(body.byteLength, 0)
  out.set(body, 4)
  return out
}

class Presence {
  constructor () {
    this.id = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
    this.secret = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)
    sodium.crypto_sign_keypair(this.id, this.secret)
  }

  // proof = sign("peersocket-presence-v1" || link_key || sender_nonce || id)
  proof (linkKey, nonce) {
    const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
    const msg = Buffer.concat([Buffer.from('peersocket-presence-v1'), linkKey, nonce, this.id])
    sodium.crypto_sign_detached(sig, msg, this.secret)
    return sig
  }
}

// One link: the handshake and what the other side announces, plus a fast writer.
class Link {
  constructor (stream, topic, emit) {
    this.stream = stream
    this.topic = topic
    this.emit = emit
    this.nonce = Buffer.alloc(32)
    sodium.randombytes_buf(this.nonce)
    this.key = null
    this.tnum = 1 // our number for the swarm's topic
    this.nextPnum = 1 // never reused (a hostile device could, but that is issue 15's test)
    this.theirTopic = null // their tnum for our topic, once shared
    this.theirPresences = new Map() // pnum -> id hex
    this.joined = new Map() // their pnum -> id hex, present in the topic
    this.buf = Buffer.alloc(0)
    this.pending = []
    this.pendingSize = 0
    this.closed = false
    this.goodbye = null
    this.opened = new Promise((resolve) => (this._open = resolve))
    this.shared = new Promise((resolve) => (this._shared = resolve))
    stream.on('data', (data) => this._receive(data))
    stream.on('close', () => {
      this.closed = true
      this.emit({ event: 'link-closed', goodbye: this.goodbye })
      this._open(false)
      this._shared(false)
      if (this._drained) this._drained()
    })
    stream.on('end', () => stream.end()) // the other side ended: finish closing ours
    stream.on('error', () => {})
  }

  hello () {
    this.stream.write(frame([T.HELLO, [1, 2], this.nonce])) // versions 1 and 2, as Peerbrowser
  }

  // Queue a frame; the caller flushes (or send() does once a batch is full).
  queue (items) {
    const f = Buffer.isBuffer(items) ? items : frame(items)
    this.pending.push(f)
    this.pendingSize += f.byteLength
  }

  // Write what is queued; resolves when the stream takes more (the sender's only brake).
  async flush () {
    if (this.pendingSize === 0 || this.closed) return
    const chunk = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending)
    this.pending = []
    this.pendingSize = 0
    if (!this.stream.write(chunk) && !this.closed) {
      await new Promise((resolve) => {
        this._drained = resolve
        this.stream.once('drain', resolve)
      })
      this._drained = null
    }
  }

  async send (items) {
    this.queue(items)
    if (this.pendingSize >= WRITE_BATCH) await this.flush()
  }

  newPresence () {
    const p = new Presence()
    p.pnum = this.nextPnum++
    return p
  }

  presenceFrame (p) {
    return [T.PRESENCE, p.pnum, p.id, p.proof(this.key, this.nonce)]
  }

  _receive (data) {
    this.buf = this.buf.byteLength ? Buffer.concat([this.buf, data]) : data
    while (this.buf.byteLength >= 4) {
      const len = this.buf.readUInt32BE(0)
      if (len > MAX_FRAME) return this.stream.destroy()
      if (this.buf.byteLength < 4 + len) break
      const body = this.buf.subarray(4, 4 + len)
      this.buf = this.buf.subarray(4 + len)
      let f
      try {
        f = decode(body)
      } catch (err) {
        return this.stream.destroy()
      }
      if (Array.isArray(f)) this._frame(f)
    }
  }

  _frame (f) {
    switch (f[0]) {
      case T.HELLO: {
        const theirs = Buffer.from(f[2])
        this.theirNonce = theirs
        const [lo, hi] = Buffer.compare(this.nonce, theirs) < 0 ? [this.nonce, theirs] : [theirs, this.nonce]
        this.key = blake2b(Buffer.concat([Buffer.from('peersocket-link-v1'), lo, hi]))
        this.tag = blake2b(this.topic, this.key)
        this.stream.write(frame([T.TOPIC, this.tnum, this.tag]))
        this._open(true)
        break
      }
      case T.TOPIC:
        if (this.tag && Buffer.compare(Buffer.from(f[2]), this.tag) === 0) {
          this.theirTopic = f[1]
          this._shared(true)
        }
        break
      case T.PRESENCE:
        this.theirPresences.set(f[1], Buffer.from(f[2]).toString('hex'))
        break
      case T.UNPRESENCE:
        this.theirPresences.delete(f[1])
        this.joined.delete(f[1])
        break
      case T.JOIN:
        if (f[1] === this.theirTopic && this.theirPresences.has(f[2])) {
          const id = this.theirPresences.get(f[2])
          this.joined.set(f[2], id)
          this.emit({ event: 'peer', id })
        }
        break
      case T.LEAVE:
        if (f[1] === this.theirTopic) this.joined.delete(f[2])
        break
      case T.GOODBYE:
        this.goodbye = { code: f[1], reason: f[2], at: Date.now() }
        this.emit({ event: 'goodbye', code: f[1], reason: f[2] })
        break
      default: // MESSAGE, CREDIT, SESSION, CLOSE: an attacker does not care
    }
  }

  pnumOf (idHex) {
    for (const [pnum, id] of this.joined) if (id === idHex) return pnum
    return null
  }
}

// ---- the attacks -------------------------------------------------------------------------

async function timed (seconds, link, counts, step) {
  const end = Date.now() + seconds * 1000
  let report = Date.now() + 1000
  while (Date.now() < end && !link.closed) {
    await step()
    if (Date.now() >= report) {
      report += 1000
      out({ event: 'progress', ...counts })
    }
  }
  await link.flush()
}

const ATTACKS = {
  // PRESENCE + JOIN + LEAVE + UNPRESENCE, a new key and number every time
  async 'join-fresh' (link, cmd, counts) {
    counts.cycles = 0
    // keys made beforehand (a key pair costs as much as a proof); each cycle still gets a
    // number never used before and a proof for this link
    const keys = Array.from({ length: KEY_POOL }, () => new Presence())
    await timed(cmd.seconds, link, counts, async () => {
      const p = keys[counts.cycles % KEY_POOL]
      p.pnum = link.nextPnum++
      link.queue(link.presenceFrame(p))
      link.queue([T.JOIN, link.tnum, p.pnum, null])
      link.queue([T.LEAVE, link.tnum, p.pnum])
      await link.send([T.UNPRESENCE, p.pnum])
      counts.cycles++
    })
  },

  // one proven presence joining and leaving
  async 'join-one' (link, cmd, counts) {
    counts.pairs = 0
    const p = link.newPresence()
    link.queue(link.presenceFrame(p))
    await timed(cmd.seconds, link, counts, async () => {
      link.queue([T.JOIN, link.tnum, p.pnum, null])
      await link.send([T.LEAVE, link.tnum, p.pnum])
      counts.pairs++
    })
    await link.send([T.UNPRESENCE, p.pnum])
    await link.flush()
  },

  // a presence setting 16 KiB of session data (the limit) over and over
  async session (link, cmd, counts) {
    counts.updates = 0
    counts.bytes = 0
    const p = await joinedPresence(link)
    const data = Buffer.alloc(16 * 1024, 0xc4)
    let n = 0
    await timed(cmd.seconds, link, counts, async () => {
      data.writeUInt32BE(n++, 0) // every value differs
      await link.send([T.SESSION, link.tnum, p.pnum, data])
      counts.updates++
      counts.bytes += data.byteLength
    })
    await leavePresence(link, p)
  },

  // 64 KiB MESSAGEs to the given presences, CREDIT ignored
  async message (link, cmd, counts) {
    counts.messages = 0
    counts.bytes = 0
    const p = await joinedPresence(link)
    const targets = await waitTargets(link, cmd.to || [])
    // a msgpack bin of 64 KiB: what a page's write() of a 64 KiB Uint8Array carries
    const payload = Buffer.from(encode(new Uint8Array(64 * 1024 - 8)))
    const frames = targets.map((pnum) => frame([T.MESSAGE, link.tnum, p.pnum, pnum, payload]))
    let i = 0
    await timed(cmd.seconds, link, counts, async () => {
      const f = frames[i++ % frames.length]
      await link.send(f)
      counts.messages++
      counts.bytes += payload.byteLength
    })
    if (!link.closed) await leavePresence(link, p)
  }
}

async function joinedPresence (link) {
  const p = link.newPresence()
  link.queue(link.presenceFrame(p))
  await link.send([T.JOIN, link.tnum, p.pnum, null])
  await link.flush()
  return p
}

async function leavePresence (link, p) {
  link.queue([T.LEAVE, link.tnum, p.pnum])
  await link.send([T.UNPRESENCE, p.pnum])
  await link.flush()
}

async function waitTargets (link, ids) {
  for (;;) {
    const pnums = ids.map((id) => link.pnumOf(id))
    if (pnums.every((n) => n !== null)) return pnums
    if (link.closed) throw new Error('the link closed before the targets joined')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

// ---- what a well-behaved device never sends ----------------------------------------------
// Each case: a name and the frames sent after our HELLO (a function of the link, so that
// frames can use the link key). Every one breaks a rule of docs/PROTOCOL.md.

const bin = (n, fill = 1) => Buffer.alloc(n, fill)
const raw = (bytes) => bytes // written as they are, not framed

const MALFORMED = [
  ['not msgpack', () => [raw(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]))]],
  ['frame over the size bound', () => [raw(Buffer.from([0x00, 0x50, 0x00, 0x00]))]],
  ['not an array', () => [frame({ a: 1 })]],
  ['unknown frame type', () => [frame([99, 1])]],
  ['second HELLO', (l) => [frame([T.HELLO, 1, l.nonce])]],
  ['TOPIC with a short tag', () => [frame([T.TOPIC, 2, bin(31)])]],
  ['TOPIC with a string tag', () => [frame([T.TOPIC, 2, 'x'.repeat(32)])]],
  ['TOPIC number reused', (l) => [frame([T.TOPIC, 1, bin(32, 7)])]],
  ['same tag twice', (l) => [frame([T.TOPIC, 2, l.tag])]],
  ['UNTOPIC of an unknown number', () => [frame([T.UNTOPIC, 77])]],
  ['PRESENCE with a bad proof', () => [frame([T.PRESENCE, 1, bin(32, 5), bin(64, 6)])]],
  ['PRESENCE proof replayed from the other nonce', (l) => {
    const p = new Presence()
    const sig = Buffer.alloc(64)
    const msg = Buffer.concat([Buffer.from('peersocket-presence-v1'), l.key, l.theirNonce, p.id])
    sodium.crypto_sign_detached(sig, msg, p.secret)
    return [frame([T.PRESENCE, 1, p.id, sig])]
  }],
  ['JOIN of an unknown presence', () => [frame([T.JOIN, 1, 55, null])]],
  ['JOIN of an unknown topic', (l) => {
    const p = l.newPresence()
    return [frame(l.presenceFrame(p)), frame([T.JOIN, 9, p.pnum, null])]
  }],
  ['JOIN with 17 KiB of session data', (l) => {
    const p = l.newPresence()
    return [frame(l.presenceFrame(p)), frame([T.JOIN, 1, p.pnum, bin(17 * 1024)])]
  }],
  ['SESSION without a JOIN', (l) => {
    const p = l.newPresence()
    return [frame(l.presenceFrame(p)), frame([T.SESSION, 1, p.pnum, null])]
  }],
  ['MESSAGE to an unknown presence', (l) => {
    const p = l.newPresence()
    return [frame(l.presenceFrame(p)), frame([T.JOIN, 1, p.pnum, null]), frame([T.MESSAGE, 1, p.pnum, 999, bin(8)])]
  }],
  ['CREDIT of zero bytes', () => [frame([T.CREDIT, 1, 1, 1, 0])]],
  ['MESSAGES with one payload', () => [frame([T.MESSAGES, 1, 1, 1, [bin(8)]])]],
  ['MESSAGES of 257 payloads', () => [frame([T.MESSAGES, 1, 1, 1, Array.from({ length: 257 }, () => bin(1))])]],
  ['MESSAGES with a string payload', () => [frame([T.MESSAGES, 1, 1, 1, [bin(8), 'text']])]],
  ['negative number', () => [frame([T.UNTOPIC, -1])]],
  ['number of 2^32', () => [frame([T.UNTOPIC, 2 ** 32])]],
  ['a float where a number goes', () => [frame([T.UNTOPIC, 1.5])]],
  ['too few fields', () => [frame([T.JOIN, 1])]],
  ['too many fields', () => [frame([T.UNTOPIC, 1, 2])]],
  ['CLOSE code 5000', () => [frame([T.CLOSE, 1, 1, 1, 5000, ''])]],
  ['CLOSE reason of 300 characters', () => [frame([T.CLOSE, 1, 1, 1, 1000, 'r'.repeat(300)])]],
  ['GOODBYE code of 65 characters', () => [frame([T.GOODBYE, 'E'.repeat(65), ''])]],
  ['an array of 9 elements inside a frame', () => [frame([T.CLOSE, 1, 1, 1, 1000, [1, 2, 3, 4, 5, 6, 7, 8, 9]])]],
  ['1,025 topics', () => {
    const frames = []
    for (let i = 2; i <= 1026; i++) frames.push(frame([T.TOPIC, i, blake2b(Buffer.from(String(i)))]))
    return frames
  }]
]

// ---- the device --------------------------------------------------------------------------

function out (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function parseArgs (argv) {
  const opts = { bootstrap: null, swarm: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--bootstrap' && i + 1 < argv.length) opts.bootstrap = argv[++i].split(',')
    else if (a === '--swarm' && i + 1 < argv.length) opts.swarm = argv[++i]
    else throw new Error(`unknown argument ${a}`)
  }
  if (!opts.bootstrap || !opts.swarm) throw new Error('give --bootstrap 127.0.0.1:P[,...] and --swarm NAME')
  for (const node of opts.bootstrap) {
    if (!/^127\.0\.0\.1:\d+$/.test(node)) throw new Error(`loopback only: refusing bootstrap node ${node}`)
  }
  return opts
}

async function main () {
  const opts = parseArgs(process.argv.slice(2))
  const topic = openTopic(opts.swarm)
  const dht = new HyperDHT({ bootstrap: opts.bootstrap, host: '127.0.0.1' })
  const swarm = new Hyperswarm({ dht }) // network-safety: the loopback-only DHT above
  // Other devices in the swarm link to us too; an attack goes to the device with the most
  // presences joined (the browser under attack), the others are left alone.
  const links = new Set()
  const target = () => {
    let best = null
    for (const l of links) if (!l.closed && (!best || l.joined.size > best.joined.size)) best = l
    return best
  }
  swarm.on('connection', (conn) => {
    conn.on('error', () => {})
    const link = new Link(conn, topic, out)
    links.add(link)
    conn.on('close', () => links.delete(link))
    link.hello()
    out({ event: 'link', remote: conn.remotePublicKey.toString('hex') })
  })
  const discovery = swarm.join(topic, { server: true, client: true })
  await discovery.flushed()
  await discovery.refresh()
  out({ event: 'ready', key: swarm.keyPair.publicKey.toString('hex') })

  let busy = Promise.resolve()
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    let cmd
    try {
      cmd = JSON.parse(line)
    } catch (err) {
      return out({ event: 'error', message: `not JSON: ${line}` })
    }
    busy = busy.then(() => run(cmd)).catch((err) => out({ event: 'error', message: err.message }))
  })
  rl.on('close', () => stop(0))

  async function run (cmd) {
    if (cmd.leave) return stop(0)
    const link = target()
    const remoteKey = link && link.stream.remotePublicKey
    if (cmd.attack === 'malformed') return malformed(dht, remoteKey)
    if (cmd.attack === 'silent') return silent(dht, remoteKey, cmd.seconds || 15)
    const attack = ATTACKS[cmd.attack]
    if (!attack) throw new Error(`unknown attack ${cmd.attack}`)
    if (!link || link.closed || !(await link.shared)) throw new Error('no open link sharing the swarm')
    const counts = {}
    out({ event: 'attack', name: cmd.attack, t: Date.now() })
    const t0 = Date.now()
    await attack(link, cmd, counts)
    out({ event: 'done', name: cmd.attack, seconds: (Date.now() - t0) / 1000, linkClosed: link.closed, goodbye: link.goodbye, ...counts })
  }

  // Each malformed case on a fresh connection of its own (a fresh key: no deduplication).
  async function malformed (dht, key) {
    if (!key) throw new Error('no device to attack yet')
    for (const [name, make] of MALFORMED) {
      const conn = dht.connect(key, { keyPair: HyperDHT.keyPair() })
      conn.on('error', () => {})
      const l = new Link(conn, topic, () => {})
      l.hello()
      const opened = await Promise.race([l.opened, new Promise((resolve) => setTimeout(() => resolve(false), 15000))])
      if (!opened) {
        out({ event: 'malformed', name, error: 'no HELLO from the other side' })
        conn.destroy()
        continue
      }
      await l.shared
      const t0 = Date.now()
      for (const f of make(l)) conn.write(f)
      const closed = new Promise((resolve) => conn.once('close', resolve))
      const timeout = new Promise((resolve) => setTimeout(() => resolve('open'), 5000))
      const how = await Promise.race([closed, timeout])
      const goodbye = l.goodbye ? { code: l.goodbye.code, reason: l.goodbye.reason, ms: l.goodbye.at - t0 } : null
      out({ event: 'malformed', name, closed: how !== 'open', ms: Date.now() - t0, goodbye })
      conn.destroy()
    }
    out({ event: 'done', name: 'malformed', cases: MALFORMED.length })
  }

  async function silent (dht, key, seconds) {
    const conn = dht.connect(key, { keyPair: HyperDHT.keyPair() })
    conn.on('error', () => {})
    const l = new Link(conn, topic, () => {})
    const t0 = Date.now()
    await new Promise((resolve) => conn.once('open', resolve))
    const closed = await Promise.race([
      new Promise((resolve) => conn.once('close', () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), seconds * 1000))
    ])
    conn.destroy()
    out({ event: 'done', name: 'silent', closed, seconds: (Date.now() - t0) / 1000, goodbye: l.goodbye })
  }

  let stopping = false
  async function stop (code) {
    if (stopping) return
    stopping = true
    await swarm.destroy().catch(() => {})
    process.exit(code)
  }
  process.on('SIGTERM', () => stop(0))
}

main().catch((err) => {
  out({ event: 'error', message: err.message })
  process.exit(1)
})
