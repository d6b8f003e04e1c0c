'use strict'
// Builds the HyperDHT a device's Hyperswarm runs on, for one network mode:
//   local      an embedded network on 127.0.0.1: the first sidecar on the machine hosts a
//              bootstrap node on 127.0.0.1:<localPort>, the others join it (and take it
//              over when its host goes away)
//   bootstrap  explicit HOST:PORT bootstrap nodes (a testnet, `peerbrowser dht`, a LAN)
//   public     the public HyperDHT (users on a real network only)

const HyperDHT = require('hyperdht')

const DEFAULT_LOCAL_PORT = 49736 // not 49737..49741: every HyperDHT node tries those first
const TAKEOVER_INTERVAL = 2000
const RANDOM_PORT = [0, 0] // HyperDHT turns port 0 into 49737; an empty range means "any"

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

// A bootstrap node on host:port, or null when the port is taken.
async function tryBootstrapNode(port, host) {
  let node
  try {
    node = HyperDHT.bootstrapper(port, host, { host })
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
  }

  async open(onTakeover) {
    const opts = this._opts
    if (onTakeover) this._onTakeover = onTakeover
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
      // wait for HyperDHT's firewall probe, so that peers dial it instead of holepunching
      if (opts.reachable) dhtOpts.firewalled = false
    } else if (this.mode === 'public') {
      this.host = opts.host || '0.0.0.0'
      dhtOpts = { host: this.host } // HyperDHT's own public bootstrap nodes
      if (opts.port) dhtOpts.port = opts.port
    } else {
      throw new NetworkError('ERR_BAD_NETWORK', `unknown network mode ${JSON.stringify(this.mode)}`)
    }
    this.dht = new HyperDHT(dhtOpts)
    await this.dht.ready()
    if (this.mode === 'local' && !this.bootstrapNode) this._watchBootstrap()
    return this.dht
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
      hostingBootstrap: !!this.bootstrapNode
    }
  }

  async close() {
    if (this._takeover) clearTimeout(this._takeover)
    this._takeover = null
    if (this.bootstrapNode) await this.bootstrapNode.destroy().catch(() => {})
    this.bootstrapNode = null
  }
}

// An IPv4 loopback HOST:PORT, or localhost:PORT.
function isLoopbackNode(entry) {
  const host = splitNode(entry)[0].toLowerCase()
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

function splitNode(entry) {
  const i = entry.lastIndexOf(':')
  return [entry.slice(0, i), Number(entry.slice(i + 1))]
}

module.exports = { Network, NetworkError, DEFAULT_LOCAL_PORT }
