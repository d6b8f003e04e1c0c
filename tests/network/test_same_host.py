"""Regression: devices on one host that join at the same moment end with one working
link per pair, bytes flowing both ways.

hyperdht was pinned to 6.32.0 for a "same-host race in 6.33-6.34 that leaves
connections half-open" (bytes flow one way only); 6.33 added a LAN shortcut that races
the holepunch whenever both peers show the same address to the DHT, as every peer on
one host does. This checks what a user relies on after the upgrade: simultaneous joins
on one host, several rounds with fresh devices, every pair linked once and both ways."""

from __future__ import annotations

import asyncio
import itertools
import secrets

from .conftest import needs_sidecar

pytestmark = needs_sidecar

ROUNDS = 3
DEVICES = 4


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
        for engine, _ in devices:
            await engine.close()
