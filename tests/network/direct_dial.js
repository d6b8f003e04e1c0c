'use strict'
// Dials one device key directly over HyperDHT (no Hyperswarm, no topic), as an outside
// program may: `node direct_dial.js HOST:PORT[,...] KEY_HEX`. Binds to 127.0.0.1.
// Prints one JSON line per event: {"event":"open"}, then {"event":"data","hex":...} for
// the first bytes the device sends (its HELLO frame), or {"event":"error","code":...};
// exits after either.

const HyperDHT = require('hyperdht')

const [list, keyHex] = process.argv.slice(2)
if (!list || !/^[0-9a-f]{64}$/i.test(keyHex || '')) {
  process.stderr.write('usage: node direct_dial.js HOST:PORT[,...] KEY_HEX\n')
  process.exit(2)
}
const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const dht = new HyperDHT({ bootstrap: list.split(','), host: '127.0.0.1', port: [0, 0] })
const conn = dht.connect(Buffer.from(keyHex, 'hex'))
const done = async () => {
  conn.destroy()
  await dht.destroy()
  process.exit(0)
}
conn.on('open', () => print({ event: 'open', host: conn.rawStream.remoteHost, port: conn.rawStream.remotePort }))
conn.once('data', (data) => {
  print({ event: 'data', hex: data.toString('hex') })
  done()
})
conn.on('error', (err) => {
  print({ event: 'error', code: err.code || null, message: err.message })
  done()
})
