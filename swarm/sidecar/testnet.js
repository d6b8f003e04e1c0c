'use strict'
// A local HyperDHT testnet for tests and demos: `node testnet.js [size] [port] [host]`.
// Binds to host (default 127.0.0.1; tests in network namespaces give the namespace's
// address), prints {"bootstrap": ["HOST:PORT", ...]} as one JSON line on stdout once it
// is up, and exits when stdin closes (or on SIGTERM/SIGINT).

const createTestnet = require('@hyperswarm/testnet')
const HyperDHT = require('hyperdht')

// @hyperswarm/testnet binds any host but 127.0.0.1 to 0.0.0.0; on another address (a
// test's network namespace) make the same network bound to that address alone.
async function createNetwork(size, host, port) {
  if (host === '127.0.0.1') return createTestnet(size, { host, port })
  const node = (bootstrap, port) =>
    new HyperDHT({ ephemeral: false, firewalled: false, bootstrap, host, port })
  // the first node is the network's bootstrap node: it knows nobody (an explicit empty
  // list, never the public nodes); the others know it only
  const first = node([], port)
  await first.fullyBootstrapped()
  const bootstrap = [{ host, port: first.address().port }]
  const nodes = [first]
  while (nodes.length < size) {
    const next = node(bootstrap, [0, 0])
    await next.fullyBootstrapped()
    nodes.push(next)
  }
  return { bootstrap, destroy: () => Promise.all(nodes.map((n) => n.destroy())) }
}

async function main() {
  const size = Number(process.argv[2] || 3)
  const port = Number(process.argv[3] || 0)
  const host = process.argv[4] || '127.0.0.1'
  // HyperDHT turns port 0 into 49737: an empty range asks for any free port
  const testnet = await createNetwork(size, host, port || [0, 0])
  const bootstrap = testnet.bootstrap.map(({ host, port }) => `${host}:${port}`)
  process.stdout.write(JSON.stringify({ bootstrap, pid: process.pid }) + '\n')

  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    setTimeout(() => process.exit(0), 3000).unref()
    await testnet.destroy()
    process.exit(0)
  }
  process.stdin.on('end', close)
  process.stdin.on('error', close)
  process.stdin.resume()
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
}

main().catch((err) => {
  process.stderr.write(`testnet: ${err.stack || err}\n`)
  process.exit(1)
})
