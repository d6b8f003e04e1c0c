// A shared whiteboard with shared cursors on this origin's swarm
// (PeerSocket.joinSwarm() with no id). Strokes are sent as small segments to
// every peer, and on the loopback socket to this presence's other tabs.
//
// Tabs of one presence coordinate over the loopback socket: they greet each
// other, and the one with the smallest tab id (the leader) is the only one
// that sends the drawing so far to a newly connected peer or a new sibling tab.
//
//   ?identity=N   run as debug identity N
'use strict'

const COLORS = ['#1d2330', '#d93025', '#1e8e3e', '#3157d5', '#f29900', '#a142f4']
const MAX_SEGMENTS = 20000
const HISTORY_CHUNK = 2000
const HEARTBEAT_MS = 2000
const SIBLING_TIMEOUT_MS = 5000

const params = new URLSearchParams(location.search)
const identity = parseIdentity(params.get('identity'))
const tabId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

let swarm = null
let loopback = null
let color = COLORS[(identity ?? 0) % COLORS.length]
let segCounter = 0
const segments = [] // drawn so far, oldest first
const seen = new Set() // segment / clear ids already applied
const siblings = new Map() // tab id -> last heard (ms)
const peers = new Map() // socket -> cursor element
const listening = new WeakSet()

const $ = (sel) => document.querySelector(sel)
const canvas = $('#canvas')
const ctx = canvas.getContext('2d')

function parseIdentity (value) {
  if (value === null || value === '') return null
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : null
}

function shortId (id) { return typeof id === 'string' ? id.slice(0, 8) : '????????' }

function colorOf (id) {
  let h = 0
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  return `hsl(${h % 360} 70% 45%)`
}

function setState (state, text) {
  document.body.dataset.state = state
  $('#status').textContent = text
}

function fail (message, err) {
  if (err) console.error(message, err)
  document.body.dataset.error = err ? `${message}: ${err.message || err}` : message
  setState('error', document.body.dataset.error)
}

// --- validation of what peers send -------------------------------------------

const isUnit = (v) => typeof v === 'number' && v >= 0 && v <= 1
const isPoint = (p) => Array.isArray(p) && p.length === 2 && isUnit(p[0]) && isUnit(p[1])

function isSegment (s) {
  return s && typeof s === 'object' && typeof s.id === 'string' && s.id.length < 64 &&
    typeof s.c === 'string' && /^#[0-9a-f]{6}$/i.test(s.c) &&
    typeof s.w === 'number' && s.w >= 1 && s.w <= 24 && isPoint(s.a) && isPoint(s.b)
}

// --- drawing -------------------------------------------------------------------

function resize () {
  const ratio = window.devicePixelRatio || 1
  canvas.width = Math.max(1, Math.round(canvas.clientWidth * ratio))
  canvas.height = Math.max(1, Math.round(canvas.clientHeight * ratio))
  redraw()
}

function drawSegment (s) {
  const ratio = window.devicePixelRatio || 1
  ctx.strokeStyle = s.c
  ctx.lineWidth = s.w * ratio
  ctx.lineCap = 'round'
  ctx.beginPath()
  ctx.moveTo(s.a[0] * canvas.width, s.a[1] * canvas.height)
  ctx.lineTo(s.b[0] * canvas.width, s.b[1] * canvas.height)
  ctx.stroke()
}

function redraw () {
  ctx.clearRect(0, 0, canvas.width, canvas.height)
  for (const s of segments) drawSegment(s)
}

function applySegment (s) {
  if (!isSegment(s) || seen.has(s.id)) return false
  seen.add(s.id)
  segments.push(s)
  if (segments.length > MAX_SEGMENTS) {
    segments.splice(0, segments.length - MAX_SEGMENTS)
    redraw()
  } else {
    drawSegment(s)
  }
  document.body.dataset.segments = String(segments.length)
  return true
}

function applyClear (id) {
  if (typeof id !== 'string' || seen.has(id)) return false
  seen.add(id)
  segments.length = 0
  document.body.dataset.segments = '0'
  redraw()
  return true
}

// --- sending -------------------------------------------------------------------

function peerSockets () {
  return swarm ? swarm.getSockets().filter((s) => !s.loopback && s.readyState === 'open') : []
}

function report (promise) {
  Promise.resolve(promise).catch((err) => console.warn('write failed:', err))
}

function toPeers (msg) {
  for (const s of peerSockets()) report(s.write(msg))
}

function toSiblings (msg) {
  if (loopback) report(loopback.write({ ...msg, tab: tabId }))
}

function broadcast (msg) {
  toPeers(msg)
  toSiblings(msg)
}

function sendHistory (write) {
  for (let i = 0; i < segments.length; i += HISTORY_CHUNK) {
    write(segments.slice(i, i + HISTORY_CHUNK))
  }
}

// --- tabs of this presence (loopback) ------------------------------------------------

function isLeader () {
  const now = Date.now()
  for (const [tab, last] of siblings) {
    if (now - last > SIBLING_TIMEOUT_MS) siblings.delete(tab)
  }
  return [...siblings.keys()].every((tab) => tabId < tab)
}

function showLeader () {
  const n = siblings.size
  $('#leader').textContent = n === 0
    ? 'This is the only tab of this presence.'
    : `${n + 1} tabs share this presence; this tab ${isLeader() ? 'is' : 'is not'} the leader.`
}

function onSiblingMessage (msg) {
  if (!msg || typeof msg !== 'object' || typeof msg.tab !== 'string' || msg.tab === tabId) return
  switch (msg.type) {
    case 'hello':
    case 'sync-request': {
      const isNew = !siblings.has(msg.tab)
      siblings.set(msg.tab, Date.now())
      if (isNew) toSiblings({ type: 'hello' })
      if (msg.type === 'sync-request' && isLeader()) {
        sendHistory((segs) => toSiblings({ type: 'history', to: msg.tab, segs }))
      }
      break
    }
    case 'bye': siblings.delete(msg.tab); break
    case 'seg': applySegment(msg.seg); break
    case 'clear': applyClear(msg.id); break
    case 'history':
      if (msg.to === tabId && Array.isArray(msg.segs)) msg.segs.forEach(applySegment)
      break
  }
  showLeader()
}

async function listenLoopback () {
  try {
    for await (const msg of loopback.readable) onSiblingMessage(msg)
  } catch (err) {
    console.warn('loopback reader stopped:', err)
  }
}

// --- peers ---------------------------------------------------------------------

// "#2 · 8f3e2f9e": the identity a peer published as session data, and its id.
function peerLabel (socket) {
  const data = socket.getSessionData()
  const ident = data && typeof data === 'object' && Number.isInteger(data.identity) ? `#${data.identity} · ` : ''
  return ident + shortId(socket.info.id)
}

function renderPeers () {
  const list = $('#peers')
  list.replaceChildren()
  $('#peer-count').textContent = String(peers.size)
  document.body.dataset.peers = String(peers.size)
  for (const socket of peers.keys()) {
    const li = document.createElement('li')
    const dot = document.createElement('span')
    dot.className = 'dot'
    dot.style.background = colorOf(socket.info.id)
    li.append(dot, peerLabel(socket))
    list.append(li)
  }
}

function moveCursor (socket, x, y) {
  const el = peers.get(socket)
  if (!el) return
  if (!isUnit(x) || !isUnit(y)) {
    el.hidden = true
    return
  }
  el.hidden = false
  el.style.left = `${x * 100}%`
  el.style.top = `${y * 100}%`
}

function onPeerMessage (socket, msg) {
  if (!msg || typeof msg !== 'object') return
  switch (msg.type) {
    case 'seg': applySegment(msg.seg); break
    case 'clear': applyClear(msg.id); break
    case 'cursor': moveCursor(socket, msg.x, msg.y); break
    case 'history': if (Array.isArray(msg.segs)) msg.segs.forEach(applySegment); break
  }
}

async function listen (socket) {
  if (socket.loopback || listening.has(socket)) return
  listening.add(socket)
  const cursor = document.createElement('div')
  cursor.className = 'cursor'
  cursor.hidden = true
  cursor.style.color = colorOf(socket.info.id)
  cursor.textContent = peerLabel(socket)
  $('#cursors').append(cursor)
  peers.set(socket, cursor)
  renderPeers()
  socket.addEventListener('session-data', () => {
    cursor.textContent = peerLabel(socket)
    renderPeers()
  })
  socket.addEventListener('close', () => {
    cursor.remove()
    peers.delete(socket)
    renderPeers()
  })
  if (isLeader()) sendHistory((segs) => report(socket.write({ type: 'history', segs })))
  try {
    for await (const msg of socket.readable) onPeerMessage(socket, msg)
  } catch (err) {
    console.warn('reading from', shortId(socket.info.id), 'failed:', err)
  }
}

// --- pointer input ---------------------------------------------------------------

function pointOf (evt) {
  const r = canvas.getBoundingClientRect()
  const clamp = (v) => Math.min(1, Math.max(0, v))
  return [clamp((evt.clientX - r.left) / r.width), clamp((evt.clientY - r.top) / r.height)]
}

function setupInput () {
  let last = null
  let cursorQueued = null
  canvas.addEventListener('pointerdown', (evt) => {
    try { canvas.setPointerCapture(evt.pointerId) } catch (err) { /* synthetic or gone pointer */ }
    last = pointOf(evt)
  })
  canvas.addEventListener('pointermove', (evt) => {
    const p = pointOf(evt)
    if (cursorQueued === null) {
      requestAnimationFrame(() => {
        toPeers({ type: 'cursor', x: cursorQueued[0], y: cursorQueued[1] })
        cursorQueued = null
      })
    }
    cursorQueued = p
    if (!last) return
    const seg = { id: `${tabId}:${++segCounter}`, c: color, w: Number($('#width').value), a: last, b: p }
    applySegment(seg)
    broadcast({ type: 'seg', seg })
    last = p
  })
  const end = () => { last = null }
  canvas.addEventListener('pointerup', end)
  canvas.addEventListener('pointercancel', end)
  canvas.addEventListener('pointerleave', () => toPeers({ type: 'cursor', x: null, y: null }))
  $('#clear').addEventListener('click', () => {
    const id = `${tabId}:clear:${++segCounter}`
    applyClear(id)
    broadcast({ type: 'clear', id })
  })
}

function setupSwatches () {
  const box = $('#swatches')
  for (const c of COLORS) {
    const b = document.createElement('button')
    b.type = 'button'
    b.className = 'swatch'
    b.style.background = c
    b.title = c
    b.setAttribute('aria-pressed', String(c === color))
    b.addEventListener('click', () => {
      color = c
      for (const other of box.children) other.setAttribute('aria-pressed', String(other === b))
    })
    box.append(b)
  }
}

// --- start ---------------------------------------------------------------------

async function start () {
  setupSwatches()
  resize()
  new ResizeObserver(resize).observe(canvas)
  if (typeof window.PeerSocket === 'undefined') {
    fail('The PeerSocket API is not available in this browser')
    return
  }
  setState('joining', 'Joining this origin\'s swarm…')
  try {
    if (identity !== null) PeerSocket.setDebugIdentity(identity)
    swarm = await PeerSocket.joinSwarm()
  } catch (err) {
    fail('Could not join the swarm', err)
    return
  }
  loopback = swarm.getLoopback()
  Promise.resolve()
    .then(() => loopback.setSessionData({ identity }))
    .catch((err) => console.warn('could not publish session data:', err))
  swarm.addEventListener('connection', ({ socket }) => { listen(socket) })
  swarm.addEventListener('close', () => setState('closed', 'Left the swarm'))
  for (const socket of swarm.getSockets()) listen(socket)
  listenLoopback()
  toSiblings({ type: 'sync-request' })
  setInterval(() => { toSiblings({ type: 'hello' }); showLeader() }, HEARTBEAT_MS)
  window.addEventListener('pagehide', () => toSiblings({ type: 'bye' }))
  setupInput()
  $('#clear').disabled = false
  showLeader()
  const who = identity === null ? '' : ` as #${identity}`
  setState('joined', `Drawing with everyone on ${location.origin}${who} (id ${shortId(loopback.info.id)})`)
}

start()
