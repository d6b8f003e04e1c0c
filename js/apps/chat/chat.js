// The proposal's chat example as a small app: joins the open swarm
// 'pauls-chat-room', shows who is here (nicknames from session data) and
// exchanges {type: 'text', text} messages with every peer.
//
//   ?identity=N   run as debug identity N (PeerSocket.setDebugIdentity)
//   ?name=NAME    nickname to start with
//
// Every line shown is also appended to #transcript as "[#N] name: text".
'use strict'

const ROOM = 'pauls-chat-room'
const MAX_TEXT = 2000
const NAMES = ['anon', 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan']

const params = new URLSearchParams(location.search)
const identity = parseIdentity(params.get('identity'))
// A random id per tab, so a tab ignores its own echo on the loopback socket.
const tabId = Math.random().toString(36).slice(2)

let swarm = null
let loopback = null
let myName = (params.get('name') || NAMES[identity ?? 0] || `peer${identity}`).slice(0, 40)
const peers = new Map() // socket -> {name, identity}
const listening = new WeakSet()

const $ = (sel) => document.querySelector(sel)

function parseIdentity (value) {
  if (value === null || value === '') return null
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : null
}

function shortId (id) {
  return typeof id === 'string' ? id.slice(0, 8) : '????????'
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

// --- rendering -------------------------------------------------------------

// Returns the list item, so a system line can be updated later.
function addLine ({ who, badge, text, mine = false, system = false }) {
  const li = document.createElement('li')
  if (mine) li.classList.add('mine')
  if (system) li.classList.add('system')
  if (!system) {
    const label = document.createElement('span')
    label.className = 'who'
    label.textContent = `${who} ${badge}`
    li.append(label)
  }
  li.append(document.createTextNode(text))
  const list = $('#messages')
  list.append(li)
  list.scrollTop = list.scrollHeight
  if (!system) $('#transcript').textContent += `[${badge}] ${who}: ${text}\n`
  return li
}

function badgeOf (ident) {
  return Number.isInteger(ident) ? `#${ident}` : '#?'
}

function describe (socket) {
  const data = peers.get(socket) || {}
  return { who: data.name || shortId(socket.info.id), badge: badgeOf(data.identity) }
}

function renderPeers () {
  const list = $('#peers')
  list.replaceChildren()
  const open = [...peers.keys()]
  $('#peer-count').textContent = String(open.length)
  document.body.dataset.peers = String(open.length)
  if (open.length === 0) {
    const li = document.createElement('li')
    li.className = 'empty'
    li.textContent = 'Nobody else here yet. Open another tab as a different identity.'
    list.append(li)
    return
  }
  for (const socket of open) {
    const { who, badge } = describe(socket)
    const li = document.createElement('li')
    const name = document.createElement('span')
    name.className = 'name'
    name.textContent = `${who} `
    const where = document.createElement('span')
    where.className = 'where'
    const { id, host, port } = socket.info
    where.textContent = `${shortId(id)}${host ? ` @ ${host}:${port}` : ' (this device)'}`
    li.append(name, badge, where)
    list.append(li)
  }
}

// --- peers -----------------------------------------------------------------

function readSessionData (socket, data) {
  const entry = peers.get(socket)
  if (!entry) return
  if (data && typeof data === 'object') {
    if (typeof data.name === 'string') entry.name = data.name.slice(0, 40)
    if (Number.isInteger(data.identity)) entry.identity = data.identity
  }
  if (entry.joinedLine) {
    const { who, badge } = describe(socket)
    entry.joinedLine.textContent = `${who} ${badge} joined`
  }
  renderPeers()
}

function isText (msg) {
  return msg && typeof msg === 'object' && msg.type === 'text' && typeof msg.text === 'string'
}

async function listen (socket) {
  if (socket.loopback || listening.has(socket)) return
  listening.add(socket)
  peers.set(socket, {})
  readSessionData(socket, socket.getSessionData())
  socket.addEventListener('session-data', (evt) => readSessionData(socket, evt.sessionData))
  socket.addEventListener('close', () => {
    if (!peers.has(socket)) return
    const { who, badge } = describe(socket)
    addLine({ text: `${who} ${badge} left`, system: true })
    peers.delete(socket)
    renderPeers()
  })
  const { who, badge } = describe(socket)
  peers.get(socket).joinedLine = addLine({ text: `${who} ${badge} joined`, system: true })
  try {
    for await (const msg of socket.readable) {
      if (isText(msg)) addLine({ ...describe(socket), text: msg.text.slice(0, MAX_TEXT) })
    }
  } catch (err) {
    console.warn('reading from', shortId(socket.info.id), 'failed:', err)
  }
}

// Lines this presence sent from its other tabs arrive on the loopback socket.
async function listenLoopback () {
  try {
    for await (const msg of loopback.readable) {
      if (isText(msg) && msg.tab !== tabId) {
        addLine({ who: myName, badge: badgeOf(identity), text: msg.text.slice(0, MAX_TEXT), mine: true })
      }
    }
  } catch (err) {
    console.warn('loopback reader stopped:', err)
  }
}

// --- sending ---------------------------------------------------------------

async function send (text) {
  addLine({ who: myName, badge: badgeOf(identity), text, mine: true })
  const writes = swarm.getSockets()
    .filter((s) => !s.loopback && s.readyState === 'open')
    .map((s) => s.write({ type: 'text', text }))
  writes.push(loopback.write({ type: 'text', text, tab: tabId }))
  const results = await Promise.allSettled(writes)
  for (const r of results) {
    if (r.status === 'rejected') console.warn('write failed:', r.reason)
  }
}

// setSessionData may return a promise or throw; both are reported, neither is fatal.
function publishName () {
  try {
    Promise.resolve(loopback.setSessionData({ name: myName, identity }))
      .catch((err) => console.warn('could not publish nickname:', err))
  } catch (err) {
    console.warn('could not publish nickname:', err)
  }
}

// --- start -----------------------------------------------------------------

async function start () {
  $('#nickname').value = myName
  $('#me-badge').textContent = badgeOf(identity)
  if (typeof window.PeerSocket === 'undefined') {
    fail('The PeerSocket API is not available in this browser')
    return
  }
  setState('joining', `Joining ${ROOM}…`)
  try {
    if (identity !== null) PeerSocket.setDebugIdentity(identity)
    swarm = await PeerSocket.joinSwarm({ id: ROOM })
  } catch (err) {
    fail('Could not join the chat room', err)
    return
  }
  loopback = swarm.getLoopback()
  $('#me-id').textContent = `id ${shortId(loopback.info.id)}`
  swarm.addEventListener('connection', ({ socket }) => { listen(socket) })
  swarm.addEventListener('close', () => setState('closed', 'Left the chat room'))
  swarm.addEventListener('error', (evt) => console.warn('swarm error:', evt.message || evt.error))
  for (const socket of swarm.getSockets()) listen(socket)
  listenLoopback()
  publishName()
  renderPeers()

  $('#nickname').addEventListener('change', () => {
    myName = $('#nickname').value.trim().slice(0, 40) || myName
    $('#nickname').value = myName
    publishName()
  })
  $('#compose').addEventListener('submit', (evt) => {
    evt.preventDefault()
    const input = $('#message')
    const text = input.value.trim().slice(0, MAX_TEXT)
    if (!text) return
    input.value = ''
    send(text)
  })
  for (const el of document.querySelectorAll('#compose input, #compose button')) el.disabled = false
  $('#message').focus()
  setState('joined', `In ${ROOM} as ${myName} ${badgeOf(identity)}`)
}

start()
