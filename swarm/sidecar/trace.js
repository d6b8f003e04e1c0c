'use strict'
// Opt-in diagnostics on stderr: PEERBROWSER_SIDECAR_TRACE=1 prints one line per event that
// decides whether and when two devices link (reachability, LAN devices, DHT nodes, lookups,
// dials, connections), with the wall-clock time, so the traces of two devices on one
// machine line up. The driver keeps the sidecar's last stderr lines for its error
// messages; the benchmarks and tests print them when a link does not form.

const ON = process.env.PEERBROWSER_SIDECAR_TRACE === '1'

function short(key) {
  return key ? Buffer.from(key).toString('hex').slice(0, 8) : '-'
}

function trace(...parts) {
  if (!ON) return
  const time = new Date().toISOString().slice(11, 23)
  process.stderr.write(`trace ${time} ${parts.join(' ')}\n`)
}

module.exports = { trace, short, TRACE: ON }
