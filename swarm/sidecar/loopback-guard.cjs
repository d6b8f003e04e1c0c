'use strict'
// Loopback guard: a Node preload (`node -r ./loopback-guard.cjs app.js`) that makes
// traffic to any address other than loopback impossible in this process.
//
// It throws ERR_LOOPBACK_GUARD *before* a packet can leave:
//   - udx-native (what HyperDHT/Hyperswarm use): socket bind/send/trySend, stream
//     connect/changeRemote, multicast membership, DNS lookups;
//   - node:dgram and node:net: bind/connect/send to a non-loopback address, multicast;
//   - node:dns: lookups of names other than localhost, every resolver query;
//   - the raw UDP/TCP handles under dgram/net, as a backstop for any other path;
//   - HyperDHT: a DHT whose bootstrap list is missing, false (both mean the public
//     bootstrap nodes) or names anything but loopback, or whose bind host is not loopback.
//
// The Python driver enables it when PEERBROWSER_LOOPBACK_ONLY=1; every test uses it.
//
// Test hosts in network namespaces: PEERBROWSER_NETNS_CIDR=10.213.7.0/24 also allows one
// private IPv4 subnet, for tests that run devices in network namespaces they made
// themselves (tests/network/netns.py). It is honoured only in a process whose network
// namespace routes to nothing but that subnet (no default route), so it cannot open the
// host's own network; elsewhere the guard refuses to load. There, and only there, the
// `lan` network's multicast DNS to 224.0.0.251:5353 is allowed too (see below).

const path = require('path')
const Module = require('module')
const dgram = require('dgram')
const net = require('net')
const dns = require('dns')
const fs = require('fs')

const CODE = 'ERR_LOOPBACK_GUARD'

class LoopbackGuardError extends Error {
  constructor(message) {
    super('loopback guard: ' + message)
    this.name = 'LoopbackGuardError'
    this.code = CODE
  }
}

// A host as written, without brackets, lower case, an IPv4-mapped IPv6 address as IPv4.
function bareHost(host) {
  let h = host.trim().toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.startsWith('::ffff:')) h = h.slice(7)
  return h
}

function isLoopbackIP(host) {
  if (typeof host !== 'string') return false
  const h = bareHost(host)
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const ip = ipv4ToInt(h)
  return ip !== null && ip >>> 24 === 127
}

function isLoopbackHost(host) {
  return isLoopbackIP(host) || (typeof host === 'string' && host.toLowerCase() === 'localhost')
}

// ---- the test namespace's subnet (PEERBROWSER_NETNS_CIDR) ----------------------

function ipv4ToInt(text) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!m) return null
  const parts = m.slice(1).map(Number)
  if (parts.some((n) => n > 255)) return null
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0
}

const PRIVATE_NETS = [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16]
].map(([base, bits]) => ({ base: ipv4ToInt(base), mask: maskOf(bits), bits }))

function maskOf(bits) {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
}

function inNet(ip, net) {
  return ((ip & net.mask) >>> 0) === net.base
}

// /proc/net/route: destination and mask of every IPv4 route, as integers
function ipv4Routes(text) {
  const hexToInt = (hex) => Buffer.from(hex, 'hex').readUInt32LE(0)
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8)
    .map((f) => ({ iface: f[0], dest: hexToInt(f[1]), mask: hexToInt(f[7]) }))
}

function namespaceSubnet(env = process.env, readRoutes = () => fs.readFileSync('/proc/net/route', 'utf8')) {
  const spec = env.PEERBROWSER_NETNS_CIDR
  if (!spec) return null
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(spec.trim())
  const base = m && ipv4ToInt(m[1])
  const bits = m && Number(m[2])
  if (base === null || !(bits >= 16 && bits <= 30)) {
    throw new LoopbackGuardError(`PEERBROWSER_NETNS_CIDR must be an IPv4 subnet /16 to /30, got ${JSON.stringify(spec)}`)
  }
  const net = { base: (base & maskOf(bits)) >>> 0, mask: maskOf(bits) }
  if (!PRIVATE_NETS.some((p) => bits >= p.bits && inNet(net.base, p))) {
    throw new LoopbackGuardError(`PEERBROWSER_NETNS_CIDR must be a private subnet (10/8, 172.16/12, 192.168/16), got ${spec}`)
  }
  // Only a namespace that can reach nothing but that subnet qualifies: no default route,
  // no route to anywhere else. The host's own namespace always has more.
  let routes
  try {
    routes = ipv4Routes(readRoutes())
  } catch (err) {
    throw new LoopbackGuardError(`PEERBROWSER_NETNS_CIDR needs /proc/net/route to check the namespace (${err.message})`)
  }
  const outside = routes.filter((r) => r.iface !== 'lo' && !(inNet(r.dest, net) && r.mask >= net.mask))
  if (outside.length > 0) {
    throw new LoopbackGuardError(
      'PEERBROWSER_NETNS_CIDR is honoured only inside a network namespace that routes to ' +
        `nothing but ${spec}; this one also routes to ` +
        outside.map((r) => `${intToIpv4(r.dest)}/${Math.clz32(~r.mask >>> 0)} via ${r.iface}`).join(', ')
    )
  }
  return net
}

function intToIpv4(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

const SUBNET = namespaceSubnet()

function isAllowedHost(host) {
  if (isLoopbackHost(host)) return true
  if (SUBNET === null || typeof host !== 'string') return false
  const ip = ipv4ToInt(bareHost(host))
  return ip !== null && inNet(ip, SUBNET)
}

function refuse(what, host) {
  const allowed = SUBNET === null ? 'loopback only' : 'loopback and the test namespace subnet only'
  throw new LoopbackGuardError(`${what} to ${JSON.stringify(host)} refused (${allowed})`)
}

function requireLoopback(what, host) {
  if (!isAllowedHost(host)) refuse(what, host)
}

// ---- multicast DNS, in a test namespace only ---------------------------------
// With PEERBROWSER_NETNS_CIDR honoured (a namespace that routes nowhere but its subnet),
// the `lan` network's mDNS may also: bind 0.0.0.0 on port 5353 (multicast is delivered to
// sockets bound to the group's port), join 224.0.0.251 on an interface in the subnet, pick
// such an interface for multicast, and send to 224.0.0.251:5353. Nothing else multicast,
// and none of it anywhere else: in the host's namespace every one of these is refused.

const MDNS_GROUP = '224.0.0.251'
const MDNS_PORT = 5353

const inSubnet = (host) => SUBNET !== null && typeof host === 'string' && isAllowedHost(host) && !isLoopbackHost(host)

function requireBind(what, port, host) {
  if (SUBNET !== null && Number(port) === MDNS_PORT && (host === '0.0.0.0' || host === undefined)) return
  requireLoopback(what, host)
}

function requireDestination(what, port, host) {
  if (SUBNET !== null && typeof host === 'string' && bareHost(host) === MDNS_GROUP && Number(port) === MDNS_PORT) return
  requireLoopback(what, host)
}

function requireMembership(group, iface) {
  if (SUBNET !== null && typeof group === 'string' && bareHost(group) === MDNS_GROUP && inSubnet(iface)) return
  refuse('multicast membership', `${group} on ${iface}`)
}

function requireMulticastInterface(iface) {
  if (!inSubnet(iface)) refuse('multicast interface', iface)
}

// ---- HyperDHT options --------------------------------------------------------

function bootstrapHost(entry) {
  if (entry && typeof entry === 'object') return [entry.host]
  if (typeof entry !== 'string') return [undefined]
  // "host:port" or "suggested-ip@host:port"
  const hosts = []
  for (const part of entry.split('@')) {
    const i = part.lastIndexOf(':')
    hosts.push(i === -1 ? part : part.slice(0, i))
  }
  return hosts
}

function checkDhtOptions(opts) {
  opts = opts || {}
  if (!Array.isArray(opts.bootstrap)) {
    throw new LoopbackGuardError(
      'a HyperDHT needs an explicit bootstrap list on 127.0.0.1 ' +
        `(got ${JSON.stringify(opts.bootstrap)}: missing or false means the public network)`
    )
  }
  for (const entry of [...opts.bootstrap, ...(opts.nodes || [])]) {
    for (const host of bootstrapHost(entry)) requireLoopback('HyperDHT bootstrap node', host)
  }
  // HyperDHT binds its sockets to opts.host, default 0.0.0.0
  requireLoopback('HyperDHT bind host', opts.host)
}

function guardHyperDHT(HyperDHT) {
  if (HyperDHT[kGuarded]) return HyperDHT
  class GuardedHyperDHT extends HyperDHT {
    constructor(opts = {}) {
      checkDhtOptions(opts)
      super(opts)
    }
  }
  Object.defineProperty(GuardedHyperDHT, 'name', { value: HyperDHT.name })
  GuardedHyperDHT[kGuarded] = true
  return GuardedHyperDHT
}

// ---- udx-native --------------------------------------------------------------

const kGuarded = Symbol.for('peerbrowser.loopbackGuard')

function wrap(proto, name, check) {
  const original = proto[name]
  if (typeof original !== 'function' || original[kGuarded]) return
  const wrapped = function (...args) {
    check.apply(this, args)
    return original.apply(this, args)
  }
  wrapped[kGuarded] = true
  proto[name] = wrapped
}

function guardUdxSocket(Socket) {
  const p = Socket.prototype
  wrap(p, 'bind', (port, host) => requireLoopback('UDP bind', host))
  const send = (buffer, port, host) => {
    if (host) requireLoopback('UDP send', host) // udx defaults a missing host to 127.0.0.1
  }
  wrap(p, 'send', send)
  wrap(p, 'trySend', send)
  wrap(p, 'addMembership', (group) => refuse('multicast membership', group))
}

function guardUdxStream(Stream) {
  const p = Stream.prototype
  const connect = (socket, remoteId, port, host) => {
    if (typeof host === 'string' && host) requireLoopback('UDX stream connect', host)
  }
  wrap(p, 'connect', connect)
  wrap(p, 'changeRemote', connect)
}

function guardUdx(UDX) {
  wrap(UDX.prototype, 'lookup', (host) => requireLoopback('DNS lookup', host))
}

// ---- node:dgram, node:net, node:dns and the raw handles ----------------------

function guardDgram() {
  const p = dgram.Socket.prototype
  wrap(p, 'bind', function (port, address) {
    if (port && typeof port === 'object') {
      address = port.address
      port = port.port
    }
    if (typeof address === 'function') address = undefined
    requireBind('UDP bind', port, address) // Node binds a missing address to 0.0.0.0
  })
  wrap(p, 'connect', (port, address) => {
    if (typeof address === 'string') requireLoopback('UDP connect', address)
  })
  wrap(p, 'send', (msg, ...rest) => {
    // every string argument after the message is the address (a missing one is
    // localhost); the argument before it is the port
    rest.forEach((arg, i) => {
      if (typeof arg === 'string') requireDestination('UDP send', rest[i - 1], arg)
    })
  })
  wrap(p, 'addMembership', (group, iface) => requireMembership(group, iface))
  wrap(p, 'setMulticastInterface', (iface) => requireMulticastInterface(iface))
  for (const name of ['addSourceSpecificMembership', 'setBroadcast']) {
    wrap(p, name, () => refuse(name, '*'))
  }
}

function guardNet() {
  wrap(net.Socket.prototype, 'connect', (...args) => {
    let opts = args[0]
    if (Array.isArray(opts)) opts = opts[0]
    else if (typeof opts !== 'object' || opts === null) opts = net._normalizeArgs(args)[0]
    if (opts.path) return // unix socket
    requireLoopback('TCP connect', opts.host || 'localhost')
  })
}

function guardDns() {
  const lookup = (hostname) => {
    // dgram's bind and send look up their address, even a literal (no query goes out):
    // 0.0.0.0 and the mDNS group, which mDNS in a test namespace binds and sends to
    // (requireBind, requireDestination check those calls themselves)
    if (SUBNET !== null && (hostname === '0.0.0.0' || hostname === MDNS_GROUP)) return
    if (!isAllowedHost(hostname)) refuse('DNS lookup', hostname)
  }
  wrap(dns, 'lookup', lookup)
  wrap(dns.promises, 'lookup', lookup)
  const refuseQuery = (name) => refuse('DNS query', name)
  for (const target of [dns, dns.promises, dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
    for (const name of Object.keys(target)) {
      if (/^(resolve|reverse)/.test(name)) wrap(target, name, refuseQuery)
    }
    for (const name of Object.getOwnPropertyNames(target)) {
      if (/^(resolve|reverse)/.test(name)) wrap(target, name, refuseQuery)
    }
  }
}

function guardHandles() {
  // Backstop under every JS API: these see resolved IP addresses.
  const { UDP } = process.binding('udp_wrap')
  const { TCP } = process.binding('tcp_wrap')
  wrap(UDP.prototype, 'bind', (address, port) => requireBind('UDP bind', port, address))
  wrap(UDP.prototype, 'bind6', (address) => requireLoopback('UDP bind', address))
  wrap(UDP.prototype, 'connect', (address) => requireLoopback('UDP connect', address))
  wrap(UDP.prototype, 'connect6', (address) => requireLoopback('UDP connect', address))
  const send = (req, list, count, port, address) => {
    if (typeof address === 'string') requireDestination('UDP send', port, address)
  }
  wrap(UDP.prototype, 'send', send)
  wrap(UDP.prototype, 'send6', send)
  wrap(UDP.prototype, 'addMembership', (group, iface) => requireMembership(group, iface))
  wrap(UDP.prototype, 'setMulticastInterface', (iface) => requireMulticastInterface(iface))
  for (const name of ['addSourceSpecificMembership', 'setBroadcast']) {
    wrap(UDP.prototype, name, () => refuse(name, '*'))
  }
  wrap(TCP.prototype, 'connect', (req, address) => requireLoopback('TCP connect', address))
  wrap(TCP.prototype, 'connect6', (req, address) => requireLoopback('TCP connect', address))
}

// ---- module hooks ------------------------------------------------------------

const SEP = '[\\\\/]'
const UDX_FILE = new RegExp(`${SEP}udx-native${SEP}lib${SEP}(socket|stream|udx)\\.js$`)
const HYPERDHT_FILE = new RegExp(`${SEP}hyperdht${SEP}index\\.js$`)

function patchModule(filename, exports) {
  const udx = UDX_FILE.exec(filename)
  if (udx) {
    if (udx[1] === 'socket') guardUdxSocket(exports)
    else if (udx[1] === 'stream') guardUdxStream(exports)
    else guardUdx(exports)
    return exports
  }
  if (HYPERDHT_FILE.test(filename) && typeof exports === 'function') {
    const guarded = guardHyperDHT(exports)
    const cached = require.cache[filename]
    if (cached) cached.exports = guarded
    return guarded
  }
  return exports
}

function installModuleHook() {
  const load = Module._load
  Module._load = function (request, parent, isMain) {
    const exports = load.apply(this, arguments)
    if (typeof request !== 'string' || request.startsWith('node:') || !parent) return exports
    let filename
    try {
      filename = Module._resolveFilename(request, parent, isMain)
    } catch {
      return exports
    }
    return patchModule(filename, exports)
  }
}

// Patch the copies this sidecar ships with right away, so that code which loaded
// them before the hook (none should) or bypasses it still goes through the guard.
function patchShipped() {
  const here = [__dirname]
  for (const sub of ['udx-native/lib/socket.js', 'udx-native/lib/stream.js', 'udx-native/lib/udx.js']) {
    let file
    try {
      const root = path.dirname(require.resolve('udx-native/package.json', { paths: here }))
      file = require.resolve(path.join(root, sub.slice('udx-native/'.length)))
    } catch {
      continue
    }
    patchModule(file, require(file))
  }
  try {
    const file = require.resolve('hyperdht', { paths: here })
    patchModule(file, require(file))
  } catch {
    // hyperdht not installed: the hook still covers it if it appears
  }
}

function install() {
  if (globalThis[kGuarded]) return
  globalThis[kGuarded] = true
  guardDgram()
  guardNet()
  guardDns()
  guardHandles()
  installModuleHook()
  patchShipped()
}

install()

module.exports = {
  LoopbackGuardError,
  isLoopbackIP,
  isLoopbackHost,
  isAllowedHost,
  namespaceSubnet,
  checkDhtOptions,
  multicastAllowed: () => SUBNET !== null,
  CODE
}
