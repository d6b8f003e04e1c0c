'use strict'
// Probes swarm/sidecar/loopback-guard.cjs WITHOUT sending anything: the native send/bind/
// connect functions under every API are replaced by recorders first, then the guard is
// loaded on top of them, then each API is called. For each case it prints whether the
// guard threw and whether the native layer was reached.
// Usage: node guard_probe.js SIDECAR_DIR

const path = require('path')
const sidecar = process.argv[2]
const mod = (name) => require(require.resolve(name, { paths: [sidecar] }))

const calls = []
const record = (name) => (...args) => {
  calls.push(name)
  return name.endsWith('bind') ? 40000 : 0
}

// 1. stub the native layer
const udxBinding = mod('udx-native/binding.js')
for (const name of ['udx_napi_socket_send_ttl', 'udx_napi_socket_bind', 'udx_napi_stream_connect', 'udx_napi_stream_change_remote', 'udx_napi_socket_set_membership', 'udx_napi_lookup']) {
  udxBinding[name] = record(name)
}
const { UDP } = process.binding('udp_wrap')
const { TCP } = process.binding('tcp_wrap')
for (const name of ['send', 'send6', 'bind', 'bind6', 'connect', 'connect6']) UDP.prototype[name] = record('udp.' + name)
for (const name of ['connect', 'connect6']) TCP.prototype[name] = record('tcp.' + name)

// 2. the guard goes on top
require(path.join(sidecar, 'loopback-guard.cjs'))

const UDX = mod('udx-native')
const HyperDHT = mod('hyperdht')
const dgram = require('dgram')
const net = require('net')
const dns = require('dns')

function probe(name, fn) {
  const before = calls.length
  let threw = null
  try {
    fn()
  } catch (err) {
    threw = err.code || String(err)
  }
  return { name, threw, native: calls.slice(before) }
}

const udx = new UDX()
const results = [
  probe('udx trySend 8.8.8.8', () => udx.createSocket().trySend(Buffer.from('x'), 53, '8.8.8.8')),
  probe('udx send 8.8.4.4', () => { udx.createSocket().send(Buffer.from('x'), 53, '8.8.4.4') }),
  probe('udx send 10.0.0.1', () => { udx.createSocket().send(Buffer.from('x'), 53, '10.0.0.1') }),
  probe('udx bind 0.0.0.0', () => udx.createSocket().bind(0, '0.0.0.0')),
  probe('udx bind default', () => udx.createSocket().bind(0)),
  probe('udx stream connect 8.8.8.8', () => {
    const s = udx.createSocket()
    s.bind(0, '127.0.0.1')
    udx.createStream(1).connect(s, 2, 49737, '8.8.8.8')
  }),
  probe('udx multicast', () => {
    const s = udx.createSocket()
    s.bind(0, '127.0.0.1')
    s.addMembership('224.0.0.251')
  }),
  probe('udx lookup example.com', () => { udx.lookup('example.com') }),
  probe('dgram send 8.8.8.8', () => dgram.createSocket('udp4').send('x', 53, '8.8.8.8')),
  probe('dgram bind default', () => dgram.createSocket('udp4').bind(0)),
  probe('net connect 8.8.8.8', () => net.connect(53, '8.8.8.8')),
  probe('net connect example.com', () => net.connect({ port: 80, host: 'example.com' })),
  probe('dns lookup example.com', () => dns.lookup('example.com', () => {})),
  probe('dns resolve example.com', () => dns.resolve4('example.com', () => {})),
  probe('hyperdht without bootstrap', () => new HyperDHT({ host: '127.0.0.1' })),
  probe('hyperdht bootstrap false', () => new HyperDHT({ bootstrap: false, host: '127.0.0.1' })),
  probe('hyperdht public bootstrap', () => new HyperDHT({ bootstrap: ['88.99.3.86@node1.hyperdht.org:49737'], host: '127.0.0.1' })),
  probe('hyperdht default host', () => new HyperDHT({ bootstrap: ['127.0.0.1:49736'] })),
  // multicast DNS: refused outside a test namespace (PEERBROWSER_NETNS_CIDR unset here)
  probe('mdns bind 0.0.0.0:5353', () => dgram.createSocket({ type: 'udp4', reuseAddr: true }).bind(5353, '0.0.0.0')),
  probe('mdns membership', () => dgram.createSocket('udp4').addMembership('224.0.0.251', '10.213.1.1')),
  probe('mdns multicast interface', () => dgram.createSocket('udp4').setMulticastInterface('10.213.1.1')),
  probe('mdns send 224.0.0.251:5353', () => dgram.createSocket('udp4').send(Buffer.from('x'), 0, 1, 5353, '224.0.0.251')),
  // allowed: loopback reaches the (stubbed) native layer
  probe('udx loopback send', () => {
    const s = udx.createSocket()
    s.bind(0, '127.0.0.1')
    s.trySend(Buffer.from('x'), 9, '127.0.0.1')
  })
]
process.stdout.write(JSON.stringify(results) + '\n')
process.exit(0)
