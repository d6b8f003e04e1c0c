"""Errors with a ``code`` that travels unchanged from the core to the page.

In the style of hyperdht's ``lib/errors.js``: one class, a constructor per
failure, callers branch on ``err.code``. ``name`` is the JavaScript error
class the page sees (``TypeError``, ``RangeError``, ``InvalidStateError``...).
"""

from __future__ import annotations


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
    def swarm_closed(cls) -> PeerSocketError:
        return cls("ERR_SWARM_CLOSED", "the swarm is closed", "InvalidStateError")

    @classmethod
    def socket_closed(cls) -> PeerSocketError:
        return cls("ERR_SOCKET_CLOSED", "the socket is closed", "InvalidStateError")

    @classmethod
    def no_such_socket(cls, peer_id: str) -> PeerSocketError:
        return cls("ERR_NO_SUCH_SOCKET", f"no socket to peer {peer_id} in this swarm", "NotFoundError")

    @classmethod
    def not_loopback(cls) -> PeerSocketError:
        return cls(
            "ERR_NOT_LOOPBACK",
            "setSessionData() is only valid on the loopback socket (swarm.getLoopback())",
            "TypeError",
        )

    @classmethod
    def too_large(cls, what: str, size: int, limit: int) -> PeerSocketError:
        return cls(
            "ERR_TOO_LARGE",
            f"{what} is {size} bytes encoded; the limit is {limit} bytes",
            "RangeError",
        )

    @classmethod
    def too_many(cls, what: str, limit: int) -> PeerSocketError:
        return cls("ERR_TOO_MANY", f"too many {what} (the limit is {limit})", "RangeError")

    @classmethod
    def core_closed(cls) -> PeerSocketError:
        return cls("ERR_CORE_CLOSED", "the swarm core is shut down", "InvalidStateError")
