/*
 * PeerSocket: peer-to-peer sockets between web apps, found through Hyperswarm topics.
 * API reference: docs/API.md.
 *
 * The entry of the script Peerbrowser injects into every top-level page at document
 * creation, after Qt's qwebchannel.js: js/build.mjs bundles this module and the ones it
 * imports into js/peersocket.js, one function scope the page cannot reach into. Only
 * PeerSocket, PeerSocketSwarm and PeerSocketInfo are visible to the page, on window.
 */

import { channel, openChannel } from './channel.js';
import { describe, makeError } from './errors.js';
import { MAX_MESSAGE, MAX_SESSION_DATA } from './limits.js';
import { PeerSocket, PeerSocketInfo, SOCKET } from './socket.js';
import { PeerSocketSwarm } from './swarm.js';

Object.defineProperty(PeerSocket, 'joinSwarm', {
  value: function joinSwarm (opts) {
    channel.used = true;
    if (opts !== undefined && opts !== null && typeof opts !== 'object') {
      return Promise.reject(makeError('TypeError', 'joinSwarm(opts): opts must be an object like {id: "room"}', 'ERR_INVALID_ARGUMENT'));
    }
    const id = opts && opts.id !== undefined ? opts.id : null;
    if (id !== null && typeof id !== 'string') {
      return Promise.reject(makeError('TypeError', `joinSwarm({id}): id must be a string, not ${describe(id)}`, 'ERR_INVALID_ARGUMENT'));
    }
    return channel.callThen('join', (result) => {
      const swarm = new PeerSocketSwarm(SOCKET, result);
      channel.swarms.set(result.handle, swarm);
      swarm._start();
      return swarm;
    }, id);
  },
  enumerable: true
});

Object.defineProperty(PeerSocket, 'setDebugIdentity', {
  value: function setDebugIdentity (n) {
    if (channel.used) {
      throw makeError('InvalidStateError', 'PeerSocket.setDebugIdentity() must be called before any other PeerSocket call', 'ERR_DEBUG_IDENTITY_LOCKED');
    }
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
      throw makeError('TypeError', 'setDebugIdentity(n): n must be an integer from 0 to 2147483647', 'ERR_INVALID_ARGUMENT');
    }
    channel.call('identity', n).catch((err) => console.error('PeerSocket.setDebugIdentity:', err.message));
  },
  enumerable: true
});

Object.defineProperty(PeerSocket, 'MAX_MESSAGE_SIZE', { value: MAX_MESSAGE, enumerable: true });
Object.defineProperty(PeerSocket, 'MAX_SESSION_DATA_SIZE', { value: MAX_SESSION_DATA, enumerable: true });

// Once per document: a second copy of this script (injected twice) leaves the first alone.
if (!window.PeerSocket) {
  openChannel();
  for (const [name, value] of [['PeerSocket', PeerSocket], ['PeerSocketSwarm', PeerSocketSwarm], ['PeerSocketInfo', PeerSocketInfo]]) {
    Object.defineProperty(window, name, { value, writable: false, enumerable: false, configurable: false });
  }
}
