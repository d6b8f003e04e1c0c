"""Regression: devices on one host that join at the same moment end with a working link
per pair, bytes flowing both ways.

The race this guards against (hyperdht 6.33 and later, reproduced with 6.34.0; details
and a reproduction without Peerbrowser in docs/SIDECAR.md): when two peers that count as
firewalled show the DHT the same address, as peers on one host do, the listener prepares
a holepunch while the dialler races a direct "LAN" connection against that holepunch. The
dialler's holepunch probe makes the listener analyse its NAT; on a small DHT that is
inconclusive, and the listener aborts and destroys its end of the connection, while the
dialler's direct path has already opened its end. The dialler then writes into nothing
(half-open) until it times out and retries, 13 s or more later; when both dial at once,
each holds a dead half. The sidecar keeps same-host peers off that path: a DHT bound to
loopback counts as reachable, so peers connect to it directly.

Each round starts fresh devices (their own sidecar processes, as browsers are) on the
loopback testnet, joins them all to one topic at once, and checks every pair both ways.
With the workaround removed (and the sidecar's reachability probe, the other thing that
keeps peers off that path), this test failed in each of 4 runs, at the hang guard; with
it, it passes in 10 to 30 s."""

from __future__ import annotations

import asyncio
import itertools
import secrets

from .conftest import needs_sidecar

pytestmark = needs_sidecar

ROUNDS = 10
DEVICES = 5


async def test_simultaneous_joins_on_one_host_link_every_pair_both_ways(make_device):
    for _ in range(ROUNDS):
        topic = secrets.token_bytes(32)
        devices = await asyncio.gather(*(make_device() for _ in range(DEVICES)))
        for engine, _ in devices:
            engine.join(topic)  # all at once
        keys = [engine.public_key for engine, _ in devices]
        for (_, sink), key in zip(devices, keys, strict=True):
            others = [k for k in keys if k != key]
            await sink.until(lambda s=sink, o=others: all(s.live(k) for k in o), "a link to every peer")
        # every pair: each side writes on its newest live link, the other side reads it
        for (a, sa), (b, sb) in itertools.combinations(devices, 2):
            note_ab, note_ba = secrets.token_bytes(8), secrets.token_bytes(8)
            sa.live(b.public_key)[-1].transport.write(note_ab)
            sb.live(a.public_key)[-1].transport.write(note_ba)
            await sb.until(
                lambda s=sb, k=a.public_key, n=note_ab: any(n in link.data for link in s.live(k)),
                "a's bytes at b",
            )
            await sa.until(
                lambda s=sa, k=b.public_key, n=note_ba: any(n in link.data for link in s.live(k)),
                "b's bytes at a",
            )
        await asyncio.gather(*(engine.close() for engine, _ in devices))
