"""Coverage-guided fuzzing with atheris (libFuzzer): ``./run-fuzz`` runs it after the
hypothesis properties.

    python -m tests.fuzz.atheris_targets TARGET [libFuzzer args...] [CORPUS_DIR ...]

When a corpus directory is given (the first one is where libFuzzer keeps what it
learns), the target's kept seeds (``SEEDS``) are read after it.

Targets:
  link    bytes a remote device sends, fed to one side of the link protocol (fresh, or
          after a valid HELLO so that every frame type is reachable), in pieces whose
          sizes the input decides
  frames  well-formed msgpack frames built from the input: every frame type with fields
          of every shape, to a side that has said HELLO, or to one that already shares
          a topic with the sender and has a joined presence of it (so MESSAGE, CREDIT,
          CLOSE and the rest reach their handlers)
  batch   what a page sends over QWebChannel: the bridge's batch parser and the
          argument readers behind every op

A failure is an exception escaping, or a broken invariant: more than one LinkClosed, a
closed link that never said why, more bytes held than the protocol's bounds allow.
libFuzzer saves the input that failed (``-artifact_prefix``); add it to
tests/swarm/corpus/ once fixed.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["swarm", "bridge"]):
    from bridge import wire
    from swarm import limits
    from swarm.errors import PeerSocketError
    from swarm.framing import encode_frame
    from swarm.protocol import Frame, LinkClosed, LinkProtocol, LinkState

from tests.swarm.protocol_helpers import Key, exchange, fresh, opened_pair


def _joined_side() -> LinkProtocol:
    """b after a's topic (tnum 0), presence (pnum 0) and join, and one message."""
    a, b = opened_pair()
    ka, kb = Key(), Key()
    topic = b"\x07" * 32
    a.add_topic(topic)
    b.add_topic(topic)
    a.join(topic, ka.id, ka.sign, b"alice")
    b.join(topic, kb.id, kb.sign, None)
    exchange(a, b)
    a.send_message(topic, ka.id, kb.id, b"hi")
    exchange(a, b)
    b.data_to_send()
    b.events_received()
    return b


JOINED = _joined_side()


def check(p: LinkProtocol) -> None:
    closes = [e for e in p.events_received() if isinstance(e, LinkClosed)]
    if len(closes) > 1:
        raise AssertionError(f"{len(closes)} LinkClosed events")
    if p.state is LinkState.CLOSED and not closes:
        # closed before this check: the close was reported by an earlier check
        return
    if closes and not (closes[0].by_peer or closes[0].reason):
        raise AssertionError("a link closed by us without a reason")
    if p.buffered > limits.MAX_FRAME + 8:
        raise AssertionError(f"{p.buffered} bytes held, over one frame")


def link(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    p = fresh(fdp.ConsumeBool())
    while fdp.remaining_bytes():
        p.receive_data(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 4096)))
        check(p)
        if p.state is LinkState.CLOSED:
            break


def _field(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> Any:
    kind = fdp.ConsumeIntInRange(0, 9 if depth < 2 else 8)
    if kind == 0:
        return fdp.ConsumeIntInRange(0, 4)
    if kind == 1:
        return fdp.ConsumeIntInRange(-(2**63), 2**64 - 1)
    if kind == 2:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 80))
    if kind == 3:
        return fdp.ConsumeBytes(32)
    if kind == 4:
        return fdp.ConsumeBytes(64)
    if kind == 5:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
    if kind == 6:
        return None
    if kind == 7:
        return fdp.ConsumeBool()
    if kind == 8:
        return fdp.ConsumeFloat()
    return [_field(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]


FRAME_TYPES = [int(f) for f in Frame] + [len(Frame), 255]


def frames(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    p = copy.deepcopy(JOINED) if fdp.ConsumeBool() else fresh(True)
    while fdp.remaining_bytes():
        kind = FRAME_TYPES[fdp.ConsumeIntInRange(0, len(FRAME_TYPES) - 1)]
        fields = [_field(fdp) for _ in range(fdp.ConsumeIntInRange(0, 6))]
        try:
            encoded = encode_frame([kind, *fields])
        except (ValueError, OverflowError, TypeError):
            continue  # not encodable: nothing a peer could send
        p.receive_data(encoded)
        check(p)
        if p.state is LinkState.CLOSED:
            break


def batch(data: bytes) -> None:
    # the input is the batch's text itself, so the seeds are real batches
    text = data.decode("utf-8", errors="replace")
    try:
        ops = wire.parse_batch(text)
    except PeerSocketError:
        return  # refused whole, with a reason
    for op in ops:
        if isinstance(op, wire.BadOp):
            continue
        # the readers page.py applies to each op's arguments: they accept or raise a
        # PeerSocketError, nothing else
        for value in op.args:
            for reader in (
                wire.handle_id,
                wire.peer_id,
                wire.identity,
                wire.message_payload,
                wire.session_payload,
                wire.reason,
            ):
                try:
                    reader(value)
                except PeerSocketError:
                    pass


TARGETS = {"link": link, "frames": frames, "batch": batch}
TESTS = Path(__file__).resolve().parents[1]
#: Kept inputs each target starts from (read-only: never the first corpus directory).
SEEDS = {"link": TESTS / "swarm" / "corpus", "batch": TESTS / "fuzz" / "corpus" / "batch"}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(
            f"usage: python -m tests.fuzz.atheris_targets {{{','.join(TARGETS)}}} [libFuzzer args] [CORPUS_DIR ...]"
        )
    name = sys.argv.pop(1)
    if name in SEEDS and any(not arg.startswith("-") for arg in sys.argv[1:]):
        sys.argv.append(str(SEEDS[name]))
    atheris.Setup(sys.argv, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
