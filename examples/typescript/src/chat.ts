// A small PeerSocket chat in TypeScript, type-checked against js/peersocket.d.ts.
//
//   npm run check          tsc --noEmit (what ./run-tests does)
//   npm run build          dist/chat.js, loaded by index.html
//   python3 -m http.server 8080 --bind 127.0.0.1     then open http://localhost:8080/?identity=1
//                                                    and http://localhost:8080/?identity=2 in Peerbrowser

/** The messages this app sends: a `type` alias (an interface would not be a PeerSocketValue). */
type ChatMessage = { type: 'text'; text: string } | { type: 'typing' };
type Profile = { name: string; identity: number | null };

const ROOM = 'typescript-chat'
const MAX_TEXT = 2000

const params = new URLSearchParams(location.search)
const identity = params.has('identity') ? Number(params.get('identity')) : null
const names = new Map<string, string>() // peer id -> nickname

function show (line: string): void {
  const li = document.createElement('li')
  li.textContent = line
  document.querySelector('#messages')?.append(li)
}

/** A received value narrowed to a chat message, or null. */
function asChat (data: PeerSocketData): ChatMessage | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || data instanceof Uint8Array) return null
  if (data['type'] === 'text' && typeof data['text'] === 'string') return { type: 'text', text: data['text'] }
  if (data['type'] === 'typing') return { type: 'typing' }
  return null
}

function nameOf (socket: PeerSocket): string {
  return names.get(socket.info.id) ?? socket.info.id.slice(0, 8)
}

function readProfile (socket: PeerSocket, data: PeerSocketData | null): void {
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && !(data instanceof Uint8Array)) {
    const name = data['name']
    if (typeof name === 'string') names.set(socket.info.id, name.slice(0, 40))
  }
}

async function listen (socket: PeerSocket): Promise<void> {
  readProfile(socket, socket.getSessionData())
  socket.addEventListener('session-data', (evt) => readProfile(socket, evt.sessionData))
  socket.onclose = ({ code, reason, wasClean }) => {
    show(`${nameOf(socket)} left (${code}${reason ? `: ${reason}` : ''}${wasClean ? '' : ', link lost'})`)
  }
  socket.onerror = (evt) => console.warn(nameOf(socket), evt.error.code, evt.error.message)
  show(`${nameOf(socket)} joined${socket.info.host === null ? '' : ` from ${socket.info.host}:${socket.info.port}`}`)
  for await (const data of socket.readable) {
    const msg = asChat(data)
    if (msg?.type === 'text') show(`${nameOf(socket)}: ${msg.text.slice(0, MAX_TEXT)}`)
  }
}

async function send (swarm: PeerSocketSwarm, text: string): Promise<void> {
  const msg: ChatMessage = { type: 'text', text }
  const results = await Promise.allSettled(swarm.getSockets().map((s) => s.write(msg)))
  for (const r of results) {
    if (r.status === 'rejected') {
      const err = r.reason as PeerSocketError
      switch (err.code) {
        case 'ERR_SOCKET_CLOSED': break // the peer left meanwhile
        case 'ERR_BUFFER_FULL': show('a peer is not reading: message dropped'); break
        default: show(`could not send (${err.code}): ${err.message}`)
      }
    }
  }
}

/** Backpressure: resolves once the socket's unsent bytes fall to `low`. */
function drained (socket: PeerSocket, low: number): Promise<void> {
  if (socket.bufferedAmount <= low) return Promise.resolve()
  socket.bufferedAmountLowThreshold = low
  return new Promise((resolve) => socket.addEventListener('bufferedamountlow', () => resolve(), { once: true }))
}

/** Echo every text back in upper case: a socket is a {readable, writable} pair. */
function shout (socket: PeerSocket): Promise<void> {
  const upper = new TransformStream<PeerSocketData, PeerSocketValue>({
    transform (data, controller) {
      const msg = asChat(data)
      if (msg?.type === 'text') controller.enqueue({ type: 'text', text: msg.text.toUpperCase() })
    }
  })
  return socket.readable.pipeThrough(upper).pipeTo(socket.writable)
}

async function main (): Promise<void> {
  if (!('PeerSocket' in window)) {
    show('This page needs a browser with the PeerSocket API (Peerbrowser).')
    return
  }
  if (identity !== null && Number.isInteger(identity)) PeerSocket.setDebugIdentity(identity)
  let swarm: PeerSocketSwarm
  try {
    swarm = await PeerSocket.joinSwarm({ id: ROOM })
  } catch (e) {
    const err = e as PeerSocketError
    show(err.code === 'ERR_TOO_MANY' ? 'too many swarms open' : `could not join: ${err.message}`)
    return
  }
  // Listen before the first await: `connection` events (one per peer already there)
  // are dispatched right after joinSwarm() resolves.
  swarm.addEventListener('connection', ({ socket }) => { void listen(socket) })
  swarm.onclose = (evt) => show(`left the room (${evt.code})`)
  const me = swarm.getLoopback()
  const profile: Profile = { name: params.get('name') ?? `peer ${me.info.id.slice(0, 4)}`, identity }
  show(`joined ${swarm.type} swarm ${swarm.id ?? ''} as ${profile.name} (${swarm.readyState})`)
  await me.setSessionData(profile)

  const form = document.querySelector('form')
  const input = document.querySelector<HTMLInputElement>('#message')
  form?.addEventListener('submit', (evt) => {
    evt.preventDefault()
    if (input === null || !input.value.trim()) return
    void send(swarm, input.value.trim().slice(0, MAX_TEXT))
    show(`${profile.name}: ${input.value.trim()}`)
    input.value = ''
  })
  if (params.has('shout')) {
    swarm.addEventListener('connection', async ({ socket }) => {
      await drained(socket, 64 * 1024)
      await shout(socket)
    })
  }
  const binary = new Uint8Array([1, 2, 3])
  const sizes: number[] = [PeerSocket.MAX_MESSAGE_SIZE, PeerSocket.MAX_SESSION_DATA_SIZE, binary.byteLength]
  console.debug('limits', sizes, swarm.getSocket(me.info.id) === me, (await me.opened) === me)
}

void main()
