"""Swarm topics: 32-byte unkeyed BLAKE2b of a prefixed name.

Byte-compatible with Node's ``sodium.crypto_generichash(out32, Buffer.from(str))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from swarm.errors import PeerSocketError
from swarm.limits import MAX_SWARM_ID

TOPIC_LEN = 32
SwarmKind = Literal["open", "origin"]


def hash_topic(name: str) -> bytes:
    digest: bytes = blake2b(name.encode("utf-8"), digest_size=TOPIC_LEN, encoder=RawEncoder)
    return digest


def open_topic(swarm_id: str) -> bytes:
    return hash_topic(f"peersocket-open-{swarm_id}")


def origin_topic(origin: str) -> bytes:
    return hash_topic(f"peersocket-origin-{origin}")


@dataclass(frozen=True)
class SwarmKey:
    """Which swarm: an open one by name, or an origin's own."""

    kind: SwarmKind
    name: str  # the open swarm's id, or the origin

    @property
    def topic(self) -> bytes:
        return open_topic(self.name) if self.kind == "open" else origin_topic(self.name)

    @classmethod
    def open(cls, swarm_id: object) -> SwarmKey:
        if not isinstance(swarm_id, str):
            raise PeerSocketError.invalid_argument(
                f"joinSwarm({{id}}): id must be a string, not {type(swarm_id).__name__}"
            )
        if not swarm_id:
            raise PeerSocketError.invalid_argument("joinSwarm({id}): id must not be empty")
        if len(swarm_id.encode("utf-8", "surrogatepass")) > MAX_SWARM_ID:
            raise PeerSocketError.invalid_argument(
                f"joinSwarm({{id}}): id must be at most {MAX_SWARM_ID} bytes of UTF-8"
            )
        try:
            swarm_id.encode("utf-8")
        except UnicodeEncodeError:
            raise PeerSocketError.invalid_argument(
                "joinSwarm({id}): id must be valid Unicode (no lone surrogates)"
            ) from None
        return cls("open", swarm_id)

    @classmethod
    def for_origin(cls, origin: str) -> SwarmKey:
        if not is_tuple_origin(origin):
            raise PeerSocketError.opaque_origin(origin)
        return cls("origin", origin)


def is_tuple_origin(origin: str) -> bool:
    """True for a serialized scheme://host[:port] origin, False for 'null' / opaque ones."""
    if not origin or origin == "null":
        return False
    scheme, sep, rest = origin.partition("://")
    return bool(sep and scheme and rest) and "/" not in rest
