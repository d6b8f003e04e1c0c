'use strict'
// Builds the HyperDHT a device's Hyperswarm runs on, for one network mode:
//   local      an embedded network on 127.0.0.1: the first sidecar on the machine hosts a
//              bootstrap node on 127.0.0.1:<localPort>, the others join it (and take it
//              over when its host goes away)
//   bootstrap  explicit HOST:PORT bootstrap nodes (a testnet, `peerbrowser dht`, a LAN)
//   lan        the devices on this LAN, found by multicast DNS (lan.js): each device's own
//              DHT node is announced there, and the first ones found bootstrap the others
//   public     the public HyperDHT (users on a real network only)

const os = require('os')
const dgram = require('dgram')
const HyperDHT = require('hyperdht')
const { LanDiscovery, inSubnet, subnetOf } = require('./lan')
const { trace } = require('./trace')

const DEFAULT_LOCAL_PORT = 49736 // not 49737..49741: every HyperDHT node tries those first
const TAKEOVER_INTERVAL = 2000
const RANDOM_PORT = [0, 0] // HyperDHT turns port 0 into 49737; an empty range means "any"
const LAN_FIRST_WAIT = 600 // ms to wait for LAN devices' answers before the DHT starts
const LAN_BOOTSTRAP = 8 // LAN devices used to bootstrap the DHT
const LAN_PORT_TRIES = 8 // free ports tried for the LAN routing node (another may take one first)

class NetworkError extends Error {
  constructor(code, message) {
    super(message)
    this.code = code
  }
}

function parseNode(entry) {
  if (typeof entry !== 'string' || !/^[^\s]+:\d{1,5}$/.test(entry)) {
    throw new NetworkError('ERR_BAD_BOOTSTRAP', `bootstrap node must be HOST:PORT, got ${JSON.stringify(entry)}`)
  }
  return entry
}

// A bootstrap node on host:port (knowing other nodes on `bootstrap`), or null when the
// port is taken. HyperDHT.bootstrapper is told its own address, so it stores records from
// the start; a plain `ephemeral: false` node learns its address only from other nodes'
// replies, and one that starts alone never does (it then never stores a record).
async function tryBootstrapNode(port, host, bootstrap = []) {
  let node
  try {
    node = HyperDHT.bootstrapper(port, host, { host, bootstrap })
    await node.ready()
    return node
  } catch (err) {
    if (node) await node.destroy().catch(() => {})
    return null
  }
}

class Network {
  constructor(opts, log) {
    this.mode = opts.network || 'local'
    this.log = log
    this.dht = null
    this.bootstrapNode = null // set while this sidecar hosts the local bootstrap node
    this.bootstrap = null
    this.host = null
    this._opts = opts
    this._takeover = null
    this._onTakeover = () => {}
    this.lan = null // LanDiscovery, on the lan network
    this._onLan = () => {}
    this._onNodes = () => {}
  }

  // onTakeover(): this sidecar took over the local bootstrap node; onLan(count): the number
  // of LAN devices seen changed; onNodes(): the LAN's DHT changed (a node joined our
  // routing table, or ours became a routing node): announce and look up again
  async open(onTakeover, onLan, onNodes) {
    const opts = this._opts
    if (onTakeover) this._onTakeover = onTakeover
    if (onLan) this._onLan = onLan
    if (onNodes) this._onNodes = onNodes
    if (this.mode === 'lan') return this._openLan(opts)
    let dhtOpts
    if (this.mode === 'local') {
      const host = opts.host || '127.0.0.1'
      const port = opts.localPort || DEFAULT_LOCAL_PORT
      this.bootstrapNode = await tryBootstrapNode(port, host)
      this.bootstrap = [`${host}:${port}`]
      this.host = host
      // on loopback every node is reachable: let them all route (ephemeral: false), so the
      // records survive the bootstrap node's process
      dhtOpts = { bootstrap: this.bootstrap, host, port: RANDOM_PORT, ephemeral: false, firewalled: false }
    } else if (this.mode === 'bootstrap') {
      const list = (opts.bootstrap || []).map(parseNode)
      if (list.length === 0) {
        throw new NetworkError('ERR_BAD_BOOTSTRAP', "network 'bootstrap' needs at least one HOST:PORT")
      }
      this.bootstrap = list
      // A DHT whose every bootstrap node is on loopback (a testnet, `peerbrowser dht` on
      // 127.0.0.1) only ever finds peers on this machine: bind to loopback too. Bound to
      // 0.0.0.0, the node offers those peers its other interfaces' addresses, and when
      // they are all in a reserved range (192.0.2.0/24...) HyperDHT skips its same-host
      // shortcut and holepunches instead, which fails on one host: a peer dialling this
      // device times out (docs/SIDECAR.md, "A direct dial on one host").
      this.host = opts.host || (list.every(isLoopbackNode) ? '127.0.0.1' : '0.0.0.0')
      dhtOpts = { bootstrap: list, host: this.host, port: opts.port || RANDOM_PORT }
      // every peer reaches this device directly (a LAN, a test network): say so rather than
      // wait for HyperDHT's firewall probe, so that peers dial it instead of holepunching.
      // A node bound to loopback is reachable by every peer it can meet (they are all on
      // this machine), as the local network's nodes are; saying so also keeps peers on one
      // host off hyperdht 6.33+'s same-host holepunch race (docs/SIDECAR.md).
      if (opts.reachable || isLoopbackHost(this.host)) dhtOpts.firewalled = false
    } else if (this.mode === 'public') {
      this.host = opts.host || '0.0.0.0'
      dhtOpts = { host: this.host } // HyperDHT's own public bootstrap nodes
      if (opts.port) dhtOpts.port = opts.port
    } else {
      throw new NetworkError('ERR_BAD_NETWORK', `unknown network mode ${JSON.stringify(this.mode)}`)
    }
    this.dht = new HyperDHT(dhtOpts) // network-safety: dhtOpts carries an explicit bootstrap; public only for --network public
    await this.dht.ready()
    trace('dht: ready, firewalled', this.dht.firewalled)
    if (this.mode === 'bootstrap') await probeReachability(this.dht, this.log)
    if (this.mode === 'local' && !this.bootstrapNode) this._watchBootstrap()
    return this.dht
  }

  // The LAN's DHT. Every device hosts a routing node of it (a bootstrap node, as the local
  // network's) and announces that node's address by mDNS; the device's own node (the one
  // Hyperswarm uses) bootstraps from its routing node and the others'. Records then live on
  // every routing node, so the DHT needs no particular device to stay: when one leaves,
  // the others' routing nodes still hold each other's records, and a newcomer finds them.
  // (One node per device is not enough: a record is stored on other nodes only, so in a
  // DHT of two device nodes neither lookup can find the other's record.)
  async _openLan(opts) {
    const iface = lanInterface(opts.host)
    const host = iface.address
    this.host = host
    this.lan = new LanDiscovery({ host, cidr: iface.cidr, log: this.log })
    await this.lan.start()
    const found = await this.lan.waitForDevices(LAN_FIRST_WAIT)
    trace('lan: devices found at start', found.length)
    const others = found.slice(0, LAN_BOOTSTRAP).map((d) => `${d.host}:${d.port}`)
    // others: an empty list when alone on the LAN so far, never the public nodes
    this.bootstrapNode = await lanRoutingNode(host, others)
    trace('lan: routing node ready, stores records:', !this.bootstrapNode.ephemeral)
    this.bootstrap = [`${host}:${this.bootstrapNode.address().port}`, ...others]
    this.dht = new HyperDHT({ bootstrap: this.bootstrap, host, port: opts.port || RANDOM_PORT })
    await this.dht.ready()
    trace('dht: ready, firewalled', this.dht.firewalled, 'routing node', this.bootstrap[0])
    await probeReachability(this.dht, this.log)
    // whenever the device's node meets another routing node, announce and look up again
    this.dht.on('add-node', (node) => {
      trace('dht: add-node', `${node.host}:${node.port}`)
      this._onNodes()
    })
    this.lan.ondevice = (device) => this._lanDevice(device)
    this.lan.onchange = (count) => this._onLan(count)
    this.lan.announce(this.bootstrapNode.address().port)
    return this.dht // the number of devices seen so far goes out with 'ready'
  }

  // A LAN device seen for the first time (or at a new address): both our nodes learn its
  // routing node, and the device's node probes its reachability again if it still counts
  // as firewalled (alone on the LAN, nobody could answer the first probe).
  async _lanDevice({ host, port }) {
    const dht = this.dht
    if (!dht || dht.destroyed || !this.bootstrapNode) return
    const node = { host, port }
    trace('lan: device', `${host}:${port}`)
    this.bootstrapNode.addNode(node)
    dht.addNode(node)
    await probeReachability(dht, this.log)
    this._onNodes()
  }

  // While another process hosts the local bootstrap node, check now and then whether it
  // went away (its port is free); if so, host it here and introduce it to this node, so
  // that newcomers find the others through it.
  _watchBootstrap() {
    const [host, port] = splitNode(this.bootstrap[0])
    const tick = async () => {
      this._takeover = null
      if (!this.dht || this.dht.destroyed) return
      const node = await tryBootstrapNode(port, host)
      if (!this.dht || this.dht.destroyed) {
        if (node) await node.destroy()
        return
      }
      if (node) {
        this.bootstrapNode = node
        this.dht.addNode({ host, port })
        this.log('info', `hosting the local bootstrap node on ${host}:${port}`)
        this._onTakeover()
        return
      }
      this._takeover = setTimeout(tick, TAKEOVER_INTERVAL)
      this._takeover.unref()
    }
    this._takeover = setTimeout(tick, TAKEOVER_INTERVAL)
    this._takeover.unref()
  }

  info() {
    const address = this.dht ? this.dht.address() : null
    return {
      network: this.mode,
      bootstrap: this.bootstrap,
      host: address ? address.host : null,
      port: address ? address.port : null,
      hostingBootstrap: !!this.bootstrapNode,
      lanDevices: this.lan ? this.lan.devices.size : null
    }
  }

  async close() {
    if (this._takeover) clearTimeout(this._takeover)
    this._takeover = null
    if (this.lan) await this.lan.close().catch(() => {})
    if (this.bootstrapNode) await this.bootstrapNode.destroy().catch(() => {})
    this.bootstrapNode = null
  }
}

// An IPv4 loopback HOST:PORT, or localhost:PORT.
function isLoopbackNode(entry) {
  const host = splitNode(entry)[0].toLowerCase()
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

// A bind address on loopback (IPv4 or IPv6).
function isLoopbackHost(host) {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost'
}

// A fresh HyperDHT node counts as firewalled until other nodes have pinged it back
// (dht-rpc's "quick firewall" probe, PING_NAT). That probe is sent while the bootstrap
// query runs, and its answer is only used if it comes before the query ends. On the public
// DHT the query takes many round trips and the probe wins; on a small network (a testnet,
// a LAN) the query ends in one round trip and the probe's answer comes too late, so the
// node stays firewalled until dht-rpc's next check, about 20 minutes later. Between two
// nodes that both count as firewalled HyperDHT holepunches, and on a small network that
// fails too (the server's NAT analysis wants samples from 3 DHT nodes): links then took
// 16 to 86 s to form (docs/SIDECAR.md). So on private networks the sidecar runs that same
// probe once more after bootstrapping; a node that other nodes really reach stops counting
// as firewalled, and peers then connect to it directly. It never claims reachability
// the probe did not see (that is what `reachable` is for).
async function probeReachability(dht, log) {
  if (dht.destroyed || !dht.firewalled) return !dht.firewalled
  if (typeof dht._updateNetworkState !== 'function') {
    log('warn', "this hyperdht lacks dht-rpc's _updateNetworkState: not probing reachability")
    return false
  }
  trace('dht: probing reachability')
  try {
    await dht._updateNetworkState(true) // true: the firewall check only
  } catch (err) {
    log('warn', `reachability probe failed: ${err.message}`)
  }
  trace('dht: probed, firewalled', dht.firewalled)
  return !dht.firewalled
}

// The device's routing node of the LAN's DHT, on a UDP port that the system says is free
// (tried again if something takes it before the node binds it).
async function lanRoutingNode(host, bootstrap) {
  for (let i = 0; i < LAN_PORT_TRIES; i++) {
    const node = await tryBootstrapNode(await freeUdpPort(host), host, bootstrap)
    if (node) return node
  }
  throw new NetworkError('ERR_NO_LAN', `network 'lan': no free UDP port on ${host} for the LAN's DHT`)
}

function freeUdpPort(host) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, host, () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

const PRIVATE_V4 = [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16]
]

function isPrivateV4(address) {
  return PRIVATE_V4.some(([base, bits]) => inSubnet(address, subnetOf(`${base}/${bits}`)))
}

// The interface the LAN is reached on: the one with address `host` when given, else the
// first with a private IPv4 address.
function lanInterface(host, interfaces = os.networkInterfaces()) {
  const all = Object.values(interfaces)
    .flat()
    .filter((i) => i && (i.family === 'IPv4' || i.family === 4) && !i.internal && i.cidr)
  const found = host ? all.find((i) => i.address === host) : all.find((i) => isPrivateV4(i.address))
  if (!found) {
    throw new NetworkError(
      'ERR_NO_LAN',
      host
        ? `network 'lan': no interface has the address ${host}`
        : "network 'lan': no interface with a private IPv4 address (10/8, 172.16/12, 192.168/16, 169.254/16)"
    )
  }
  return found
}

function splitNode(entry) {
  const i = entry.lastIndexOf(':')
  return [entry.slice(0, i), Number(entry.slice(i + 1))]
}

module.exports = { Network, NetworkError, DEFAULT_LOCAL_PORT, probeReachability, lanInterface, isLoopbackHost }
