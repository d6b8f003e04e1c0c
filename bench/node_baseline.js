'use strict'
// The raw Hyperswarm baseline: two plain Node peers on a local testnet, no PeerSocket.
//   node -r swarm/sidecar/loopback-guard.cjs bench/node_baseline.js echo|measure BOOTSTRAP TOPIC_HEX [quick|full] [batched]
// batched: the flood coalesces its frames into one write per event-loop turn (as the core does).
// BOOTSTRAP is 127.0.0.1:PORT[,...] (anything else is refused); the DHT binds to 127.0.0.1.
// Frames: u32 length, u8 type (0 data, 1 count n, 2 ready, 3 done), body. Prints JSON lines:
// {"ready": true} once joined, then (measure) {"result": {...}}. Exits when stdin closes.
// Needs NODE_PATH=swarm/sidecar/node_modules.

const Hyperswarm = require('hyperswarm')
const HyperDHT = require('hyperdht')
const { encode } = require('@msgpack/msgpack')

const DATA = 0
const COUNT = 1
const READY = 2
const DONE = 3
const PAYLOADS = {
  small: Buffer.from(encode({ type: 'text', text: 'hello world' })),
  binary: Buffer.from(encode(Uint8Array.from({ length: 64 * 1024 }, (_, i) => i & 0xff)))
}
const PLAN = {
  full: { reps: 5, rtt: { small: 1000, binary: 150 }, flood: { small: 30000, binary: 400 }, warmup: 50 },
  quick: { reps: 2, rtt: { small: 200, binary: 40 }, flood: { small: 5000, binary: 100 }, warmup: 20 }
}

const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

function frame (type, body) {
  const out = Buffer.allocUnsafe(5 + body.length)
  out.writeUInt32BE(body.length + 1, 0)
  out[4] = type
  body.copy(out, 5)
  return out
}

function u32 (n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }

// Calls onFrame(type, body) for every complete frame of a byte stream.
function reader (onFrame) {
  let buf = Buffer.alloc(0)
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
    let at = 0
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at)
      if (buf.length - at < 4 + len) break
      onFrame(buf[at + 4], buf.subarray(at + 5, at + 4 + len))
      at += 4 + len
    }
    buf = buf.subarray(at)
  }
}

function echo (conn) {
  let counting = 0
  conn.on('data', reader((type, body) => {
    if (counting > 0) {
      if (--counting === 0) conn.write(frame(DONE, Buffer.alloc(0)))
    } else if (type === COUNT) {
      counting = body.readUInt32BE(0)
      conn.write(frame(READY, Buffer.alloc(0)))
    } else {
      conn.write(frame(type, body))
    }
  }))
}

// the middle value, or the mean of the two middle ones (as Python's statistics.median,
// which the core's figures use: with two repetitions both sides take their mean)
function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  if (!s.length) return null
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
function p99 (xs) { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.round(0.99 * (s.length - 1))] : null }

const TURN_BYTES = 512 * 1024 // batched mode: payload bytes coalesced into one write

async function measure (conn, plan, batched) {
  let waiting = null
  conn.on('data', reader((type, body) => { if (waiting) { const w = waiting; waiting = null; w(type) } }))
  const next = () => new Promise((resolve) => { waiting = resolve })
  const now = () => Number(process.hrtime.bigint()) / 1e6
  const result = {}
  for (const kind of ['small', 'binary']) {
    const data = frame(DATA, PAYLOADS[kind])
    const rtts = []
    const rates = []
    const flood = async (n) => {
      const ready = next(); conn.write(frame(COUNT, u32(n))); await ready
      const done = next()
      const t0 = now()
      if (batched) { // as the core does: one write per loop turn with everything queued
        const perTurn = Math.max(1, Math.floor(TURN_BYTES / data.length))
        for (let i = 0; i < n; i += perTurn) {
          const k = Math.min(perTurn, n - i)
          const ok = conn.write(k === 1 ? data : Buffer.concat(Array(k).fill(data)))
          if (!ok) await new Promise((resolve) => conn.once('drain', resolve))
          else await new Promise((resolve) => setImmediate(resolve))
        }
      } else {
        for (let i = 0; i < n; i++) {
          if (!conn.write(data)) await new Promise((resolve) => conn.once('drain', resolve))
        }
      }
      await done
      return (now() - t0) / 1000
    }
    await flood(Math.floor(plan.flood[kind] / 10)) // warm-up
    for (let r = 0; r < plan.reps; r++) {
      for (let i = 0; i < plan.warmup + plan.rtt[kind]; i++) {
        const got = next()
        const t0 = now()
        conn.write(data)
        await got
        if (i >= plan.warmup) rtts.push(now() - t0)
      }
      const n = plan.flood[kind]
      rates.push(n / await flood(n))
    }
    result[kind] = {
      rtt: { median_ms: median(rtts), p99_ms: p99(rtts), min_ms: Math.min(...rtts), n: rtts.length },
      msgs_per_s: median(rates),
      msgs_per_s_reps: rates,
      mb_per_s: median(rates) * PAYLOADS[kind].length / 1e6
    }
  }
  return result
}

async function main () {
  const [role, list, topicHex, quick, batched] = process.argv.slice(2)
  const bootstrap = (list || '').split(',')
  if (!['echo', 'measure'].includes(role) || !/^[0-9a-f]{64}$/i.test(topicHex || '')) {
    throw new Error('usage: node_baseline.js echo|measure 127.0.0.1:PORT[,...] TOPIC_HEX [quick]')
  }
  if (!bootstrap.every((b) => /^127\.0\.0\.1:\d+$/.test(b))) throw new Error(`refusing non-loopback bootstrap ${list}`)
  // Bound to loopback, every peer it can meet is on this machine: it is reachable, as the
  // sidecar's loopback nodes say (docs/SIDECAR.md, "The same-host race": with hyperdht 6.33
  // and later, two loopback nodes that count as firewalled race their holepunch and can
  // leave a connection open on one side only)
  const dht = new HyperDHT({ bootstrap, host: '127.0.0.1', port: [0, 0], firewalled: false })
  const swarm = new Hyperswarm({ dht }) // network-safety: dht above, bootstrap checked to be 127.0.0.1 only, bound to loopback
  let close = async () => {
    close = async () => {}
    setTimeout(() => process.exit(0), 3000).unref()
    await swarm.destroy()
    process.exit(0)
  }
  process.stdin.on('end', () => close())
  process.stdin.resume()
  process.on('SIGTERM', () => close())

  let first = null
  const connected = new Promise((resolve) => {
    swarm.on('connection', (conn) => {
      conn.on('error', () => {})
      if (first) return
      first = conn
      conn.setNoDelay?.(true)
      resolve(conn)
    })
  })
  const discovery = swarm.join(Buffer.from(topicHex, 'hex'), { server: true, client: true })
  await discovery.flushed()
  print({ ready: true })
  const conn = await connected
  if (role === 'echo') { echo(conn); return }
  const result = await measure(conn, PLAN[quick === 'quick' ? 'quick' : 'full'], batched === 'batched')
  print({ result })
}

main().catch((err) => {
  process.stderr.write(`node_baseline: ${err.stack || err}\n`)
  process.exit(1)
})
