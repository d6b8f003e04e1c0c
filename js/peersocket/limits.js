// The page API's documented bounds (docs/API.md), in one place.

// A message once encoded (PeerSocket.MAX_MESSAGE_SIZE): it must fit one Hyperswarm frame.
export const MAX_MESSAGE = 4 * 1024 * 1024;
// Session data once encoded (PeerSocket.MAX_SESSION_DATA_SIZE): it goes to every peer.
export const MAX_SESSION_DATA = 16 * 1024;
// Arrays and objects nested deeper than this cannot be sent.
export const MAX_DEPTH = 64;
// Flow control: a socket sends while less than WINDOW bytes are unread by the peer (one
// message always fits), and queues at most MAX_QUEUED bytes more.
export const WINDOW = 1024 * 1024;
export const MAX_QUEUED = 16 * 1024 * 1024;
