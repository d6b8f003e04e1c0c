"""The link protocol alone: small messages read and written per second.

    .venv/bin/python -m bench.protocol_micro [N]

No I/O: one LinkProtocol writes N messages on one socket, another reads them in
64 KiB chunks (as a transport delivers them); once on a version-1 link (a MESSAGE
frame each), once on a version-2 link (runs of them in MESSAGES frames), and once
more there written as a page's ``W`` ops run (``send_messages``, 256 at a time). The
numbers are this machine's, for comparing changes to swarm/protocol.py and
swarm/framing.py on the same machine.
"""

from __future__ import annotations

import sys
import time

from nacl.signing import SigningKey

from swarm.protocol import LinkProtocol, PeerMessage, PeerMessages
from swarm.topics import open_topic

PAYLOAD = b"\x82\xa4type\xa4text\xa4text\xabhello world"  # {type: 'text', text: 'hello world'}


def run(n: int, versions: tuple[int, ...], op: int = 1) -> None:
    topic = open_topic("bench")
    ka, kb = SigningKey.generate(), SigningKey.generate()
    ida, idb = bytes(ka.verify_key), bytes(kb.verify_key)
    a, b = LinkProtocol(versions=versions), LinkProtocol()
    for p in (a, b):
        p.add_topic(topic)
    a.join(topic, ida, lambda m: ka.sign(m).signature, None)
    b.join(topic, idb, lambda m: kb.sign(m).signature, None)
    for _ in range(4):
        da, db = a.data_to_send(), b.data_to_send()
        b.receive_data(da)
        a.receive_data(db)
    a.events_received()
    b.events_received()
    ops = [PAYLOAD] * op
    t0 = time.perf_counter()
    if op == 1:
        for _ in range(n):
            a.send_message(topic, ida, idb, PAYLOAD)
    else:
        for _ in range(n // op):
            a.send_messages(topic, ida, idb, ops)
    data = a.data_to_send()
    t1 = time.perf_counter()
    for i in range(0, len(data), 65536):
        b.receive_data(data[i : i + 65536])
    events = b.events_received()
    t2 = time.perf_counter()
    got = sum(
        1 if isinstance(e, PeerMessage) else len(e.payloads)
        for e in events
        if isinstance(e, PeerMessage | PeerMessages)
    )
    assert got == n and a.version == max(versions)
    how = f"version {a.version}" + (f", {op} a call" if op > 1 else "")
    write, read = n / (t1 - t0), n / (t2 - t1)
    print(f"{how}: write {write:,.0f} msgs/s   read {read:,.0f} msgs/s   ({len(events):,} frames)")


def main(n: int) -> None:
    for versions in ((1,), (1, 2)):
        run(n, versions)
    run(n - n % 256, (1, 2), op=256)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
