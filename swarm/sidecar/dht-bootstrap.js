'use strict'
// A HyperDHT bootstrap node (`peerbrowser dht`): node dht-bootstrap.js [--host H] [--port P]
// Default 127.0.0.1:49736 (the `local` network's port). Other devices then use
// network 'bootstrap' with HOST:PORT. Prints {"bootstrap": "HOST:PORT"} once listening.
// A non-loopback --host makes it reachable from the network: only do that on purpose.

const HyperDHT = require('hyperdht')
const { DEFAULT_LOCAL_PORT } = require('./network')

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: DEFAULT_LOCAL_PORT }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--host') opts.host = argv[++i]
    else if (arg === '--port') opts.port = Number(argv[++i])
    else throw new Error(`unknown argument ${arg} (use --host HOST --port PORT)`)
  }
  if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) {
    throw new Error('--port must be 1..65535')
  }
  return opts
}

async function main() {
  const { host, port } = parseArgs(process.argv.slice(2))
  let node = null
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    setTimeout(() => process.exit(0), 3000).unref()
    if (node) await node.destroy()
    process.exit(0)
  }
  // before anything is printed: whoever reads the line may stop us at once
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
  node = HyperDHT.bootstrapper(port, host, { host })
  await node.ready()
  if (closing) return
  process.stdout.write(JSON.stringify({ bootstrap: `${host}:${node.address().port}` }) + '\n')
}

main().catch((err) => {
  process.stderr.write(`dht-bootstrap: ${err.message}\n`)
  process.exit(1)
})
