#!/usr/bin/env node
'use strict'
// A PeerSocket chat peer outside the browser: it joins an open swarm over Hyperswarm
// and talks with browser tabs running the chat demo (peerapp://chat/) or the
// proposal's example.
//
//   node chat.js --bootstrap 127.0.0.1:49736 [--swarm pauls-chat-room] [--name bot] [--json]
//
// Lines typed on stdin are sent to every peer as {type: 'text', text}. Messages from
// peers are printed as "<id> says <text>" (or, with --json, one JSON object per line:
// ready / peer / session / message / left / closed). --public uses the public HyperDHT
// instead of --bootstrap.

const Hyperswarm = require('hyperswarm')
const HyperDHT = require('hyperdht')
const readline = require('readline')
const { PeerLink, Presence, openTopic, keepsNewerLink, encodeValue, decodeValue } = require('./peerlink')

function parseArgs (argv) {
  const opts = { swarm: 'pauls-chat-room', name: 'node-peer', json: false, bootstrap: null, public: false, host: '127.0.0.1' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') opts.json = true
    else if (a === '--public') opts.public = true
    else if (['--bootstrap', '--swarm', '--name', '--host'].includes(a) && i + 1 < argv.length) opts[a.slice(2)] = argv[++i]
    else throw new Error(`unknown argument ${a} (see the comment at the top of chat.js)`)
  }
  if (!opts.public && !opts.bootstrap) throw new Error('give --bootstrap HOST:PORT[,HOST:PORT] (or --public for the public DHT)')
  return opts
}

function main () {
  let opts
  try { opts = parseArgs(process.argv.slice(2)) } catch (err) { console.error(err.message); process.exit(2) }
  const out = (obj, text) => console.log(opts.json ? JSON.stringify(obj) : text)
  const short = (id) => Buffer.from(id).toString('hex')

  const presence = new Presence()
  let topic
  try { topic = openTopic(opts.swarm) } catch (err) { console.error(err.message); process.exit(2) }
  const session = encodeValue({ name: opts.name })
  const dht = opts.public
    // network-safety: the public DHT only for a user who passes --public; tests and
    // demos pass --bootstrap with loopback (or test-namespace) nodes
    ? new HyperDHT() // network-safety: public DHT only with --public, for users
    : new HyperDHT({ bootstrap: opts.bootstrap.split(','), host: opts.host })
  // network-safety: the DHT above, with its explicit bootstrap list (or --public)
  const swarm = new Hyperswarm({ dht }) // network-safety: dht above has an explicit bootstrap (or --public)
  const links = new Map() // remote device key (hex) -> { link, conn }: one link per device

  swarm.on('connection', (conn, info) => {
    conn.on('error', () => {})
    const remote = conn.remotePublicKey.toString('hex')
    const link = new PeerLink(conn, presence, [topic], session)
    // Hyperswarm keeps one connection per device and rarely lets a second through; if one
    // does, both devices keep the same link (docs/PROTOCOL.md, "Duplicate links")
    const old = links.get(remote)
    if (old && !old.link.closed) {
      if (!keepsNewerLink(conn.publicKey, conn.remotePublicKey, old.conn.isInitiator, conn.isInitiator)) {
        link.close('ERR_DUPLICATE_LINK', 'a link to this device already exists')
        return
      }
      old.link.close('ERR_DUPLICATE_LINK', 'replaced by a newer link to this device')
    }
    links.set(remote, { link, conn })
    const host = conn.rawStream && conn.rawStream.remoteHost
    link.on('peer', ({ id, session }) => {
      let name = null
      try { name = session ? decodeValue(session).name : null } catch (err) { name = null }
      out({ event: 'peer', id: short(id), name, host, version: link.version }, `* ${short(id).slice(0, 8)} (${name || 'no name'}) joined`)
    })
    link.on('session', ({ id, session }) => {
      let data = null
      try { data = session ? decodeValue(session) : null } catch (err) { data = null }
      out({ event: 'session', id: short(id), session: data }, `* ${short(id).slice(0, 8)} is now ${JSON.stringify(data)}`)
    })
    link.on('message', ({ from, payload }) => {
      let msg
      try { msg = decodeValue(payload) } catch (err) { return }
      if (msg && msg.type === 'text') out({ event: 'message', from: short(from), text: msg.text }, `${short(from)} says ${msg.text}`)
    })
    link.on('leave', ({ id }) => out({ event: 'left', id: short(id) }, `* ${short(id).slice(0, 8)} left`))
    link.on('close', ({ code, reason }) => {
      if (links.get(remote) && links.get(remote).link === link) links.delete(remote)
      if (code === 'ERR_PROTOCOL') out({ event: 'closed', code, reason }, `* a link closed: ${reason}`)
    })
  })

  const send = (text) => {
    const payload = encodeValue({ type: 'text', text })
    let n = 0
    for (const { link } of links.values()) {
      for (const peer of link.peers(topic)) if (link.send(topic, peer.id, payload)) n++
    }
    return n
  }

  const discovery = swarm.join(topic, { server: true, client: true })
  discovery.flushed().then(() => discovery.refresh()).then(() => {
    out({ event: 'ready', id: short(presence.id), swarm: opts.swarm }, `* joined ${opts.swarm} as ${short(presence.id)}`)
  }, (err) => {
    if (!stopping) console.error(`could not join ${opts.swarm}: ${err.message}`)
  })

  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (!line.trim()) return
    const n = send(line)
    if (opts.json) out({ event: 'sent', text: line, peers: n })
  })
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    for (const { link } of links.values()) link.close()
    await swarm.destroy()
    process.exit(0)
  }
  rl.on('close', stop)
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main()
