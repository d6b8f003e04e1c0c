'use strict'
// Crafted mDNS packets for tests/network/test_lan.py.
//   node mdns_send.js SIDECAR_DIR CIDR malformed   send every malformed packet to the group
//                                                  (from this namespace's address), then a flood
//   node mdns_send.js SIDECAR_DIR CIDR marker      send one well-formed announcement
//   node mdns_send.js SIDECAR_DIR CIDR query       ask for the service once, as a device that
//                                                  just started does (the devices answer)
//   node mdns_send.js SIDECAR_DIR CIDR read        no network: what lan.js's readPacket makes
//                                                  of each malformed packet
// Prints one JSON line. Run under the loopback guard, inside the test's namespace.

const path = require('path')
const os = require('os')
const dgram = require('dgram')
const [sidecar, cidr, mode] = process.argv.slice(2)
const dnsPacket = require(require.resolve('dns-packet', { paths: [sidecar] }))
const lan = require(path.join(sidecar, 'lan.js'))

const subnet = lan.subnetOf(cidr)
const inside = (n) => {
  const base = subnet.base + n
  return [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.')
}
const LABEL = '0123456789abcdef'

function header(id, flags, qd, an, ns, ar) {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(id, 0)
  b.writeUInt16BE(flags, 2)
  b.writeUInt16BE(qd, 4)
  b.writeUInt16BE(an, 6)
  b.writeUInt16BE(ns, 8)
  b.writeUInt16BE(ar, 10)
  return b
}

function announce(label, host, port, ttl = 120) {
  return dnsPacket.encode(lan.announcement(label, host, port, ttl))
}

function crafted() {
  const good = announce(LABEL, inside(200), 40000)
  const loop = Buffer.concat([header(0, 0x8400, 0, 1, 0, 0), Buffer.from([0xc0, 12])]) // name points at itself
  const many = dnsPacket.encode({
    type: 'response',
    answers: Array.from({ length: 40 }, (_, i) => ({ name: lan.SERVICE, type: 'PTR', ttl: 120, data: `${i.toString(16).padStart(16, '0')}.${lan.SERVICE}` }))
  })
  const edit = (fn) => {
    const p = lan.announcement(LABEL, inside(200), 40000)
    fn(p)
    return dnsPacket.encode(p)
  }
  return {
    empty: Buffer.alloc(0),
    'short header': Buffer.alloc(11),
    'lying counts': header(0, 0x8400, 0, 65535, 0, 0),
    'truncated name': Buffer.concat([header(0, 0x8400, 0, 1, 0, 0), Buffer.from([5, 0x61, 0x62])]),
    'compression loop': loop,
    truncated: good.subarray(0, good.length - 7),
    oversize: Buffer.concat([good, Buffer.alloc(lan.MAX_PACKET + 1 - good.length)]),
    'too many records': many,
    'bad label': edit((p) => {
      p.answers[0].data = `ZZ.${lan.SERVICE}`
    }),
    'address outside the LAN': edit((p) => {
      p.additionals[2].data = '8.8.8.8'
    }),
    'loopback address': edit((p) => {
      p.additionals[2].data = '127.0.0.1'
    }),
    'port 0': edit((p) => {
      p.additionals[0].data.port = 0
    }),
    'no SRV': edit((p) => {
      p.additionals.splice(0, 1)
    }),
    'no A': edit((p) => {
      p.additionals.splice(2, 1)
    }),
    'another service': edit((p) => {
      p.answers[0].name = '_other._udp.local'
    }),
    'garbage': Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) & 255))
  }
}

async function main() {
  if (mode === 'read') {
    const out = {}
    for (const [name, buf] of Object.entries(crafted())) out[name] = lan.readPacket(buf, subnet)
    out['(control) well-formed'] = lan.readPacket(announce(LABEL, inside(200), 40000), subnet)
    process.stdout.write(JSON.stringify(out) + '\n')
    return
  }
  const own = Object.values(os.networkInterfaces()).flat().find((i) => i.family === 'IPv4' && lan.inSubnet(i.address, subnet))
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  await new Promise((resolve) => socket.bind(0, own.address, resolve))
  socket.setMulticastInterface(own.address)
  const send = (buf) => new Promise((resolve) => socket.send(buf, 0, buf.length, lan.MDNS_PORT, lan.MDNS_GROUP, resolve))
  let packets = 0
  if (mode === 'marker') {
    await send(announce('fedcba9876543210', own.address, 40001))
    packets++
  } else if (mode === 'query') {
    await send(dnsPacket.encode(lan.query()))
    packets++
  } else {
    const all = Object.values(crafted())
    for (const buf of all) {
      await send(buf)
      packets++
    }
    for (let i = 0; i < 200; i++) { // a flood: more than a source's budget
      await send(all[i % all.length])
      packets++
    }
  }
  socket.close()
  process.stdout.write(JSON.stringify({ packets }) + '\n')
}

main().catch((err) => {
  process.stderr.write(`mdns_send: ${err.stack || err}\n`)
  process.exit(1)
})
