'use strict'
// A minimal reproduction, with HyperDHT alone (no Hyperswarm, no Peerbrowser code), of a
// direct dial that times out on one host. Run it through
// `python -m tests.network.repro_same_host_punch`, which makes the closed network
// namespace it needs; by itself it binds 0.0.0.0 and must not run on a real host.
//
//   node same_host_punch.js SERVER_HOST
//
// A 3-node testnet on 127.0.0.1; node B listens (bound to SERVER_HOST), node A (bound to
// 127.0.0.1) dials B's key and writes. Prints one JSON line: {"server": SERVER_HOST,
// "outcome": "linked" | CODE, "ms": ..., "abort": {...} | null}.
//
// With SERVER_HOST 0.0.0.0 on a machine whose only other address is in a reserved range
// (192.0.2.0/24 here), HyperDHT 6.32.0 and 6.34.0 skip their same-host shortcut (the
// client drops reserved addresses, and 127.0.0.1 matches none of the server's), so
// both sides holepunch. The server's puncher echoes the client's first probe at once;
// the client takes the echo for a punched hole and opens its stream to that socket. The
// server then finds its NAT unknown (too few samples on a testnet), aborts the punch and
// closes that socket; the client ignores the abort, and its stream times out
// (ETIMEDOUT, ~13 s). Bound to 127.0.0.1, the server offers 127.0.0.1 and the client
// connects straight to it.

const createTestnet = require('@hyperswarm/testnet')
const HyperDHT = require('hyperdht')
const Server = require('hyperdht/lib/server')

const serverHost = process.argv[2] || '0.0.0.0'
const t0 = Date.now()

// what the server's puncher knew when it aborted, to show why
let abort = null
const _abort = Server.prototype._abort
Server.prototype._abort = function (h, error) {
  const p = h.puncher
  if (p && !abort) abort = { natFirewall: p.nat.firewall, samples: p.nat.sampled, remoteHolepunching: p.remoteHolepunching }
  return _abort.call(this, h, error)
}

async function main () {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const b = new HyperDHT({ bootstrap: testnet.bootstrap, host: serverHost, port: [0, 0] })
  const a = new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: [0, 0] })
  await Promise.all([a.ready(), b.ready()])
  const server = b.createServer((conn) => {
    conn.on('error', () => {})
    conn.write('hello from B')
  })
  await server.listen()
  const conn = a.connect(server.publicKey)
  const finish = async (outcome) => {
    process.stdout.write(JSON.stringify({ server: serverHost, outcome, ms: Date.now() - t0, abort }) + '\n')
    conn.destroy()
    await Promise.all([a.destroy(), b.destroy(), testnet.destroy()])
    process.exit(0)
  }
  conn.on('data', () => finish('linked'))
  conn.on('error', (err) => finish(err.code || err.message))
  conn.write('hello from A')
}

main().catch((err) => {
  process.stderr.write(`same_host_punch: ${err.stack || err}\n`)
  process.exit(1)
})
