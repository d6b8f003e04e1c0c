import asyncio

import pytest

from swarm.core import SwarmCore
from swarm.memory import MemoryNetwork
from tests.swarm.core_helpers import Device, turns
from tests.swarm.hostile_helpers import FakeClock


@pytest.fixture
async def net():
    """Devices on one in-memory network; every core is closed at the end, and
    nothing (task, link, presence) may be left behind."""
    network = MemoryNetwork()
    devices: list[Device] = []

    async def make(name: str = "dev", grace: float = 0.0) -> Device:
        device = Device(network, f"{name}{len(devices)}", grace)
        await device.core.start()
        devices.append(device)
        return device

    make.network = network
    make.devices = devices
    yield make
    for device in devices:
        await device.core.close()
    await turns(50)  # let the closes' last callbacks run
    for device in devices:
        assert device.core.presences == {}
        assert device.core.links == {}
        assert device.core.topics == {}
    assert network.link_count() == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.fixture
async def core():
    """A core with no engine whose budgets and pages' rates run on a fake clock
    (``core.clock.advance(seconds)``); links are attached by hand."""
    async for c in _fake_clock_core(paced=True):
        yield c


@pytest.fixture
async def unpaced_core():
    """The same, but it reads other devices' membership frames as fast as they come (no
    ``limits.MEMBERSHIP_PACE``): for tests of what comes after (the budgets, the pages'
    rates), which send a burst at one instant and count its effects at that instant.
    The pace has tests of its own (test_budgets.py, test_budgets_core.py)."""
    async for c in _fake_clock_core(paced=False):
        yield c


async def _fake_clock_core(paced: bool):
    clock = FakeClock()
    core = SwarmCore(grace=0, clock=clock, paced=paced)
    core.clock = clock  # type: ignore[attr-defined]
    yield core
    await core.close()
