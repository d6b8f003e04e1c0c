"""Backpressure from the core down to the transport (docs/SIDECAR.md, "Backpressure").

The driver acknowledges the bytes the core has taken; the sidecar stops reading a
connection whose unacknowledged bytes pass its bound. The peer is not held back by the
transport (a UDX stream has no receive window), so what it keeps sending piles up in the
stopped connection, and past the sidecar's hold limit the connection is destroyed.
"""

from __future__ import annotations

import asyncio
import secrets

from swarm.hyperswarm import HyperswarmEngine

from .conftest import HANG_GUARD, FakeLink, needs_sidecar
from .test_engine import linked

pytestmark = needs_sidecar

MiB = 1024 * 1024
#: The sidecar's bounds (swarm/sidecar/sidecar.js).
ACK_HIGH = 4 * MiB
HOLD_LIMIT = 32 * MiB
#: Python coalesces writes into frames of at most this, and each arrives as one piece.
WRITE_CHUNK = 4 * MiB
#: Past this the sidecar's young generation grew for traffic (sidecar.js, YOUNG_GROWN).
YOUNG_GROWN = 4 * MiB


async def stats_of(engine: HyperswarmEngine, link: FakeLink) -> dict[str, object]:
    stats = await engine.sidecar_stats()
    conn: dict[str, object] = stats["conns"].get(str(link.transport.conn_id)) or {}
    return {**stats, "conn": conn}


async def test_a_core_that_stops_taking_data_stops_the_sidecar_reading_and_loses_nothing(make_device, topic):
    reader, sink_r = await make_device()
    writer, sink_w = await make_device()
    other, sink_o = await make_device()
    for engine in (reader, writer, other):
        engine.join(topic)
    link_r, link_w = await linked((reader, sink_r), (writer, sink_w))
    link_ro, link_o = await linked((reader, sink_r), (other, sink_o))

    link_r.transport.pause_reading()
    chunks = [secrets.token_bytes(MiB) for _ in range(24)]
    for chunk in chunks:
        link_w.transport.write(chunk)
    total = sum(map(len, chunks))

    # the reader's sidecar stopped reading that connection: what it sent up and nobody
    # acknowledged stays within its bound, and more than that waits in the connection
    # (how much of the rest has reached it yet is up to the transport)
    async def stopped() -> dict[str, object] | None:
        s = await stats_of(reader, link_r)
        conn = s["conn"]
        assert isinstance(conn, dict)
        return s if conn and not conn["reading"] and conn["unacked"] + conn["held"] > ACK_HIGH else None

    async def until_stopped() -> dict[str, object]:
        while (s := await stopped()) is None:  # each look waits for the sidecar's answer
            pass
        return s

    stats = await asyncio.wait_for(until_stopped(), HANG_GUARD)
    conn = stats["conn"]
    assert isinstance(conn, dict)
    assert conn["unacked"] <= ACK_HIGH + WRITE_CHUNK
    assert not link_r.data  # the core took nothing

    # meanwhile another device's bytes still reach the core
    word = secrets.token_bytes(512 * 1024)
    link_o.transport.write(word)
    await sink_r.until(lambda: bytes(link_ro.data) == word, "the other device's bytes")

    link_r.transport.resume_reading()
    await sink_r.until(lambda: len(link_r.data) >= total, "all 24 MiB once the core reads again")
    assert bytes(link_r.data) == b"".join(chunks)  # in order, none lost, none twice
    settled = await stats_of(reader, link_r)
    assert settled["unacked"] == 0 and settled["conn"] == {"unacked": 0, "held": 0, "reading": True}
    assert link_r.alive and link_ro.alive


async def test_a_peer_that_keeps_writing_while_the_core_takes_nothing_is_cut(make_device, topic):
    reader, sink_r = await make_device()
    writer, sink_w = await make_device()
    other, sink_o = await make_device()
    for engine in (reader, writer, other):
        engine.join(topic)
    link_r, link_w = await linked((reader, sink_r), (writer, sink_w))
    link_ro, link_o = await linked((reader, sink_r), (other, sink_o))

    link_r.transport.pause_reading()
    for _ in range(48):  # the hold limit, plus what may wait unacknowledged, plus 8 MiB
        link_w.transport.write(secrets.token_bytes(MiB))

    await sink_r.until(lambda: link_r.lost, "the flooding connection to be cut")
    code, reason = link_r.lost
    assert code == "ERR_PEER_OVERRUN", reason
    assert "while this device was not reading" in reason
    # what the sidecar held for it is gone with it; the other link is untouched
    stats = await reader.sidecar_stats()
    assert stats["unacked"] == 0
    assert str(link_r.transport.conn_id) not in stats["conns"]
    word = secrets.token_bytes(1024)
    link_o.transport.write(word)
    await sink_r.until(lambda: bytes(link_ro.data) == word, "the other device's bytes")
    assert link_ro.alive

    # and the Buffers it held are let go by the full GCs the sidecar runs after a cut
    # (0.25 s and 3 s after it: the first may come while the connection's last reads
    # still hold some): it gets back to a fraction of the hold limit (V8 alone would
    # keep them for minutes)
    async def let_go() -> dict[str, object]:
        while (s := await reader.sidecar_stats())["arrayBuffers"] >= HOLD_LIMIT / 4:  # each look waits for the answer
            pass
        return s

    await asyncio.wait_for(let_go(), HANG_GUARD)


async def test_after_heavy_traffic_the_sidecar_gives_its_heap_back(make_device, topic):
    """A flood that passes through grows V8's young generation (its semi-spaces, up to
    32 MiB), and a plain full GC leaves it grown. Once the sidecar has read nothing for
    a while, it runs a collection that shrinks it (docs/SIDECAR.md, "Memory")."""
    reader, sink_r = await make_device()
    writer, sink_w = await make_device()
    for engine in (reader, writer):
        engine.join(topic)
    link_r, link_w = await linked((reader, sink_r), (writer, sink_w))
    before = await reader.sidecar_stats()

    total = 96 * MiB
    grown = before
    for sent in range(MiB, total + MiB, MiB):  # the core reads all of it: it passes through the sidecar
        link_w.transport.write(secrets.token_bytes(MiB))
        behind = sent - 8 * MiB
        await sink_r.until(lambda b=behind: len(link_r.data) >= b, "the reader keeping up")
        stats = await reader.sidecar_stats()
        grown = stats if stats["young"] > grown["young"] else grown
    await sink_r.until(lambda: len(link_r.data) == total, "every byte read")
    assert grown["young"] > YOUNG_GROWN, grown  # the flood grew it (else nothing to show)

    async def shrunk() -> dict[str, object]:
        while (s := await reader.sidecar_stats())["young"] > YOUNG_GROWN:  # each look waits for the answer
            pass
        return s

    after = await asyncio.wait_for(shrunk(), HANG_GUARD)
    assert after["reductions"] > before["reductions"]
    assert after["heapTotal"] < grown["heapTotal"]
    assert link_r.alive and link_w.alive  # the link stays up: only memory changed
    word = secrets.token_bytes(1024)
    link_w.transport.write(word)
    await sink_r.until(lambda: bytes(link_r.data[-1024:]) == word, "bytes after the collection")
