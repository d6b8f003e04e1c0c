'use strict'
// A local HyperDHT testnet for tests and demos: `node testnet.js [size] [port]`.
// Binds to 127.0.0.1 only, prints {"bootstrap": ["127.0.0.1:PORT", ...]} as one JSON line
// on stdout once it is up, and exits when stdin closes (or on SIGTERM/SIGINT).

const createTestnet = require('@hyperswarm/testnet')

async function main() {
  const size = Number(process.argv[2] || 3)
  const port = Number(process.argv[3] || 0)
  // HyperDHT turns port 0 into 49737: an empty range asks for any free port
  const testnet = await createTestnet(size, { host: '127.0.0.1', port: port || [0, 0] })
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
