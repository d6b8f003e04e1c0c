// Test harness loaded by the test pages: records what a page sees.
window.T = {
  events: [],
  swarms: {},
  record (socket) {
    const id = socket.info.id;
    socket.addEventListener('message', (e) => T.events.push(['message', id, T.plain(e.message)]));
    socket.addEventListener('close', (e) => T.events.push(['close', id, e.code, e.wasClean]));
    socket.addEventListener('session-data', (e) => T.events.push(['session', id, T.plain(e.sessionData)]));
  },
  async join (id, name = 'main') {
    const swarm = await PeerSocket.joinSwarm(id === undefined ? undefined : { id });
    T.swarms[name] = swarm;
    swarm.addEventListener('connection', ({ socket }) => {
      T.events.push(['connection', name, socket.info.id]);
      T.record(socket);
    });
    T.record(swarm.getLoopback());
    swarm.addEventListener('close', () => T.events.push(['swarm-close', name]));
    return { self: swarm.getLoopback().info.id, type: swarm.type, id: swarm.id === undefined ? null : swarm.id };
  },
  peers (name = 'main') {
    return T.swarms[name].getSockets().map((s) => s.info.id).sort();
  },
  socket (peer, name = 'main') { return T.swarms[name].getSocket(peer); },
  of (kind) { return T.events.filter((e) => e[0] === kind); },
  // JSON-safe view of a received value (binary as {bin: [...]}, -0 and NaN spelled out)
  plain (v) {
    if (v instanceof Uint8Array) return { bin: Array.from(v) };
    if (typeof v === 'number' && Object.is(v, -0)) return '-0';
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (Array.isArray(v)) return v.map(T.plain);
    if (v && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v)) o[k] = T.plain(v[k]);
      return o;
    }
    return v;
  }
};
