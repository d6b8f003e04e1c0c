'use strict'
// A reproduction of hyperdht's same-host race without Peerbrowser (docs/SIDECAR.md):
// plain Hyperswarm peers, one process each, on a 3-node testnet on 127.0.0.1, all
// joining one topic at the same moment; then every peer writes to every other on its
// newest connection, and each pair is checked both ways.
//
//   PEERBROWSER_LOOPBACK_ONLY=1 node -r ./swarm/sidecar/loopback-guard.cjs \
//     tests/network/repro_same_host_race.js SIDECAR_DIR [peers=4] [rounds=15] [probe]
//
// SIDECAR_DIR holds the node_modules to test (swarm/sidecar for hyperdht 6.34.0; the
// link-up benchmark installs the 6.32.0 one into bench/.cache/). `probe`: each peer runs
// dht-rpc's reachability check after bootstrapping, as the sidecar does (the peers then
// count as reachable and connect directly). Prints one line per round on stderr and a
// JSON summary on stdout: `bad` rounds had a pair that never linked within 40 s or whose
// bytes did not arrive (a connection open on one side only); `slow` rounds linked, but
// only after 10 s (a dial had timed out first: hyperdht gives up after 13 s). Loopback only.

const { fork } = require('child_process')
const crypto = require('crypto')

const [dir, peersArg, roundsArg, probeArg] = process.argv.slice(2)
const need = (m) => require(require.resolve(m, { paths: [dir] }))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const LINK_WAIT = 40000 // ms for every pair to link (the hyperdht timeout is 13 s)
const BYTES_WAIT = 8000 // ms for a note to arrive
const SLOW = 10000 // ms: a link-up this slow had a dial time out first

async function until(test, ms) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (test()) return true
    await sleep(20)
  }
  return test()
}

// ---- one peer (a child process) ----------------------------------------------------

function peer() {
  const Hyperswarm = need('hyperswarm')
  const HyperDHT = need('hyperdht')
  const dht = new HyperDHT({ bootstrap: JSON.parse(process.env.REPRO_BOOTSTRAP), host: '127.0.0.1', port: [0, 0] })
  const swarm = new Hyperswarm({ dht }) // network-safety: the loopback testnet's DHT above
  const me = swarm.keyPair.publicKey.toString('hex')
  const live = new Map() // remote key -> its open connections, oldest first
  let next = 1
  swarm.on('connection', (conn) => {
    const remote = conn.remotePublicKey.toString('hex')
    const id = next++
    live.set(remote, [...(live.get(remote) || []), conn])
    process.send({ ev: 'open', remote, id })
    conn.on('data', (data) => process.send({ ev: 'data', remote, text: data.toString() }))
    conn.on('error', () => {})
    conn.on('close', () => {
      live.set(remote, (live.get(remote) || []).filter((c) => c !== conn))
      process.send({ ev: 'close', remote, id })
    })
  })
  process.on('message', async (m) => {
    if (m.cmd === 'join') {
      // as the sidecar joins: announce and look up, then look up once more
      const session = swarm.join(Buffer.from(m.topic, 'hex'), { server: true, client: true })
      await session.flushed()
      await session.refresh()
    } else if (m.cmd === 'note') {
      for (const conns of live.values()) if (conns.length) conns[conns.length - 1].write(`${m.round} ${me}`)
    } else if (m.cmd === 'exit') {
      await swarm.destroy()
      process.exit(0)
    }
  })
  dht.ready().then(async () => {
    if (process.env.REPRO_PROBE) await dht._updateNetworkState(true)
    process.send({ ev: 'ready', key: me, firewalled: dht.firewalled })
  })
}

// ---- the rounds (the parent) --------------------------------------------------------

async function main() {
  const createTestnet = need('hyperdht/testnet')
  const version = need('hyperdht/package.json').version
  const peers = Number(peersArg || 4)
  const rounds = Number(roundsArg || 15)
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  let bad = 0
  let slow = 0
  for (let round = 0; round < rounds; round++) {
    const env = { ...process.env, REPRO_PEER: '1', REPRO_BOOTSTRAP: JSON.stringify(testnet.bootstrap) }
    if (probeArg === 'probe') env.REPRO_PROBE = '1'
    const kids = Array.from({ length: peers }, () => {
      const kid = { proc: fork(__filename, process.argv.slice(2), { env, execArgv: process.execArgv }) }
      Object.assign(kid, { key: null, firewalled: null, open: new Map(), got: [], events: 0 })
      kid.proc.on('message', (m) => {
        kid.events++
        if (m.ev === 'ready') Object.assign(kid, { key: m.key, firewalled: m.firewalled })
        else if (m.ev === 'open') kid.open.set(m.id, m.remote)
        else if (m.ev === 'close') kid.open.delete(m.id)
        else if (m.ev === 'data') kid.got.push(m)
      })
      return kid
    })
    await until(() => kids.every((k) => k.key), LINK_WAIT)
    const topic = crypto.randomBytes(32).toString('hex')
    for (const k of kids) k.proc.send({ cmd: 'join', topic })
    const linked = (p, q) => [...p.open.values()].includes(q.key)
    const started = Date.now()
    const all = await until(() => kids.every((p) => kids.every((q) => p === q || linked(p, q))), LINK_WAIT)
    const took = Date.now() - started
    // let Hyperswarm's duplicate resolution settle: no open or close for 1.5 s
    for (let before = -1, now = 0; before !== now; ) {
      before = now
      await sleep(1500)
      now = kids.reduce((sum, k) => sum + k.events, 0)
    }
    const problems = all ? [] : ['not every pair linked']
    for (const k of kids) k.proc.send({ cmd: 'note', round })
    for (const p of kids) {
      for (const q of kids) {
        if (p === q) continue
        const note = `${round} ${p.key}`
        if (await until(() => q.got.some((m) => m.remote === p.key && m.text === note), BYTES_WAIT)) continue
        const open = (a, b) => [...a.open.values()].filter((k) => k === b.key).length
        problems.push(`${p.key.slice(0, 6)} -> ${q.key.slice(0, 6)} lost (open: ${open(p, q)} / ${open(q, p)})`)
      }
    }
    if (problems.length) bad++
    else if (took > SLOW) slow++
    const firewalled = kids.filter((k) => k.firewalled).length
    process.stderr.write(
      `round ${round}: ${all ? `linked in ${took} ms` : 'NOT linked'}, ${firewalled} of ${peers} firewalled, ` +
        `${problems.length} problem(s) ${problems.slice(0, 3).join('; ')}\n`
    )
    for (const k of kids) k.proc.send({ cmd: 'exit' })
    await Promise.all(kids.map((k) => new Promise((resolve) => (k.proc.exitCode !== null ? resolve() : k.proc.once('exit', resolve)))))
  }
  await testnet.destroy()
  process.stdout.write(JSON.stringify({ hyperdht: version, peers, rounds, probe: probeArg === 'probe', bad, slow }) + '\n')
  process.exit(0)
}

if (process.env.REPRO_PEER) peer()
else main().catch((err) => {
  process.stderr.write(`repro: ${err.stack || err}\n`)
  process.exit(1)
})
