"""Engine edge cases: plain Hyperswarm peers, a missing node, refused networks, local mode."""

from __future__ import annotations

import asyncio
import socket
import subprocess

from swarm.hyperswarm import HyperswarmEngine
from swarm.sidecar_options import HyperswarmOptions, dht_node_command

from .conftest import (
    FakeSink,
    loopback_env,
    needs_sidecar,
    node_command,
    read_json_line,
    stop_process,
)
from .test_engine import link_to, linked


@needs_sidecar
async def test_plain_hyperswarm_peer_shows_up_as_a_transport(make_device, topic, testnet):
    engine, sink = await make_device()
    engine.join(topic)
    peer = subprocess.Popen(
        node_command("plain-peer.js", ",".join(testnet), topic.hex(), "hi"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=loopback_env(),
    )
    try:
        ready = await asyncio.to_thread(read_json_line, peer)
        while ready["event"] != "ready":  # it may print a connection first
            ready = await asyncio.to_thread(read_json_line, peer)
        peer_key = bytes.fromhex(ready["publicKey"])
        link = await sink.until(
            lambda: next((x for x in sink.live(peer_key) if x.data == b"hi"), None),
            "the plain peer's greeting",
        )
        assert link.transport.remote_address[0] == "127.0.0.1"
        link.transport.write(b"not the peersocket protocol")
        link.transport.close()  # what the core does with a peer that does not speak it
    finally:
        await asyncio.to_thread(stop_process, peer)
    assert engine.state == "ready"


async def test_missing_node_gives_failed_state():
    engine = HyperswarmEngine(HyperswarmOptions(node="/nonexistent/bin/node", loopback_only=True))
    sink = FakeSink()
    await engine.start(sink)  # never raises
    assert engine.state == "failed"
    assert "Node.js" in engine.detail and "install" in engine.detail
    assert sink.states[-1] == ("failed", engine.detail)
    engine.join(b"\0" * 32)  # still harmless
    await engine.close()
    await engine.close()
    assert engine.state == "closed" and engine.starts == 0


async def test_missing_sidecar_install_gives_failed_state(tmp_path):
    engine = HyperswarmEngine(HyperswarmOptions(sidecar_dir=tmp_path, loopback_only=True))
    sink = FakeSink()
    await engine.start(sink)
    assert engine.state == "failed"
    assert "npm ci" in engine.detail
    await engine.close()


async def test_public_network_refused_when_loopback_only(monkeypatch):
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    engine = HyperswarmEngine(HyperswarmOptions(network="public"))
    sink = FakeSink()
    await engine.start(sink)
    assert engine.state == "failed" and "public" in engine.detail
    assert engine.starts == 0, "no sidecar may even start"
    await engine.close()


async def test_off_loopback_bootstrap_refused_when_loopback_only():
    engine = HyperswarmEngine(
        HyperswarmOptions(network="bootstrap", bootstrap=("192.0.2.1:49737",), loopback_only=True)
    )
    await engine.start(FakeSink())
    assert engine.state == "failed" and "192.0.2.1" in engine.detail
    assert engine.starts == 0
    await engine.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@needs_sidecar
async def test_local_network_needs_no_setup(topic, monkeypatch):
    """Two browsers in 'local' mode find each other: one hosts the bootstrap node."""
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    port = free_udp_port()  # not the default port: a real browser may run here
    opts = HyperswarmOptions(network="local", local_port=port, loopback_only=True)
    a, b = HyperswarmEngine(opts), HyperswarmEngine(opts)
    sa, sb = FakeSink(), FakeSink()
    try:
        await a.start(sa)
        await b.start(sb)
        assert a.state == b.state == "ready"
        assert a.info["bootstrap"] == b.info["bootstrap"] == [f"127.0.0.1:{port}"]
        assert [a.info["hostingBootstrap"], b.info["hostingBootstrap"]] == [True, False]
        a.join(topic)
        b.join(topic)
        la, lb = await linked((a, sa), (b, sb))
        assert la.transport.remote_address[0] == "127.0.0.1"

        # the host goes away: b takes the bootstrap node over and a newcomer still finds b
        await a.close()
        c = HyperswarmEngine(opts)
        sc = FakeSink()
        try:
            await sb.until(lambda: b.info["hostingBootstrap"], "b took over the bootstrap node")
            assert _hosting(port)
            await c.start(sc)
            c.join(topic)
            await linked((c, sc), (b, sb))
            assert link_to(sc, a) is None
        finally:
            await c.close()
    finally:
        await a.close()
        await b.close()


def _hosting(port: int) -> bool:
    """True once something listens on 127.0.0.1:port again (probe by binding)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@needs_sidecar
async def test_devices_meet_through_a_dht_bootstrap_node(topic, monkeypatch):
    """`peerbrowser dht` (swarm/sidecar/dht-bootstrap.js) + network 'bootstrap'."""
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    port = free_udp_port()
    node = subprocess.Popen(
        dht_node_command("127.0.0.1", port),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=loopback_env(),
    )
    engines: list[HyperswarmEngine] = []
    try:
        info = await asyncio.to_thread(read_json_line, node)
        assert info["bootstrap"] == f"127.0.0.1:{port}"
        opts = HyperswarmOptions(network="bootstrap", bootstrap=(info["bootstrap"],))
        devices = []
        for _ in range(2):
            engine, sink = HyperswarmEngine(opts), FakeSink()
            engines.append(engine)
            await engine.start(sink)
            assert engine.info["host"] == "127.0.0.1"  # loopback-only defaults the host
            engine.join(topic)
            devices.append((engine, sink))
        await linked(devices[0], devices[1])
    finally:
        for engine in engines:
            await engine.close()
        node.terminate()  # our own child, by PID
        await asyncio.to_thread(node.wait)


@needs_sidecar
async def test_a_bad_bootstrap_entry_fails_without_retries():
    engine = HyperswarmEngine(
        HyperswarmOptions(network="bootstrap", bootstrap=("127.0.0.1:notaport",), loopback_only=True)
    )
    sink = FakeSink()
    await engine.start(sink)
    assert engine.state == "failed" and "ERR_BAD_BOOTSTRAP" in engine.detail
    assert engine.starts == 1
    await engine.close()


@needs_sidecar
async def test_a_sidecar_that_keeps_crashing_ends_failed(tmp_path):
    """`node` stands for a binary that exits at once: restarts, then 'failed'."""
    crashing = tmp_path / "node"
    crashing.write_text("#!/bin/sh\necho 'simulated crash' >&2\nexit 3\n")
    crashing.chmod(0o755)
    engine = HyperswarmEngine(
        HyperswarmOptions(node=str(crashing), max_restarts=2, restart_delays=(0.0,), loopback_only=True)
    )
    sink = FakeSink()
    await engine.start(sink)
    assert engine.state == "failed"
    assert "simulated crash" in engine.detail and "3" in engine.detail
    assert engine.starts == 3
    assert [s for s, _ in sink.states] == ["starting", "restarting", "failed"]
    await engine.close()
