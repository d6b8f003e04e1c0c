"""Shared pieces of the consent tests: a browser core on an in-memory network with
a second device (a remote peer driven from Python), and pending joins in pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from swarm.core import SwarmCore
from swarm.events import HandleEvent
from swarm.memory import MemoryNetwork
from swarm.presence import SwarmHandle
from swarm.topics import SwarmKey
from tests.browser.conftest import LOAD_TIMEOUT_MS

REMOTE_ORIGIN = "https://remote.example"


class LoopNetwork(MemoryNetwork):
    """The in-memory network on a given loop (pytest-qt drives qasync's loop without
    running it, so there is no *running* loop to find)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop


def in_loop(aloop: Any, qtbot: Any, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on the Qt-driven asyncio loop and return its result."""
    task = aloop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=LOAD_TIMEOUT_MS)
    return task.result()


class RemotePeer:
    """A presence on another device, in one open swarm."""

    def __init__(self, core: SwarmCore, swarm: str, origin: str = REMOTE_ORIGIN) -> None:
        self.events: list[HandleEvent] = []
        self.handle = core.join(origin, 0, SwarmKey.open(swarm), self, self._on)

    def _on(self, handle: SwarmHandle, event: HandleEvent) -> None:
        self.events.append(event)

    @property
    def id(self) -> str:
        return self.handle.presence.id_hex

    def peers(self) -> set[str]:
        return {s.id_hex for s in self.handle.sockets()}


def start_join(js: Callable[..., Any], tab: Any, swarm: str | None = "room", slot: str = "j") -> None:
    """Call ``T.join(swarm)`` in the page and leave it pending; see :func:`join_result`."""
    arg = "undefined" if swarm is None else json.dumps(swarm)
    assert (
        js(
            tab,
            f"""(window.J = window.J || {{}}, window.J[{slot!r}] = null,
            T.join({arg}, {slot!r}).then(
              v => {{ window.J[{slot!r}] = {{ok: true, value: v}} }},
              e => {{ window.J[{slot!r}] = {{ok: false, error: e.name + '|' + e.code + '|' + e.message}} }}),
            true)""",
        )
        is True
    )


def join_result(js: Callable[..., Any], tab: Any, slot: str = "j") -> Any:
    """The settled result of :func:`start_join` (None while pending)."""
    return js(tab, f"(window.J && window.J[{slot!r}]) || null")
