'use strict'
// Peerbrowser's network engine: one Hyperswarm per device, driven by swarm/hyperswarm.py
// over stdio with length-prefixed msgpack frames (docs/SIDECAR.md). Exits when stdin closes.

const fs = require('fs')
const net = require('net')
const os = require('os')
const v8 = require('v8')
const vm = require('vm')
const Hyperswarm = require('hyperswarm')
const HyperDHT = require('hyperdht')
const { encodeFrame, FrameReader, toBuffer } = require('./frames')
const { Network, isLoopbackHost } = require('./network')
const { trace, short, TRACE } = require('./trace')

const END_GRACE = 10000 // a connection still open this long after end() is destroyed
// The peer with the higher key dials this much later (see below): long enough for the
// lower key's dial to it to arrive first. Once this device counts as reachable (its DHT
// node is not firewalled; on loopback always) that dial goes straight to its address and
// takes a round trip or two, so the wait can be short; while it counts as firewalled the
// dial holepunches, and the wait must outlast a slow holepunch.
const DIAL_DEFER = 3000
const DIAL_DEFER_REACHABLE = 500
const DIAL_DEFER_LOOPBACK = 300
// On a local or private DHT, announcements are looked up and renewed this often, so a
// restarted bootstrap node (which forgot them all) is repopulated within a minute
// instead of at Hyperswarm's own refresh (10 minutes). The public DHT keeps Hyperswarm's.
const PRIVATE_REFRESH = 60000
const kDeferred = Symbol('deferred dial')
// with a link timeout set, keep-alives go out at least this often apart
const MIN_KEEPALIVE = 250
const SHUTDOWN_GRACE = 1500 // on shutdown, how long connections get to close cleanly

// Reading is paced by Python (docs/SIDECAR.md, "Backpressure"). Python acknowledges the
// bytes of the 'data' frames its core has taken ('ack'); a connection stops being read
// while more than ACK_HIGH of its bytes are unacknowledged, and is read again below
// ACK_LOW; every connection stops while more than TOTAL_HIGH are unacknowledged in all,
// until TOTAL_LOW. A stopped connection's peer is not held back by the transport (a UDX
// stream has no receive window: what arrives is buffered here), so a connection that
// piles up more than HOLD_LIMIT while stopped, or the one holding the most when all of
// them hold more than TOTAL_HOLD_LIMIT, is destroyed (ERR_PEER_OVERRUN): a peer that
// follows the link protocol's flow control never sends that much unasked.
const MiB = 1024 * 1024
const ACK_HIGH = 4 * MiB
const ACK_LOW = 1 * MiB
const TOTAL_HIGH = 32 * MiB
const TOTAL_LOW = 16 * MiB
const HOLD_LIMIT = 32 * MiB
const TOTAL_HOLD_LIMIT = 128 * MiB
const HOLD_CHECK = 50 // ms between checks of what stopped connections hold

// Frames own fd 1. Anything a library prints goes to stderr instead.
const stdout = openStdout()
Object.defineProperty(process, 'stdout', { configurable: true, get: () => process.stderr })
for (const name of ['log', 'info', 'debug']) console[name] = console.error.bind(console)

// A non-blocking stream on fd 1 (process.stdout blocks on pipes on Linux).
function openStdout() {
  const stat = fs.fstatSync(1)
  if (stat.isFIFO() || stat.isSocket()) return new net.Socket({ fd: 1, readable: false, writable: true })
  return fs.createWriteStream(null, { fd: 1 }) // a file, when run by hand
}

// Outgoing frames are collected for one event-loop turn and written as one chunk. While
// the pipe is full, connections are paused so their data waits in Hyperswarm.
class Output {
  constructor(stream) {
    this.stream = stream
    this.queue = []
    this.scheduled = false
    this.paused = false
    this.onpause = () => {}
    this.onresume = () => {}
    this.closed = false
    stream.on('error', () => {
      this.closed = true
    })
  }

  send(frame) {
    if (this.closed) return
    this.queue.push(encodeFrame(frame))
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush() {
    this.scheduled = false
    if (this.queue.length === 0 || this.closed) return
    const chunk = this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue)
    this.queue = []
    if (!this.stream.write(chunk) && !this.paused) {
      this.paused = true
      this.onpause()
      this.stream.once('drain', () => {
        this.paused = false
        this.onresume()
      })
    }
  }

  end() {
    this.flush()
    return new Promise((resolve) => {
      if (this.closed) return resolve()
      this.stream.end(resolve)
    })
  }
}

const out = new Output(stdout)
const log = (level, message) => out.send(['log', level, String(message)])
const report = (code, message, extra = null) => out.send(['error', code, String(message), extra])

const conns = new Map() // conn id -> Conn
const topics = new Map() // topic hex -> discovery session
let nextConnId = 1
let swarm = null
let network = null
let started = false
let linkTimeout = 0 // ms of silence after which a connection is dropped (0: UDX's own)
let shuttingDown = false

// ---- reading, paced by Python's acknowledgements ----------------------------------------

let unacked = 0 // bytes sent to Python in 'data' frames and not acknowledged yet, in all
let allStopped = false // over TOTAL_HIGH: every connection waits
let holdTimer = null
let holdWarned = false
let gcCount = 0 // full GCs the sidecar ran to give memory back (see collectNow)
let reduceCount = 0 // of those, the ones that also shrank V8's heap (see reduceNow)

// One connection and what its reading owes Python.
class Conn {
  constructor(id, stream) {
    this.id = id
    this.stream = stream
    this.unacked = 0
    this.received = 0 // bytes read from it, in all
    this.stopped = false // over ACK_HIGH
    this.reading = true // what the stream was last told
    this.overrun = false // destroyed for holding too much
  }

  // Bytes that arrived and wait in the stream's buffers while it is not read.
  held() {
    const raw = this.stream.rawStream
    const a = raw && raw._readableState ? raw._readableState.buffered : undefined
    const b = this.stream._readableState ? this.stream._readableState.buffered : undefined
    if (typeof a !== 'number' || typeof b !== 'number') {
      if (!holdWarned) log('warn', 'this hyperswarm hides its stream buffers; a flooding peer is not cut')
      holdWarned = true
      return 0
    }
    return a + b
  }

  // Read or not, as the pipe, this connection's and the total acknowledgements say.
  update() {
    const read = !(this.stopped || allStopped || out.paused)
    if (read === this.reading) return
    this.reading = read
    if (read) this.stream.resume()
    else {
      this.stream.pause()
      watchHolds()
    }
  }
}

function received(c, data) {
  readSinceCheck = true
  c.received += data.byteLength
  c.unacked += data.byteLength
  unacked += data.byteLength
  out.send(['data', c.id, data])
  if (c.unacked > ACK_HIGH && !c.stopped) {
    c.stopped = true
    c.update()
  }
  if (unacked > TOTAL_HIGH && !allStopped) {
    allStopped = true
    updateAll()
  }
}

function acked(id, nbytes) {
  const c = conns.get(id)
  if (!c || !(nbytes > 0)) return
  const n = Math.min(nbytes, c.unacked)
  c.unacked -= n
  unacked -= n
  if (c.stopped && c.unacked <= ACK_LOW) {
    c.stopped = false
    c.update()
  }
  if (allStopped && unacked <= TOTAL_LOW) {
    allStopped = false
    updateAll()
  }
}

function forget(c) {
  unacked -= c.unacked
  c.unacked = 0
  if (allStopped && unacked <= TOTAL_LOW) {
    allStopped = false
    updateAll()
  }
}

function updateAll() {
  for (const c of conns.values()) c.update()
}

// While some connection is not read, what piles up in it is bounded.
function watchHolds() {
  if (holdTimer) return
  holdTimer = setInterval(checkHolds, HOLD_CHECK)
}

function checkHolds() {
  let total = 0
  let biggest = null
  let any = false
  for (const c of conns.values()) {
    if (c.reading || c.overrun) continue
    any = true
    const held = c.held()
    if (held > HOLD_LIMIT) {
      overrun(c, held, `the peer sent ${held} bytes while this device was not reading (limit ${HOLD_LIMIT})`)
      continue
    }
    total += held
    if (!biggest || held > biggest.held) biggest = { c, held }
  }
  if (biggest && total > TOTAL_HOLD_LIMIT) {
    overrun(biggest.c, biggest.held, `connections not being read held ${total} bytes (limit ${TOTAL_HOLD_LIMIT}); this one the most`)
  }
  if (!any) {
    clearInterval(holdTimer)
    holdTimer = null
  }
}

function overrun(c, held, message) {
  c.overrun = true
  log('warn', `connection ${c.id} destroyed: ${message}`)
  c.stream.destroy(Object.assign(new Error(message), { code: 'ERR_PEER_OVERRUN', held }))
}

function stats() {
  const each = {}
  for (const c of conns.values()) each[c.id] = { unacked: c.unacked, held: c.held(), reading: c.reading }
  const mem = process.memoryUsage()
  return {
    unacked,
    allStopped,
    conns: each,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    young: youngSize(),
    gcs: gcCount,
    reductions: reduceCount
  }
}

out.onpause = updateAll
out.onresume = updateAll

// A connection that ends leaves what it buffered (up to HOLD_LIMIT of a flooding peer's
// bytes, in Buffers outside V8's heap) as garbage. With little JS allocation going on
// afterwards V8 may not collect it for minutes, and the sidecar's RSS stays at its peak.
// So a big connection's buffers are dropped as it closes (dropBuffered), and a full GC
// runs shortly after, and once more a little later.
// Freed buffers go back to the system: the driver runs the sidecar with malloc's mmap
// threshold fixed at 64 KiB (swarm/sidecar_options.py), so each 64 KiB receive buffer is
// a mapping of its own instead of a piece of a heap that fragments (docs/SIDECAR.md,
// "Memory").
const GC_AFTER = [250, 3000] // ms after the last big connection closed
const GC_BIG = 1 * MiB // a connection that received at least this much is big
const collect = exposeGc()
const gcTimers = []

// A closed stream keeps what it buffered for as long as the stream object lives, and the
// UDX stream under a connection lives on until its own close is through (seconds, while
// the peer keeps sending). Its queue is dropped as soon as the connection closed.
function dropBuffered(stream) {
  const rs = stream && stream._readableState
  if (!rs || !rs.queue || typeof rs.queue.clear !== 'function' || typeof rs.buffered !== 'number') return
  rs.queue.clear()
  rs.buffered = 0
}

function exposeGc() {
  if (typeof global.gc === 'function') return global.gc
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc')
    return typeof gc === 'function' ? gc : null
  } catch {
    return null
  }
}

// Bytes that passed through leave garbage too (receive buffers, decrypted messages,
// frames to Python), which V8 may not get to while the sidecar idles. Every GC_CHECK ms:
// collected when Buffers grew by GC_GARBAGE since the last collection, or by GC_IDLE
// and no connection was read since the last look.
const GC_CHECK = 2000
const GC_GARBAGE = 16 * MiB
const GC_IDLE = 1 * MiB
let buffersAfterGc = process.memoryUsage().arrayBuffers
let readSinceCheck = false

function collectNow() {
  collect()
  collected()
}

// A full collection ran (plain or reducing): count it, and measure growth from here.
function collected() {
  gcCount++
  buffersAfterGc = process.memoryUsage().arrayBuffers
}

// A plain full GC (gc()) frees the garbage but leaves V8's young generation at the
// size a flood grew it to (32 MiB of semi-spaces, most of it resident): V8 shrinks it
// only in a collection that reduces memory, which its own memory reducer starts late
// or, while the sidecar keeps a few connections alive, not at all (measured after the
// hostile bench's message flood: +9 MiB anonymous memory 50 s on). The inspector's
// HeapProfiler.collectGarbage is that collection (V8's low-memory notification; it
// blocks the loop some 5-20 ms), so it runs only once the sidecar read nothing for a
// whole GC_CHECK, after a big connection closed or while the young generation is
// grown. An in-process session opens no port; it is let go on the next turn (Node 20
// hangs when a session disconnects inside its own callback). Without the inspector (a
// Node built without it) the plain GC stands in.
let owesReduce = false // a big connection closed since the last reducing collection
let reducing = false
// V8 starts the young generation at 1 MiB of semi-space; past this it grew for traffic.
const YOUNG_GROWN = 4 * MiB
let youngAfterReduce = 0 // what the last reduction left (not asked again for that)

function youngSize() {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  return space !== undefined ? space.space_size : 0
}

function youngGrown() {
  const size = youngSize()
  if (size <= YOUNG_GROWN) youngAfterReduce = 0 // it shrank since: grown again counts
  return size > Math.max(YOUNG_GROWN, youngAfterReduce)
}

function reduceInstead(err) {
  log('warn', `cannot shrink V8's heap (${err.message}): a plain full GC instead`)
  if (collect) collectNow()
}

function reduceNow() {
  owesReduce = false
  let session
  try {
    const { Session } = require('inspector')
    session = new Session()
    session.connect()
  } catch (err) {
    reduceInstead(err)
    return
  }
  reducing = true
  session.post('HeapProfiler.collectGarbage', (err) => {
    setImmediate(() => session.disconnect())
    reducing = false
    if (err) {
      reduceInstead(err)
      return
    }
    reduceCount++
    youngAfterReduce = youngSize()
    collected()
  })
}

if (collect) {
  setInterval(() => {
    const grew = process.memoryUsage().arrayBuffers - buffersAfterGc
    const idle = !readSinceCheck
    readSinceCheck = false
    if (reducing) return // the last one has not answered yet
    if (idle && (owesReduce || youngGrown())) reduceNow()
    else if (grew > GC_GARBAGE || (grew > GC_IDLE && idle)) collectNow()
  }, GC_CHECK).unref()
}

function collectSoon() {
  if (!collect) return
  for (const timer of gcTimers.splice(0)) clearTimeout(timer)
  for (const ms of GC_AFTER) {
    const timer = setTimeout(collectNow, ms)
    timer.unref()
    gcTimers.push(timer)
  }
}

function onConnection(conn) {
  const id = nextConnId++
  let lastError = null
  const c = new Conn(id, conn)
  conns.set(id, c)
  conn.on('error', (err) => {
    lastError = err
  })
  const raw = conn.rawStream
  out.send([
    'connection',
    id,
    conn.remotePublicKey,
    raw && raw.remoteHost ? raw.remoteHost : null,
    raw && raw.remotePort ? raw.remotePort : null,
    !!conn.isInitiator
  ])
  conn.on('data', (data) => received(c, data))
  conn.on('end', () => conn.end()) // the remote ended: finish closing our side too
  conn.on('close', () => {
    conns.delete(id)
    forget(c)
    if (c.received >= GC_BIG || c.overrun) {
      // what it still buffers is never read now: let it go, and collect it
      dropBuffered(conn)
      dropBuffered(raw)
      collectSoon()
      owesReduce = true
    }
    const code = lastError ? lastError.code || 'ERR_CONNECTION' : null
    const message = lastError ? lastError.message : 'connection closed'
    out.send(['close', id, code, message])
  })
  if (linkTimeout > 0) {
    // notice a vanished peer sooner than the UDX stream's own timeout (about 18 s):
    // a keep-alive every quarter of the timeout, so only silence trips it
    conn.setKeepAlive(Math.max(MIN_KEEPALIVE, Math.floor(linkTimeout / 4)))
    conn.setTimeout(linkTimeout)
  }
  c.update()
}

// Below the pages in the CPU's queue: `nice` more than the process that started us (at
// most 19). When the CPU is short, a flood's decryption and UDX work waits and the
// browser's window and its pages go first; when a core is free it changes nothing.
function lowerPriority(nice) {
  if (!(nice > 0)) return
  try {
    const now = os.getPriority(0)
    os.setPriority(0, Math.min(19, now + nice))
  } catch (err) {
    log('warn', `could not lower the sidecar's priority: ${err.message}`)
  }
}

async function start(opts) {
  lowerPriority(Number(opts.nice) || 0)
  linkTimeout = Number(opts.linkTimeout) || 0
  network = new Network(opts, log)
  const dht = await network.open(
    () => {
      out.send(['hosting', network.info()])
      refreshAll()
    },
    (count) => out.send(['lan', { devices: count }]),
    () => refreshSoon()
  )
  const keyPair = opts.seed ? HyperDHT.keyPair(toBuffer(opts.seed)) : undefined
  // network-safety: `dht` comes from Network.open (network.js), which always gives it an
  // explicit bootstrap list: loopback for local/bootstrap networks in tests, the LAN's
  // own nodes for lan, and the public nodes only for --network public (refused when
  // loopback-only)
  swarm = new Hyperswarm({ dht, keyPair }) // network-safety: dht from Network.open, explicit bootstrap
  const loopback = isLoopbackHost(network.host || '')
  deferHigherKeyDials(swarm, () => {
    if (loopback) return DIAL_DEFER_LOOPBACK
    return dht.firewalled ? DIAL_DEFER : DIAL_DEFER_REACHABLE
  })
  if (TRACE) traceSwarm(swarm)
  swarm.on('connection', onConnection)
  const every = opts.refreshInterval || (network.mode === 'public' ? 0 : PRIVATE_REFRESH)
  if (every > 0) setInterval(refreshAll, every).unref()
  const info = network.info()
  out.send(['ready', swarm.keyPair.publicKey, info])
}

// Two peers that find each other at the same moment dial each other at the same moment,
// and Hyperswarm's duplicate resolution can then leave each side holding a different
// half of a connection (bytes flow one way only). So only the peer with the lower key
// dials at once; the other waits `deferFor()` ms and dials only if no connection came.
function deferHigherKeyDials(swarm, deferFor) {
  const connect = swarm._connect
  const needed = ['_connect', '_flushMaybe', '_shouldRequeue']
  if (!needed.every((name) => typeof swarm[name] === 'function') || !swarm._allConnections) {
    log('warn', 'this hyperswarm lacks the internals the dial deferral needs; dialling as is')
    return
  }
  swarm._connect = function (peerInfo, queued) {
    const lower = Buffer.compare(this.keyPair.publicKey, peerInfo.publicKey) < 0
    if (lower || peerInfo.explicit) {
      trace('dial', short(peerInfo.publicKey), 'now')
      return connect.call(this, peerInfo, queued)
    }
    if (queued) this._flushMaybe(peerInfo)
    if (peerInfo[kDeferred]) return trace('dial', short(peerInfo.publicKey), 'already deferred')
    const defer = deferFor()
    trace('dial', short(peerInfo.publicKey), `deferred ${defer} ms`)
    peerInfo[kDeferred] = setTimeout(() => {
      peerInfo[kDeferred] = null
      const linked = this._allConnections.has(peerInfo.publicKey)
      trace('dial', short(peerInfo.publicKey), 'deferral over:', linked ? 'linked meanwhile' : 'dialling')
      if (this.destroyed || linked) return
      if (!this._shouldRequeue(peerInfo)) return // its topics were left meanwhile
      connect.call(this, peerInfo, false)
    }, defer)
    peerInfo[kDeferred].unref()
  }
}

// PEERBROWSER_SIDECAR_TRACE=1: what the swarm finds and how its dials end (trace.js).
function traceSwarm(swarm) {
  const handlePeer = swarm._handlePeer
  if (typeof handlePeer === 'function') {
    swarm._handlePeer = function (peer, topic) {
      const linked = this._allConnections.has(peer.publicKey)
      trace('lookup found', short(peer.publicKey), linked ? '(linked)' : '')
      return handlePeer.call(this, peer, topic)
    }
  }
  const dhtConnect = swarm.dht.connect
  swarm.dht.connect = function (remote, opts) {
    const conn = dhtConnect.call(this, remote, opts)
    conn.on('open', () => trace('client stream open', short(remote), conn.rawStream && conn.rawStream.remoteHost))
    conn.on('error', (err) => trace('client stream error', short(remote), err.code || '', err.message))
    conn.on('close', () => trace('client stream closed', short(remote)))
    return conn
  }
  swarm.server.on('connection', (conn) => {
    trace('server stream open', short(conn.remotePublicKey))
    conn.on('error', (err) => trace('server stream error', short(conn.remotePublicKey), err.code || '', err.message))
  })
  swarm.on('connection', (conn) => trace('connection', short(conn.remotePublicKey), conn.isInitiator ? 'out' : 'in'))
  trace('swarm: own key', short(swarm.keyPair.publicKey))
}

function refreshAll() {
  trace('refresh: announce and look up', topics.size, 'topic(s)')
  for (const session of topics.values()) session.refresh().catch(() => {})
}

// A burst of changes to the LAN's DHT costs one refresh.
let refreshTimer = null
function refreshSoon() {
  if (refreshTimer) return
  refreshTimer = setTimeout(() => {
    refreshTimer = null
    refreshAll()
  }, 100)
  refreshTimer.unref()
}

function join(topic) {
  const key = topic.toString('hex')
  if (topics.has(key)) return
  const session = swarm.join(topic, { server: true, client: true })
  topics.set(key, session)
  trace('join', key.slice(0, 8))
  ;(async () => {
    await session.flushed()
    trace('join: first lookup done', key.slice(0, 8))
    // peers that announced while our first lookup ran are missed by it: look again
    if (topics.get(key) === session) await session.refresh()
    if (topics.get(key) === session) out.send(['joined', topic])
  })().catch((err) => {
    if (topics.get(key) === session) report('ERR_JOIN', err.message, topic)
  })
}

function leave(topic) {
  const key = topic.toString('hex')
  const session = topics.get(key)
  if (!session) return
  topics.delete(key)
  session
    .destroy()
    .catch(() => {})
    .then(() => {
      if (!topics.has(key)) out.send(['left', topic])
    })
}

function endConn(id) {
  const c = conns.get(id)
  if (!c) return
  const conn = c.stream
  conn.end()
  setTimeout(() => conn.destroy(), END_GRACE).unref()
}

async function handle(frame) {
  const [type, ...args] = frame
  if (type === 'start') {
    if (started) return report('ERR_PROTOCOL', "'start' sent twice")
    started = true
    try {
      await start(args[0] || {})
    } catch (err) {
      out.send(['fatal', err.code || 'ERR_START', err.message])
      return shutdown(1)
    }
    return
  }
  if (type === 'shutdown') return shutdown(0)
  // frames sent while 'start' runs wait for it on the input chain
  if (!swarm) return report('ERR_PROTOCOL', `'${type}' before 'start'`)
  switch (type) {
    case 'join':
      return join(toTopic(args[0]))
    case 'leave':
      return leave(toTopic(args[0]))
    case 'write': {
      const c = conns.get(args[0])
      if (c) c.stream.write(toBuffer(args[1]))
      return
    }
    case 'ack':
      return acked(args[0], args[1])
    case 'stats':
      return out.send(['stats', stats()])
    case 'end':
      return endConn(args[0])
    case 'destroy': {
      const c = conns.get(args[0])
      if (c) c.stream.destroy()
      return
    }
    default:
      report('ERR_PROTOCOL', `unknown frame type ${JSON.stringify(type)}`)
  }
}

function toTopic(bin) {
  const topic = Buffer.from(toBuffer(bin)) // own copy: it outlives the input chunk
  if (topic.byteLength !== 32) throw Object.assign(new Error('a topic is 32 bytes'), { code: 'ERR_TOPIC' })
  return topic
}

// End every connection (the peers see a clean close), destroying what lingers.
async function endAll(grace) {
  const open = [...conns.values()].map((c) => c.stream)
  const closed = open.map((conn) => new Promise((resolve) => conn.once('close', resolve)))
  for (const conn of open) conn.end()
  let timer
  await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, grace)))])
  clearTimeout(timer)
  for (const conn of open) conn.destroy()
}

async function shutdown(exitCode) {
  if (shuttingDown) return
  shuttingDown = true
  const hard = setTimeout(() => process.exit(exitCode), 5000)
  try {
    await endAll(SHUTDOWN_GRACE)
    if (swarm) await swarm.destroy()
    else if (network && network.dht) await network.dht.destroy()
    if (network) await network.close()
  } catch (err) {
    process.stderr.write(`sidecar: shutdown: ${err.stack || err}\n`)
  }
  await out.end()
  clearTimeout(hard)
  process.exit(exitCode)
}

// ---- input -------------------------------------------------------------------

const reader = new FrameReader()
let chain = Promise.resolve()

process.stdin.on('data', (chunk) => {
  let frames
  try {
    frames = reader.push(chunk)
  } catch (err) {
    out.send(['fatal', err.code || 'ERR_FRAME', err.message])
    return shutdown(2)
  }
  for (const frame of frames) {
    if (frame[0] === 'start' || !swarm) {
      chain = chain
        .then(() => handle(frame))
        .catch((err) => report(err.code || 'ERR_FRAME', err.message))
    } else {
      try {
        handle(frame)
      } catch (err) {
        report(err.code || 'ERR_FRAME', err.message)
      }
    }
  }
})
process.stdin.on('end', () => shutdown(0))
process.stdin.on('error', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.on('uncaughtException', (err) => {
  process.stderr.write(`sidecar: uncaught: ${err.stack || err}\n`)
  out.send(['fatal', err.code || 'ERR_UNCAUGHT', err.message])
  shutdown(1)
})
process.on('unhandledRejection', (err) => {
  process.stderr.write(`sidecar: unhandled rejection: ${(err && err.stack) || err}\n`)
})
