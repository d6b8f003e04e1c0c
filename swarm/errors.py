"""Errors with a ``code`` that travels unchanged from the core to the page.

In the style of hyperdht's ``lib/errors.js``: one class, a constructor per
failure, callers branch on ``err.code``. ``name`` is the JavaScript error
class the page sees (``TypeError``, ``RangeError``, ``InvalidStateError``...).
Every failure the core or the bridge reports to a page is made here (the codes
are listed in docs/API.md).
"""

from __future__ import annotations

import math


class PeerSocketError(Exception):
    """A failure a page or a caller can act on."""

    def __init__(self, code: str, message: str, name: str = "Error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.name = name

    def __repr__(self) -> str:
        return f"PeerSocketError({self.code!r}, {self.message!r})"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "name": self.name}

    # --- constructors, one per failure -----------------------------------

    @classmethod
    def invalid_argument(cls, message: str) -> PeerSocketError:
        return cls("ERR_INVALID_ARGUMENT", message, "TypeError")

    @classmethod
    def opaque_origin(cls, origin: str) -> PeerSocketError:
        return cls(
            "ERR_OPAQUE_ORIGIN",
            f"this page has an opaque origin ({origin or 'null'}): it has no origin swarm; "
            "serve it from http(s):// or join an open swarm with {id}",
            "SecurityError",
        )

    @classmethod
    def identity_locked(cls) -> PeerSocketError:
        return cls(
            "ERR_DEBUG_IDENTITY_LOCKED",
            "PeerSocket.setDebugIdentity() must be called before any other PeerSocket call",
            "InvalidStateError",
        )

    @classmethod
    def permission_denied(cls, origin: str, why: str) -> PeerSocketError:
        who = "a page with an opaque origin" if origin == "null" else origin
        return cls("ERR_PERMISSION_DENIED", f"{who} may not connect to peers: {why}", "NotAllowedError")

    @classmethod
    def swarm_closed(cls) -> PeerSocketError:
        return cls("ERR_SWARM_CLOSED", "the swarm is closed", "InvalidStateError")

    @classmethod
    def socket_closed(cls) -> PeerSocketError:
        return cls("ERR_SOCKET_CLOSED", "the socket is closed", "InvalidStateError")

    @classmethod
    def no_such_socket(cls, peer_id: str) -> PeerSocketError:
        return cls("ERR_NO_SUCH_SOCKET", f"no socket to peer {peer_id} in this swarm", "NotFoundError")

    @classmethod
    def invalid_handle(cls) -> PeerSocketError:
        return cls(
            "ERR_INVALID_HANDLE",
            "no such swarm in this page (closed, or never joined here)",
            "InvalidStateError",
        )

    @classmethod
    def loopback_close(cls) -> PeerSocketError:
        return cls(
            "ERR_LOOPBACK_CLOSE",
            "the loopback socket lives as long as the swarm: close the swarm instead",
            "InvalidAccessError",
        )

    @classmethod
    def buffer_full(cls, inflight: int) -> PeerSocketError:
        return cls(
            "ERR_BUFFER_FULL",
            f"{inflight} bytes written to this socket are still unread by the peer: "
            "wait for write() to resolve (or for bufferedamountlow) before writing more",
            "OperationError",
        )

    @classmethod
    def too_large(cls, what: str, size: int, limit: int) -> PeerSocketError:
        return cls(
            "ERR_TOO_LARGE",
            f"{what} is {size} bytes encoded; the limit is {limit} bytes",
            "RangeError",
        )

    @classmethod
    def reason_too_long(cls, limit: int) -> PeerSocketError:
        return cls(
            "ERR_TOO_LARGE", f"close(reason): reason must be at most {limit} bytes of UTF-8", "SyntaxError"
        )

    @classmethod
    def too_fast(cls, what: str, bound: str, wait: float) -> PeerSocketError:
        seconds = max(0.1, math.ceil(wait * 10) / 10)
        return cls("ERR_TOO_MANY", f"{what} too fast: {bound}; try again in {seconds:.1f} s", "RangeError")

    @classmethod
    def too_many(cls, what: str, limit: int) -> PeerSocketError:
        return cls("ERR_TOO_MANY", f"too many {what} (the limit is {limit})", "RangeError")

    @classmethod
    def no_document(cls) -> PeerSocketError:
        return cls(
            "ERR_NO_DOCUMENT", "this call came from a document the page has left", "InvalidStateError"
        )

    @classmethod
    def unavailable(cls) -> PeerSocketError:
        return cls("ERR_UNAVAILABLE", "PeerSocket is not available in this browser", "NotSupportedError")

    @classmethod
    def internal(cls) -> PeerSocketError:
        return cls("ERR_INTERNAL", "internal error in the browser")

    @classmethod
    def core_closed(cls) -> PeerSocketError:
        return cls("ERR_CORE_CLOSED", "the swarm core is shut down", "InvalidStateError")
