'use strict'
// A plain Hyperswarm peer, outside the browser: joins one topic on a given bootstrap list
// and greets whoever connects. For tests and demos:
//   node plain-peer.js HOST:PORT[,HOST:PORT...] TOPIC_HEX [MESSAGE]
// Prints one JSON line per event (ready, connection, data, close); exits when stdin closes.

const Hyperswarm = require('hyperswarm')
const HyperDHT = require('hyperdht')

async function main() {
  const [list, topicHex, message = 'hello from a plain hyperswarm peer'] = process.argv.slice(2)
  if (!list || !/^[0-9a-f]{64}$/i.test(topicHex || '')) {
    throw new Error('usage: node plain-peer.js HOST:PORT[,...] TOPIC_HEX [MESSAGE]')
  }
  const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
  const dht = new HyperDHT({ bootstrap: list.split(','), host: '127.0.0.1', port: [0, 0] })
  const swarm = new Hyperswarm({ dht }) // network-safety: dht above is bootstrapped on the given (loopback) list
  swarm.on('connection', (conn) => {
    const remote = conn.remotePublicKey.toString('hex')
    conn.on('error', () => {})
    conn.on('data', (data) => print({ event: 'data', remote, bytes: data.byteLength }))
    conn.on('close', () => print({ event: 'close', remote }))
    print({ event: 'connection', remote })
    conn.write(Buffer.from(message))
  })
  const session = swarm.join(Buffer.from(topicHex, 'hex'), { server: true, client: true })
  await session.flushed()
  await session.refresh()
  print({ event: 'ready', publicKey: swarm.keyPair.publicKey.toString('hex') })

  const close = async () => {
    setTimeout(() => process.exit(0), 3000).unref()
    await swarm.destroy()
    process.exit(0)
  }
  process.stdin.on('end', close)
  process.stdin.resume()
  process.on('SIGTERM', close)
}

main().catch((err) => {
  process.stderr.write(`plain-peer: ${err.stack || err}\n`)
  process.exit(1)
})
