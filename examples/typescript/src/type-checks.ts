// What the declarations must refuse (each line below the marker must not compile;
// `tsc` fails on a marker whose line compiles). Not part of the app.

export async function refused (swarm: PeerSocketSwarm, socket: PeerSocket): Promise<void> {
  // @ts-expect-error sockets and swarms come from joinSwarm(), not from a constructor
  new PeerSocket()
  // @ts-expect-error
  new PeerSocketSwarm()
  // @ts-expect-error a function is not a message
  await socket.write(() => 1)
  // @ts-expect-error undefined is not a message
  await socket.write({ text: undefined })
  // @ts-expect-error nor is a Date
  await socket.write(new Date())
  // @ts-expect-error nor a BigInt
  await socket.write(1n)
  // @ts-expect-error the swarm id is a string
  await PeerSocket.joinSwarm({ id: 42 })
  // @ts-expect-error readyState is read-only
  socket.readyState = 'closed'
  // @ts-expect-error so is info
  socket.info = new PeerSocketInfo('x')
  // @ts-expect-error and the info's fields
  socket.info.id = 'someone else'
  // @ts-expect-error the limits are constants
  PeerSocket.MAX_MESSAGE_SIZE = 1
  // @ts-expect-error no such error code
  const code: PeerSocketErrorCode = 'ERR_NOPE'
  // @ts-expect-error a swarm has no write()
  swarm.write('hi')
  // @ts-expect-error connection events carry a socket, not a message
  swarm.addEventListener('connection', (evt) => evt.message)
  // @ts-expect-error message events carry a message, not a socket
  socket.addEventListener('message', (evt) => evt.socket)
  // @ts-expect-error onmessage gets a message event
  socket.onmessage = (evt: PeerSocketConnectionEvent) => evt
  // @ts-expect-error a received value may be null: narrow it first
  socket.getSessionData().name
  // @ts-expect-error the close reason is a string
  await socket.close(1000)
  // @ts-expect-error setDebugIdentity takes a number
  PeerSocket.setDebugIdentity('2')
  void code
}

export function accepted (socket: PeerSocket, evt: PeerSocketMessageEvent, target: EventTarget): PeerSocketValue[] {
  // a received value may hold a bigint (from programs outside the browser), which cannot
  // be sent: narrow before forwarding
  const data = evt.data
  const forward: PeerSocketValue[] = typeof data === 'string' ? [data] : []
  const info: PeerSocketInfo = socket.info
  if (target instanceof PeerSocket) forward.push(target.info.id)
  if (target instanceof PeerSocketSwarm) forward.push(target.getSockets().length)
  socket.bufferedAmountLowThreshold = 1024
  socket.onmessage = null
  const closed: Promise<PeerSocketCloseInfo> = socket.closed
  void closed
  void info
  return [null, true, 1.5, 'x', new Uint8Array(2), new ArrayBuffer(2), [1, [2]], { a: { b: [null] } }, ...forward]
}
