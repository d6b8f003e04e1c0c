"""HyperswarmEngine against a local testnet: two or more sidecar processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal

from swarm.hyperswarm import HyperswarmEngine

from .conftest import Device, FakeLink, FakeSink, needs_sidecar

pytestmark = needs_sidecar


def link_to(sink: FakeSink, engine: HyperswarmEngine) -> FakeLink | None:
    """The newest live link to ``engine`` (Hyperswarm may replace a link once)."""
    assert engine.public_key is not None
    live = sink.live(engine.public_key)
    return live[-1] if live else None


async def linked(a: Device, b: Device) -> tuple[FakeLink, FakeLink]:
    """Wait for a link between a and b that carries bytes both ways; return both ends."""
    (ea, sa), (eb, sb) = a, b
    while True:
        la = await sa.until(lambda: link_to(sa, eb), "a linked to b")
        lb = await sb.until(lambda: link_to(sb, ea), "b linked to a")
        token = secrets.token_bytes(8)
        la.transport.write(token)
        lb.transport.write(token)
        await sa.until(lambda la=la, t=token: la.lost or t in la.data, "a token back")
        await sb.until(lambda lb=lb, t=token: lb.lost or t in lb.data, "a token across")
        if la.alive and lb.alive and la.data.endswith(token) and lb.data.endswith(token):
            la.data.clear()
            lb.data.clear()
            return la, lb


async def test_two_engines_connect_once(make_device, topic):
    a, sink_a = await make_device()
    b, sink_b = await make_device()
    assert a.state == b.state == "ready"
    assert a.public_key and b.public_key and a.public_key != b.public_key
    assert a.info["host"] == b.info["host"] == "127.0.0.1"

    a.join(topic)
    b.join(topic)
    link_a, link_b = await linked((a, sink_a), (b, sink_b))

    assert len(sink_a.live()) == 1 and len(sink_b.live()) == 1
    assert link_a.transport.remote_key == b.public_key
    assert link_b.transport.remote_key == a.public_key
    assert link_a.transport.remote_address[0] == "127.0.0.1"
    assert link_b.transport.remote_address[0] == "127.0.0.1"
    assert link_a.transport.initiator != link_b.transport.initiator


async def test_the_sidecar_runs_below_the_browser_in_the_cpu_queue(make_device):
    """A flood's decryption in the sidecar must not take the CPU from the pages: the
    sidecar lowers its priority by ``nice`` (capped at 19), and not at all with 0."""
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    lowered, _ = await make_device()
    same, _ = await make_device(nice=0)
    assert lowered.pid is not None and same.pid is not None
    assert os.getpriority(os.PRIO_PROCESS, lowered.pid) == min(19, ours + 10)
    assert os.getpriority(os.PRIO_PROCESS, same.pid) == ours


async def test_bytes_cross_both_ways_intact(make_device, topic):
    a, sink_a = await make_device()
    b, sink_b = await make_device()
    a.join(topic)
    b.join(topic)
    link_a, link_b = await linked((a, sink_a), (b, sink_b))

    every_byte = bytes(range(256)) * 7
    big = [secrets.token_bytes(1024 * 1024) for _ in range(4)]
    small = [secrets.token_bytes(n) for n in (1, 2, 3, 1000, 65537)]
    a_sends = [every_byte, *big, *small]
    b_sends = [*small, every_byte, *reversed(big)]
    for chunk in a_sends:
        link_a.transport.write(chunk)
    for chunk in b_sends:
        link_b.transport.write(chunk)
    want_b, want_a = b"".join(a_sends), b"".join(b_sends)

    await sink_b.until(lambda: len(link_b.data) >= len(want_b), "a's bytes at b")
    await sink_a.until(lambda: len(link_a.data) >= len(want_a), "b's bytes at a")
    assert bytes(link_b.data) == want_b
    assert bytes(link_a.data) == want_a


async def test_a_burst_bigger_than_the_pipes_arrives_intact(make_device, topic):
    """32 MiB each way at once: stdout/stdin backpressure on both sides, nothing lost."""
    a, sink_a = await make_device()
    b, sink_b = await make_device()
    a.join(topic)
    b.join(topic)
    link_a, link_b = await linked((a, sink_a), (b, sink_b))
    chunks = [secrets.token_bytes(1024 * 1024) for _ in range(32)]
    for chunk in chunks:
        link_a.transport.write(chunk)
        link_b.transport.write(chunk[::-1])
    total = sum(map(len, chunks))
    await sink_b.until(lambda: len(link_b.data) >= total, "32 MiB at b")
    await sink_a.until(lambda: len(link_a.data) >= total, "32 MiB at a")
    assert bytes(link_b.data) == b"".join(chunks)
    assert bytes(link_a.data) == b"".join(c[::-1] for c in chunks)


async def test_four_engines_form_a_full_mesh(make_device, topic):
    devices = [await make_device() for _ in range(4)]
    for engine, _ in devices:
        engine.join(topic)
    for engine, sink in devices:
        others = [other for other, _ in devices if other is not engine]
        await sink.until(
            lambda sink=sink, others=others: all(link_to(sink, o) for o in others),
            "a link to each of the three others",
        )
    for engine, sink in devices:
        keys = {link.transport.remote_key for link in sink.live()}
        assert keys == {other.public_key for other, _ in devices if other is not engine}


async def test_leave_stops_new_connections(make_device, topic):
    a, sink_a = await make_device()
    b, sink_b = await make_device()
    a.join(topic)
    b.join(topic)
    link_ab, _ = await linked((a, sink_a), (b, sink_b))

    a.leave(topic)
    await asyncio.wait_for(a.left(topic), 60)

    c, sink_c = await make_device()
    c.join(topic)
    await asyncio.wait_for(c.joined(topic), 60)
    await linked((c, sink_c), (b, sink_b))

    assert link_to(sink_c, a) is None
    assert link_to(sink_a, c) is None
    assert link_ab.alive, "leaving a topic keeps existing links"
    a.leave(topic)  # idempotent
    assert link_ab.alive


async def test_sidecar_killed_links_lost_then_reconnected(make_device, topic):
    a, sink_a = await make_device(restart_delays=(0.1,))
    b, sink_b = await make_device()
    a.join(topic)
    b.join(topic)
    old, _ = await linked((a, sink_a), (b, sink_b))
    old_key, old_pid = a.public_key, a.pid
    assert old_pid is not None

    os.kill(old_pid, signal.SIGKILL)  # our own child, by PID

    await sink_a.until(lambda: old.lost is not None, "a's link lost")
    assert old.lost[0] == "ERR_ENGINE_RESTART"
    assert "restarting" in {s for s, _ in sink_a.states}
    await sink_a.until(lambda: a.state == "ready" and a.pid not in (None, old_pid), "restart")
    assert a.starts == 2
    assert a.public_key != old_key

    new, new_b = await linked((a, sink_a), (b, sink_b))
    assert new.transport.remote_key == b.public_key
    assert new_b.transport.remote_key == a.public_key


async def test_close_is_idempotent_and_reports(make_device, topic):
    a, sink_a = await make_device()
    b, sink_b = await make_device()
    a.join(topic)
    b.join(topic)
    link, link_b = await linked((a, sink_a), (b, sink_b))
    pid = a.pid
    await a.close()
    await a.close()
    assert a.state == "closed" and a.pid is None
    assert link.lost is not None and link.lost[0] == "ERR_ENGINE_CLOSED"
    assert sink_a.states[-1][0] == "closed"
    assert not _alive(pid)
    # b notices: its link to a closes with a code
    await sink_b.until(lambda: link_b.lost is not None, "b sees the link close")


async def test_transport_close_ends_the_peer_link(make_device, topic):
    a, sink_a = await make_device()
    b, sink_b = await make_device()
    a.join(topic)
    b.join(topic)
    link_a, link_b = await linked((a, sink_a), (b, sink_b))
    link_a.transport.write(b"last words")
    link_a.transport.close()
    link_a.transport.close()
    await sink_b.until(lambda: link_b.lost is not None, "b sees close")
    assert bytes(link_b.data) == b"last words"
    assert link_a.lost is None, "no connection_lost after our own close()"


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class GreetingSink(FakeSink):
    """A core that writes its hello from inside attach(), as a protocol handshake does."""

    def attach(self, transport):
        link = super().attach(transport)
        transport.write(b"hello from attach")
        return link


class RefusingSink(FakeSink):
    """A core that closes every transport inside attach()."""

    def attach(self, transport):
        link = super().attach(transport)
        transport.close()
        return link


async def test_core_may_write_and_close_inside_attach(make_device, topic):
    a, sink_a = await make_device()
    greeter, refuser = GreetingSink(), RefusingSink()
    b = HyperswarmEngine(a.options)
    c = HyperswarmEngine(a.options)
    try:
        await b.start(greeter)
        await c.start(refuser)
        for engine in (a, b, c):
            engine.join(topic)
        # b's hello made it although it was written before attach() returned
        await sink_a.until(
            lambda: any(x.data.startswith(b"hello from attach") for x in sink_a.live(b.public_key)),
            "b's hello at a",
        )
        # c closes what it gets: a sees its links to c close, and c never has a live one
        await sink_a.until(
            lambda: any(x.lost for x in sink_a.links if x.transport.remote_key == c.public_key),
            "a's link to c closed by c",
        )
        assert refuser.live() == []
        assert all(x.lost is None for x in refuser.links), "no connection_lost after close()"
    finally:
        await b.close()
        await c.close()
