"""The real swarm core on the Hyperswarm engine: two devices (two sidecars) meet in an
open swarm, get one socket each way and exchange a message. A cross-check of the
engine against the core written in parallel (swarm/core.py)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from swarm.hyperswarm import HyperswarmEngine
from swarm.sidecar_options import HyperswarmOptions

from .conftest import HANG_GUARD, needs_sidecar

core_module = pytest.importorskip("swarm.core")
topics_module = pytest.importorskip("swarm.topics")
events_module = pytest.importorskip("swarm.events")

pytestmark = needs_sidecar


async def _until(core: Any, changed: asyncio.Event, predicate: Any, what: str) -> None:
    """Wait for predicate(), woken by the core's observers and by handle events."""
    core.add_observer(changed.set)
    try:
        async with asyncio.timeout(HANG_GUARD):  # hang guard only
            while not predicate():
                changed.clear()
                await changed.wait()
    except TimeoutError:
        raise AssertionError(f"hang guard: still waiting for {what}") from None
    finally:
        core.remove_observer(changed.set)


async def test_two_cores_meet_over_hyperswarm(testnet, monkeypatch):
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    opts = HyperswarmOptions(network="bootstrap", bootstrap=tuple(testnet), host="127.0.0.1")
    cores = [core_module.SwarmCore(HyperswarmEngine(opts), grace=0.0) for _ in range(2)]
    key = topics_module.SwarmKey.open(f"network-test-{secrets.token_hex(8)}")
    events: list[list[Any]] = [[], []]
    changed = asyncio.Event()

    def listener(i: int) -> Any:
        def on_event(handle: Any, event: Any) -> None:
            events[i].append(event)
            changed.set()

        return on_event

    try:
        for core in cores:
            await core.start()
            assert core.engine.state == "ready"
        handles = [
            core.join("https://app.example", 0, key, object(), listener(i)) for i, core in enumerate(cores)
        ]

        def remote_socket(i: int) -> Any:
            for e in events[i]:
                if isinstance(e, events_module.Connection) and not e.socket.loopback:
                    return e.socket
            return None

        for i, core in enumerate(cores):
            await _until(core, changed, lambda i=i: remote_socket(i) is not None, f"device {i}'s peer")
        a_to_b, b_to_a = remote_socket(0), remote_socket(1)
        assert a_to_b.id_hex == handles[1].presence.id_hex
        assert b_to_a.id_hex == handles[0].presence.id_hex
        assert a_to_b.address[0] == "127.0.0.1"

        cores[0].write(handles[0], a_to_b, b"\x01binary message")

        def got() -> bool:
            return any(isinstance(e, events_module.Messages) for e in events[1])

        await _until(cores[1], changed, got, "the message at device 1")
        message = next(e for e in events[1] if isinstance(e, events_module.Messages))
        assert list(message.payloads) == [b"\x01binary message"]
        assert len(cores[0].links) == len(cores[1].links) == 1
    finally:
        for core in cores:
            await core.close()
