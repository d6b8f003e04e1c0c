// Events on sockets and swarms: dispatching them, and the on<event> handler attributes.

// `onmessage`, `onclose`... on `proto` for each event name ('session-data' gives
// `onsessiondata`), as WebSocket has them: one handler each, beside addEventListener.
export function defineHandlers (proto, names) {
  for (const name of names) {
    const key = `_on_${name}`;
    Object.defineProperty(proto, `on${name.replace('-', '')}`, {
      get () { return this[key] || null; },
      set (fn) {
        if (this[key]) this.removeEventListener(name, this[key]);
        this[key] = typeof fn === 'function' ? fn : null;
        if (this[key]) this.addEventListener(name, this[key]);
      },
      configurable: true,
      enumerable: true
    });
  }
}

// Dispatch an Event of `type` on `target`, with `props` as read-only event properties.
export function fire (target, type, props) {
  const evt = new Event(type);
  if (props) {
    for (const k of Object.keys(props)) Object.defineProperty(evt, k, { value: props[k], enumerable: true });
  }
  target.dispatchEvent(evt);
}


// The `message` event: `message` (and `data`, as a WebSocket's message event has it),
// read-only. Getters on the class rather than properties defined on each event: one is
// made for every message, and this costs the page half as much
// (python -m bench.profile.js_read_costs).
export class PeerMessageEvent extends Event {
  #message;
  constructor (message) {
    super('message');
    this.#message = message;
  }

  get message () { return this.#message; }
  get data () { return this.#message; }
}
