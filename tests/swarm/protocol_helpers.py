"""Helpers to drive two LinkProtocol sides, or one side and hand-made frames."""

from __future__ import annotations

from nacl.signing import SigningKey

from swarm.budget import LinkBudget, SharedPace
from swarm.framing import encode_frame
from swarm.protocol import Frame, LinkProtocol, PeerMessage, PeerMessages


class Key:
    def __init__(self) -> None:
        self.sk = SigningKey.generate()
        self.id = bytes(self.sk.verify_key)

    def sign(self, message: bytes) -> bytes:
        return self.sk.sign(message).signature


def exchange(a: LinkProtocol, b: LinkProtocol):
    """Move bytes both ways until both sides are quiet; return each side's events."""
    ea, eb = [], []
    while True:
        da, db = a.data_to_send(), b.data_to_send()
        if not da and not db:
            break
        b.receive_data(da)
        a.receive_data(db)
        ea += a.events_received()
        eb += b.events_received()
    return ea + a.events_received(), eb + b.events_received()


def opened_pair():
    a, b = LinkProtocol(), LinkProtocol()
    exchange(a, b)
    return a, b


def frame(*fields) -> bytes:
    return encode_frame(list(fields))


def hello(nonce: bytes = b"\x01" * 32, version: int = 1) -> bytes:
    """A peer's HELLO: version 1 alone, or (``version=2``) offering 1 and 2."""
    return frame(Frame.HELLO, 1 if version == 1 else list(range(1, version + 1)), nonce)


def fresh(
    opened: bool, paced: bool = False, all_links: SharedPace | None = None, version: int = 1
) -> LinkProtocol:
    """One side of a link with nothing pending: new, or after the peer's HELLO (which
    offers protocol versions up to ``version``).
    ``paced``: it reads membership frames at ``limits.MEMBERSHIP_PACE`` at most (and
    within ``all_links``, the pace a core's links share)."""
    p = LinkProtocol(budget=LinkBudget(paced=paced, all_links=all_links))
    if opened:
        p.receive_data(hello(version=version))
        p.events_received()
    p.data_to_send()
    return p


def message_payloads(events: list) -> list[bytes]:
    """Every message the events carry, in order (a MESSAGE's one, a MESSAGES frame's run)."""
    out: list[bytes] = []
    for e in events:
        if isinstance(e, PeerMessage):
            out.append(e.payload)
        elif isinstance(e, PeerMessages):
            out += e.payloads
    return out
