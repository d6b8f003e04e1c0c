// TypeScript declarations for Peerbrowser's page API: PeerSocket, PeerSocketSwarm,
// PeerSocketInfo (the runtime is js/peersocket.js; the reference is docs/API.md).
//
// Copy this file into your project (or list it in tsconfig.json "files") and compile
// with the DOM libraries: "lib": ["ES2022", "DOM", "DOM.Iterable", "DOM.AsyncIterable"]
// (DOM.AsyncIterable for `for await (const msg of socket.readable)`).
//
// tests/bridge/test_api_declarations.py walks the API in a real page and fails on any
// member declared here that the runtime lacks, or the other way round. Members whose
// names start with "_" are the runtime's internals and are not part of the API.

/**
 * A value `write()` and `setSessionData()` accept: null, booleans, numbers, strings,
 * arrays, plain objects and binary (`Uint8Array`, `ArrayBuffer`), nested at most 64
 * levels. Anything else (undefined, functions, symbols, BigInt, Date, Map, other typed
 * arrays, class instances, cycles, arrays with holes) rejects with `TypeError`
 * (`ERR_UNSUPPORTED_VALUE`). Declare message shapes with `type`, not `interface`
 * (an interface has no index signature, so TypeScript will not take it for an object here).
 */
type PeerSocketValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | ArrayBuffer
  | readonly PeerSocketValue[]
  | { readonly [key: string]: PeerSocketValue };

/**
 * A value as it arrives (`message` events, `readable`, `getSessionData()`): what was
 * sent, with binary always a `Uint8Array`. A 64-bit integer beyond 2^53 (possible only
 * from programs outside the browser) arrives as a `bigint`.
 */
type PeerSocketData =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PeerSocketData[]
  | { [key: string]: PeerSocketData };

/** Every `code` a PeerSocket error can have (docs/API.md, "Errors"). */
type PeerSocketErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_UNSUPPORTED_VALUE'
  | 'ERR_TOO_LARGE'
  | 'ERR_TOO_MANY'
  | 'ERR_BUFFER_FULL'
  | 'ERR_OPAQUE_ORIGIN'
  | 'ERR_PERMISSION_DENIED'
  | 'ERR_DEBUG_IDENTITY_LOCKED'
  | 'ERR_NOT_LOOPBACK'
  | 'ERR_LOOPBACK_CLOSE'
  | 'ERR_SOCKET_CLOSED'
  | 'ERR_SWARM_CLOSED'
  | 'ERR_NO_SUCH_SOCKET'
  | 'ERR_INVALID_HANDLE'
  | 'ERR_CHANNEL_FLOOD'
  | 'ERR_NO_DOCUMENT'
  | 'ERR_UNAVAILABLE'
  | 'ERR_CORE_CLOSED'
  | 'ERR_BAD_MESSAGE'
  | 'ERR_UNKNOWN';

/**
 * What a rejected promise or an `error` event carries: a `TypeError`, `RangeError`,
 * `SyntaxError` or `DOMException` (`InvalidStateError`, `SecurityError`...) with a `code`.
 */
interface PeerSocketError extends Error {
  readonly code: PeerSocketErrorCode;
}

/**
 * Close codes: 1000 closed by `close()` (either side), 1001 the peer left the swarm or
 * its device shut down (or the user disconnected this site), 1002 the peer's device broke
 * the protocol, 1006 the link to the peer's device was lost, 1008 the user revoked this
 * site's permission to connect to peers.
 */
interface PeerSocketCloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

interface PeerSocketCloseEvent extends Event, PeerSocketCloseInfo {}

interface PeerSocketMessageEvent extends Event {
  /** The message, as it arrived. */
  readonly message: PeerSocketData;
  /** The same value, named as on a WebSocket `MessageEvent`. */
  readonly data: PeerSocketData;
}

interface PeerSocketSessionDataEvent extends Event {
  /** The peer's new session data. */
  readonly sessionData: PeerSocketData | null;
}

interface PeerSocketErrorEvent extends Event {
  readonly error: PeerSocketError;
}

interface PeerSocketConnectionEvent extends Event {
  /** The socket to the peer that joined (or was there before this tab joined). */
  readonly socket: PeerSocket;
}

type PeerSocketReadyState = 'open' | 'closing' | 'closed';
type PeerSocketSwarmReadyState = 'joined' | 'closing' | 'closed';
type PeerSocketSwarmType = 'origin' | 'open';

interface PeerSocketEventMap {
  open: Event;
  message: PeerSocketMessageEvent;
  'session-data': PeerSocketSessionDataEvent;
  close: PeerSocketCloseEvent;
  error: PeerSocketErrorEvent;
  bufferedamountlow: Event;
}

interface PeerSocketSwarmEventMap {
  connection: PeerSocketConnectionEvent;
  close: PeerSocketCloseEvent;
  error: PeerSocketErrorEvent;
}

/** Where a socket leads: the peer presence's id, and its device's address when known. */
interface PeerSocketInfo {
  /** The peer presence's public key (64 hex characters); the page's own on the loopback socket. */
  readonly id: string;
  /** The peer device's address, `null` for peers on this device (or when the browser
   * hides addresses from pages: `--peer-addresses hide`). */
  readonly host: string | null;
  readonly port: number | null;
}

/** A socket to one peer presence of a swarm, or the loopback socket (`swarm.getLoopback()`). */
interface PeerSocket extends EventTarget {
  /** `true` for the presence's own socket, `swarm.getLoopback()`. */
  readonly loopback: boolean;
  readonly info: PeerSocketInfo;
  readonly swarm: PeerSocketSwarm;
  readonly readyState: PeerSocketReadyState;
  /** Bytes written on this socket that the peer has not consumed yet. */
  readonly bufferedAmount: number;
  /** `bufferedamountlow` fires when `bufferedAmount` falls to this many bytes (default 0). */
  bufferedAmountLowThreshold: number;
  /** Resolves with the socket itself (it is open when you get it). */
  readonly opened: Promise<PeerSocket>;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<PeerSocketCloseInfo>;
  /** The messages that arrive after it is first read; `for await` works. */
  readonly readable: ReadableStream<PeerSocketData>;
  /** Each chunk is `write()`n; with `readable` the socket fits `pipeThrough()`. */
  readonly writable: WritableStream<PeerSocketValue>;
  /** `writable`, as the proposal spells it. */
  readonly writeable: WritableStream<PeerSocketValue>;

  /** The peer's session data, or `null`. */
  getSessionData(): PeerSocketData | null;
  /**
   * Publishes this presence's session data (at most 16 KiB encoded) to every peer of
   * the swarm. Loopback socket only: throws `TypeError` (`ERR_NOT_LOOPBACK`) otherwise.
   */
  setSessionData(data: PeerSocketValue): Promise<void>;
  /** Sends one message (at most 4 MiB encoded); resolves when it is on its way. */
  write(msg: PeerSocketValue): Promise<void>;
  /** Closes the socket in every tab of the presence; the peer gets `close` (1000, `reason`). */
  close(reason?: string): Promise<void>;

  onopen: ((this: PeerSocket, ev: Event) => any) | null;
  onmessage: ((this: PeerSocket, ev: PeerSocketMessageEvent) => any) | null;
  onsessiondata: ((this: PeerSocket, ev: PeerSocketSessionDataEvent) => any) | null;
  onclose: ((this: PeerSocket, ev: PeerSocketCloseEvent) => any) | null;
  onerror: ((this: PeerSocket, ev: PeerSocketErrorEvent) => any) | null;
  onbufferedamountlow: ((this: PeerSocket, ev: Event) => any) | null;

  addEventListener<K extends keyof PeerSocketEventMap>(
    type: K,
    listener: (this: PeerSocket, ev: PeerSocketEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions
  ): void;
  removeEventListener<K extends keyof PeerSocketEventMap>(
    type: K,
    listener: (this: PeerSocket, ev: PeerSocketEventMap[K]) => any,
    options?: boolean | EventListenerOptions
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions
  ): void;
}

/** A swarm this tab joined: one socket to every other presence in it. */
interface PeerSocketSwarm extends EventTarget {
  readonly type: PeerSocketSwarmType;
  /** The open swarm's id; `undefined` for an origin swarm. */
  readonly id: string | undefined;
  readonly readyState: PeerSocketSwarmReadyState;
  /** `true` once closed. */
  readonly closed: boolean;

  /** This presence's own socket: `write()` reaches its other tabs, `setSessionData()` every peer. */
  getLoopback(): PeerSocket;
  /** The open socket to peer `id` (or the loopback socket for the page's own id), else `null`. */
  getSocket(id: string): PeerSocket | null;
  /** Every open socket to a peer (not the loopback). */
  getSockets(): PeerSocket[];
  /** Closes this swarm object and its sockets for this tab. */
  close(): Promise<void>;

  onconnection: ((this: PeerSocketSwarm, ev: PeerSocketConnectionEvent) => any) | null;
  onclose: ((this: PeerSocketSwarm, ev: PeerSocketCloseEvent) => any) | null;
  onerror: ((this: PeerSocketSwarm, ev: PeerSocketErrorEvent) => any) | null;

  addEventListener<K extends keyof PeerSocketSwarmEventMap>(
    type: K,
    listener: (this: PeerSocketSwarm, ev: PeerSocketSwarmEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions
  ): void;
  removeEventListener<K extends keyof PeerSocketSwarmEventMap>(
    type: K,
    listener: (this: PeerSocketSwarm, ev: PeerSocketSwarmEventMap[K]) => any,
    options?: boolean | EventListenerOptions
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions
  ): void;
}

interface PeerSocketJoinOptions {
  /** The open swarm to join (at most 1 KiB of UTF-8); none: the page's origin swarm. */
  id?: string | null;
}

interface PeerSocketConstructor {
  readonly prototype: PeerSocket;
  /** Sockets come from swarms: `new PeerSocket()` throws `TypeError`. */
  new (mustNotBeCalled: never): never;
  /**
   * Joins an open swarm (`{id}`) or the page's origin swarm; `connection` events follow.
   * Needs the origin's permission to connect to peers: it may wait for the user's answer,
   * and rejects with `NotAllowedError` (`ERR_PERMISSION_DENIED`) when refused.
   */
  joinSwarm(opts?: PeerSocketJoinOptions | null): Promise<PeerSocketSwarm>;
  /** Runs this document as debug identity `n` (0 to 2^31-1); before any other PeerSocket call. */
  setDebugIdentity(n: number): void;
  /** 4 MiB: the largest message, encoded. */
  readonly MAX_MESSAGE_SIZE: number;
  /** 16 KiB: the largest session data, encoded. */
  readonly MAX_SESSION_DATA_SIZE: number;
}

interface PeerSocketSwarmConstructor {
  readonly prototype: PeerSocketSwarm;
  /** Swarms come from `PeerSocket.joinSwarm()`: `new PeerSocketSwarm()` throws `TypeError`. */
  new (mustNotBeCalled: never): never;
}

interface PeerSocketInfoConstructor {
  readonly prototype: PeerSocketInfo;
  new (id: string, host?: string | null, port?: number | null): PeerSocketInfo;
}

declare var PeerSocket: PeerSocketConstructor;
declare var PeerSocketSwarm: PeerSocketSwarmConstructor;
declare var PeerSocketInfo: PeerSocketInfoConstructor;
