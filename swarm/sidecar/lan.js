'use strict'
// LAN discovery for the `lan` network: multicast DNS / DNS-SD (RFC 6762, RFC 6763) on one
// interface, with dns-packet (the wire codec under the npm `multicast-dns`) for the bytes.
//
// Each device announces one service instance, `<random>._peerbrowser._udp.local`, whose SRV
// and A records give the address of the device's own node of the LAN's HyperDHT (IPv4
// address and UDP port), and nothing else: no topic, presence id, origin or device key.
// The instance label is random for each run. Devices find each other's nodes through these
// records and bootstrap the LAN's DHT from them (network.js).
//
// Everything read off the network is bounded before it is believed: a packet is dropped
// unread when it is larger than an mDNS message may be, comes from outside the interface's
// subnet or from a source over its packet budget; a packet that dns-packet cannot decode,
// or that holds more records than a device's answer needs, is dropped whole; only records
// that name our service, with a well-formed label, an address inside the subnet and a
// valid port, are used; at most MAX_DEVICES devices are remembered, each until its TTL
// runs out. A malformed packet therefore changes nothing.

const dgram = require('dgram')
const crypto = require('crypto')
const dnsPacket = require('dns-packet')

const MDNS_GROUP = '224.0.0.251'
const MDNS_PORT = 5353
const SERVICE = '_peerbrowser._udp.local'
const MAX_PACKET = 9000 // RFC 6762 §17: no mDNS message is larger
const MAX_RECORDS = 32 // questions + answers + authorities + additionals read from one packet
const MAX_NAME = 255
const MAX_DEVICES = 64 // LAN devices remembered at once
const TTL = 120 // seconds our records live; re-announced at half of it
const MAX_TTL = 4500 // a longer TTL read from a peer is cut to this (RFC 6762 §10)
const SOURCE_BUDGET = 50 // packets one source address may send per BUDGET_WINDOW
const BUDGET_WINDOW = 10000 // ms
const MAX_SOURCES = 256 // sources tracked for their budget
const QUERY_DELAYS = [0, 1000, 3000] // after start; afterwards at each re-announcement
const ANSWER_DELAY = [20, 120] // ms, RFC 6762 §6: shared answers are delayed at random
const LABEL = /^[0-9a-f]{16}$/

// ---- addresses ---------------------------------------------------------------

function ipv4ToInt(text) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(text))
  if (!m) return null
  const parts = m.slice(1).map(Number)
  if (parts.some((n) => n > 255)) return null
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0
}

// {address, base, mask} of an IPv4 "a.b.c.d/nn"
function subnetOf(cidr) {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(String(cidr))
  const ip = m && ipv4ToInt(m[1])
  const bits = m ? Number(m[2]) : -1
  if (ip === null || !(bits >= 8 && bits <= 30)) return null
  const mask = (0xffffffff << (32 - bits)) >>> 0
  return { address: m[1], base: (ip & mask) >>> 0, mask, bits }
}

function inSubnet(host, subnet) {
  const ip = ipv4ToInt(host)
  return ip !== null && ((ip & subnet.mask) >>> 0) === subnet.base
}

// ---- packets (no I/O) ----------------------------------------------------------

function instanceName(label) {
  return `${label}.${SERVICE}`
}

// The unsolicited or solicited answer that announces this device (ttl 0: goodbye).
function announcement(label, host, port, ttl = TTL) {
  const name = instanceName(label)
  const target = `${label}.local`
  return {
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    answers: [{ name: SERVICE, type: 'PTR', ttl, data: name }],
    additionals: [
      { name, type: 'SRV', ttl, flush: true, data: { priority: 0, weight: 0, port, target } },
      { name, type: 'TXT', ttl, flush: true, data: ['v=1'] },
      { name: target, type: 'A', ttl, flush: true, data: host }
    ]
  }
}

function query() {
  return { type: 'query', questions: [{ name: SERVICE, type: 'PTR' }] }
}

const sameName = (a, b) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase()

// What one received packet says, or null when it is not for us or not well-formed:
//   { asks: true }                        a query for our service
//   { devices: [{label, host, port, ttl}] }  answers (ttl 0: that device said goodbye)
// Bounded: a packet over MAX_PACKET bytes or MAX_RECORDS records, or that dns-packet cannot
// decode, is null; records that do not fit are skipped one by one.
function readPacket(buf, subnet) {
  if (!Buffer.isBuffer(buf) || buf.length < 12 || buf.length > MAX_PACKET) return null
  // the header's four record counts, before decoding anything else
  const counts = buf.readUInt16BE(4) + buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10)
  if (counts > MAX_RECORDS) return null
  let packet
  try {
    packet = dnsPacket.decode(buf)
  } catch {
    return null
  }
  if (!packet || typeof packet !== 'object') return null
  if (packet.type === 'query') {
    const asks = (packet.questions || []).some(
      (q) => q && sameName(q.name, SERVICE) && (q.type === 'PTR' || q.type === 'ANY')
    )
    return asks ? { asks: true } : null
  }
  if (packet.type !== 'response') return null
  const records = [...(packet.answers || []), ...(packet.additionals || [])].filter(
    (r) => r && typeof r.name === 'string' && r.name.length <= MAX_NAME
  )
  const devices = []
  for (const ptr of records) {
    if (ptr.type !== 'PTR' || !sameName(ptr.name, SERVICE) || typeof ptr.data !== 'string') continue
    const name = ptr.data.toLowerCase()
    if (!name.endsWith('.' + SERVICE)) continue
    const label = name.slice(0, -SERVICE.length - 1)
    if (!LABEL.test(label)) continue
    const ttl = Math.min(Number(ptr.ttl) >>> 0, MAX_TTL)
    if (ttl === 0) {
      devices.push({ label, host: null, port: 0, ttl: 0 })
      continue
    }
    const srv = records.find((r) => r.type === 'SRV' && sameName(r.name, name))
    if (!srv || !srv.data || typeof srv.data.target !== 'string') continue
    const port = srv.data.port
    if (!Number.isInteger(port) || port < 1 || port > 65535) continue
    const a = records.find((r) => r.type === 'A' && sameName(r.name, srv.data.target))
    if (!a || !inSubnet(a.data, subnet)) continue
    devices.push({ label, host: a.data, port, ttl })
    if (devices.length >= MAX_DEVICES) break
  }
  return devices.length ? { devices } : null
}

// ---- budgets -------------------------------------------------------------------

// Packets per source address in a sliding window; at most MAX_SOURCES sources tracked
// (the oldest forgotten first).
class Budget {
  constructor(limit = SOURCE_BUDGET, window = BUDGET_WINDOW, now = Date.now) {
    this.limit = limit
    this.window = window
    this.now = now
    this.sources = new Map() // host -> {start, count}
  }

  take(host) {
    const now = this.now()
    let entry = this.sources.get(host)
    if (!entry || now - entry.start >= this.window) {
      this.sources.delete(host)
      if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value)
      entry = { start: now, count: 0 }
      this.sources.set(host, entry)
    }
    return ++entry.count <= this.limit
  }
}

// ---- the discovery service ---------------------------------------------------

// new LanDiscovery({host, subnet, log}); await start(); announce(port); devices; close()
// `ondevice(device)` runs for a device seen for the first time or at a new address,
// `onchange(count)` whenever the number of devices seen changes.
class LanDiscovery {
  constructor({ host, cidr, log = () => {}, label = null }) {
    this.host = host
    this.subnet = subnetOf(cidr)
    if (!this.subnet || !inSubnet(host, this.subnet)) throw new Error(`bad LAN interface ${host} (${cidr})`)
    this.label = label || crypto.randomBytes(8).toString('hex')
    this.log = log
    this.port = 0 // our DHT port, once announced
    this.devices = new Map() // label -> {host, port, expires}
    this.budget = new Budget()
    this.dropped = 0 // packets dropped unread or malformed
    this.ondevice = () => {}
    this.onchange = () => {}
    this._socket = null
    this._timers = new Set()
    this._answering = null
    this._lastAnswer = 0
    this._closed = false
  }

  async start() {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    this._socket = socket
    socket.on('message', (buf, rinfo) => this._onmessage(buf, rinfo))
    socket.on('error', (err) => this.log('warn', `mDNS socket: ${err.message}`))
    await new Promise((resolve, reject) => {
      socket.once('error', reject)
      // the group's port on every address: multicast is delivered to sockets bound to it
      socket.bind(MDNS_PORT, '0.0.0.0', () => {
        socket.removeListener('error', reject)
        resolve()
      })
    })
    socket.addMembership(MDNS_GROUP, this.host)
    socket.setMulticastInterface(this.host)
    socket.setMulticastTTL(255)
    socket.setMulticastLoopback(true) // devices on this machine see each other too
    for (const delay of QUERY_DELAYS) this._later(delay, () => this._send(query()))
    const sweep = setInterval(() => this._expire(), 5000)
    sweep.unref()
    this._timers.add(sweep)
  }

  // Announce this device's DHT node, now and at half the TTL from then on.
  announce(port) {
    this.port = port
    this._send(announcement(this.label, this.host, port))
    this._later(1000, () => this._send(announcement(this.label, this.host, port))) // RFC 6762 §8.3
    const again = setInterval(() => {
      this._send(announcement(this.label, this.host, this.port))
      this._send(query())
    }, (TTL * 1000) / 2)
    again.unref()
    this._timers.add(again)
  }

  // The devices seen within `ms`, or until a device is found and `settle` ms passed.
  waitForDevices(ms, settle = 150) {
    return new Promise((resolve) => {
      let timer = setTimeout(done, ms)
      const prev = this.ondevice
      const self = this
      this.ondevice = (device) => {
        prev(device)
        clearTimeout(timer)
        timer = setTimeout(done, settle)
      }
      function done() {
        self.ondevice = prev
        resolve([...self.devices.values()])
      }
    })
  }

  list() {
    return [...this.devices.values()]
  }

  async close() {
    if (this._closed) return
    this._closed = true
    for (const t of this._timers) clearTimeout(t)
    this._timers.clear()
    const socket = this._socket
    if (!socket) return
    if (this.port) {
      // goodbye (TTL 0), so the others forget this device at once
      await new Promise((resolve) => this._send(announcement(this.label, this.host, this.port, 0), resolve))
    }
    await new Promise((resolve) => socket.close(resolve))
  }

  _later(ms, fn) {
    const t = setTimeout(() => {
      this._timers.delete(t)
      if (!this._closed) fn()
    }, ms)
    t.unref()
    this._timers.add(t)
  }

  _send(packet, cb = () => {}) {
    if (!this._socket) return cb()
    let buf
    try {
      buf = dnsPacket.encode(packet)
    } catch (err) {
      this.log('warn', `mDNS encode: ${err.message}`)
      return cb()
    }
    this._socket.send(buf, 0, buf.length, MDNS_PORT, MDNS_GROUP, () => cb())
  }

  _onmessage(buf, rinfo) {
    if (this._closed) return
    // unread: from outside the interface's subnet, or over the source's budget
    if (rinfo.family !== 'IPv4' || !inSubnet(rinfo.address, this.subnet) || !this.budget.take(rinfo.address)) {
      this.dropped++
      return
    }
    const read = readPacket(buf, this.subnet)
    if (read === null) {
      this.dropped++
      return
    }
    if (read.asks) return this._answerSoon()
    for (const device of read.devices) this._seen(device)
  }

  _answerSoon() {
    // a query for our service: answer (multicast) after a random 20-120 ms, at most once a second
    if (!this.port || this._answering || Date.now() - this._lastAnswer < 1000) return
    const [lo, hi] = ANSWER_DELAY
    this._answering = true
    this._later(lo + Math.floor(Math.random() * (hi - lo)), () => {
      this._answering = null
      this._lastAnswer = Date.now()
      this._send(announcement(this.label, this.host, this.port))
    })
  }

  _seen({ label, host, port, ttl }) {
    if (label === this.label) return // our own, looped back
    const before = this.devices.size
    if (ttl === 0) {
      this.devices.delete(label)
    } else {
      const old = this.devices.get(label)
      if (!old && this.devices.size >= MAX_DEVICES) return
      const device = { label, host, port, expires: Date.now() + ttl * 1000 }
      this.devices.set(label, device)
      if (!old || old.host !== host || old.port !== port) this.ondevice(device)
    }
    if (this.devices.size !== before) this.onchange(this.devices.size)
  }

  _expire() {
    const now = Date.now()
    const before = this.devices.size
    for (const [label, device] of this.devices) if (device.expires <= now) this.devices.delete(label)
    if (this.devices.size !== before) this.onchange(this.devices.size)
  }
}

module.exports = {
  LanDiscovery,
  Budget,
  readPacket,
  announcement,
  query,
  subnetOf,
  inSubnet,
  MDNS_GROUP,
  MDNS_PORT,
  SERVICE,
  MAX_PACKET,
  MAX_RECORDS,
  MAX_DEVICES
}
