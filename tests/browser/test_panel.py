"""The PeerSocket panel, fed by real swarm cores (browser/panel.py, swarm/snapshot.py).

Two devices on an in-memory network, so that the panel shows a link, a remote
peer with its address, and this device's key.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from browser.panel import UNAVAILABLE_TEXT, short_id
from browser.window import BrowserWindow
from swarm.core import SwarmCore
from swarm.events import HandleEvent, Messages
from swarm.memory import MemoryNetwork
from swarm.presence import Socket, SwarmHandle
from swarm.snapshot import Snapshot
from swarm.topics import SwarmKey

from .conftest import BROWSER_MARKS, LOAD_TIMEOUT_MS

pytestmark = BROWSER_MARKS

ROOM = SwarmKey.open("pauls-chat-room")


class WatchedCore(SwarmCore):
    """A real core that counts its snapshots, and can tell its observers of a
    change at once (as five changes in five loop turns would, but without the clock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.snapshots = 0
        self.observers: list[Callable[[], None]] = []

    def snapshot(self) -> Snapshot:
        self.snapshots += 1
        return super().snapshot()

    def add_observer(self, callback: Callable[[], None]) -> None:
        self.observers.append(callback)
        super().add_observer(callback)

    def remove_observer(self, callback: Callable[[], None]) -> None:
        self.observers.remove(callback)
        super().remove_observer(callback)

    def changed(self) -> None:
        for callback in list(self.observers):
            callback()


class Devices:
    """This device (``here``, the one the window shows) and a peer device (``there``)."""

    def __init__(self, aloop: Any, qtbot: Any) -> None:
        self.aloop, self.qtbot = aloop, qtbot
        network = MemoryNetwork(loop=aloop)
        self.here = WatchedCore(network.engine("here"), grace=0.0, loop=aloop)
        self.there = SwarmCore(network.engine("there"), grace=0.0, loop=aloop)
        for core in (self.here, self.there):
            self.run(core.start())

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self.aloop.create_task(coroutine)
        self.qtbot.waitUntil(task.done, timeout=LOAD_TIMEOUT_MS)
        task.result()

    def join(
        self, core: SwarmCore, origin: str, identity: int, key: SwarmKey, reads: bool = True
    ) -> SwarmHandle:
        """A tab in ``key``; ``reads``: it consumes each message at once, as a page does
        (if not, as a page that took a socket's stream and never reads it)."""

        def consume(handle: SwarmHandle, event: HandleEvent) -> None:
            if reads and isinstance(event, Messages):
                core.consumed(handle, event.socket, event.size)

        return core.join(origin, identity, key, object(), consume)

    def write(self, core: SwarmCore, handle: SwarmHandle, socket: Socket, count: int, size: int = 0) -> None:
        for i in range(count):
            core.write(handle, socket, b"%d" % i + b"x" * size)


@pytest.fixture
def devices(aloop: Any, qtbot: Any) -> Iterator[Devices]:
    d = Devices(aloop, qtbot)
    yield d
    for core in (d.here, d.there):
        d.run(core.close())


@pytest.fixture
def chat(devices: Devices, qtbot: Any) -> tuple[SwarmHandle, Socket]:
    """Here: peerapp://chat #1 in the chat room in two tabs, and peerapp://board #0 in
    its origin swarm; there: peerapp://chat #2 in the chat room. Here has written 3
    messages to the peer and got 4. Returns here's chat handle and its peer socket."""
    here, there = devices.here, devices.there
    mine = devices.join(here, "peerapp://chat", 1, ROOM)
    devices.join(here, "peerapp://chat", 1, ROOM)  # a second tab of the same presence
    devices.join(here, "peerapp://board", 0, SwarmKey.for_origin("peerapp://board"))
    theirs = devices.join(there, "peerapp://chat", 2, ROOM)
    qtbot.waitUntil(lambda: mine.get_socket(theirs.presence.id_hex) is not None, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: theirs.get_socket(mine.presence.id_hex) is not None, timeout=LOAD_TIMEOUT_MS)
    peer = mine.require_socket(theirs.presence.id_hex)
    devices.write(here, mine, peer, 3)
    devices.write(there, theirs, theirs.require_socket(mine.presence.id_hex), 4)
    qtbot.waitUntil(lambda: (peer.sent, peer.received) == (3, 4), timeout=LOAD_TIMEOUT_MS)
    return mine, peer


def tree_rows(tree: Any) -> list[dict[str, str]]:
    """Every row, depth-first, as {column name: text} (name without indentation)."""
    header = tree.headerItem()
    names = [header.text(c) for c in range(tree.columnCount())]
    rows = []

    def walk(item: Any) -> None:
        rows.append({names[c]: item.text(c) for c in range(tree.columnCount())})
        for i in range(item.childCount()):
            walk(item.child(i))

    for i in range(tree.topLevelItemCount()):
        walk(tree.topLevelItem(i))
    return rows


def peer_row_shows(window: BrowserWindow, out: int) -> bool:
    return any(r["Name"] == "peer" and r["Out"] == str(out) for r in tree_rows(window.panel.tree))


def test_panel_shows_presences_swarms_and_peers(
    window_factory: Callable[..., BrowserWindow],
    devices: Devices,
    chat: tuple[SwarmHandle, Socket],
    qtbot: Any,
) -> None:
    core = devices.here
    mine, peer = chat
    window = window_factory(core=core)
    window.actions_by_name["toggle-panel"].trigger()
    panel = window.panel
    assert panel.isVisible()
    rows = tree_rows(panel.tree)
    by_name = {r["Name"]: r for r in rows}
    assert rows[0]["Name"] == "This device: 1 link(s)"
    assert core.engine is not None and core.engine.public_key is not None
    assert rows[0]["State"] == "ready" and rows[0]["Id"] == short_id(core.engine.public_key.hex())
    there_engine = devices.there.engine
    assert there_engine is not None and there_engine.public_key is not None
    link_address = f"memory:{peer.address[1] if peer.address else '?'}"
    assert by_name["link"]["Address"] == link_address
    assert by_name["link"]["Id"] == short_id(there_engine.public_key.hex())
    assert "peerapp://chat" in by_name and "peerapp://board" in by_name
    assert by_name["identity #1"]["Id"] == short_id(mine.presence.id_hex)
    swarm = by_name["open swarm: pauls-chat-room"]
    assert (swarm["State"], swarm["In"], swarm["Out"]) == ("1 peer(s), 2 tab(s)", "4", "3")
    assert by_name["peer"] == {
        "Name": "peer",
        "In": "4",
        "Out": "3",
        "State": "open",
        "Id": short_id(peer.id_hex),
        "Address": link_address,
    }
    assert by_name["loopback"]["Address"] == "this device"
    assert "origin swarm" in by_name

    before = core.snapshots
    devices.write(core, mine, peer, 7)
    for _ in range(5):
        core.changed()
    qtbot.waitUntil(lambda: peer_row_shows(window, 10), timeout=LOAD_TIMEOUT_MS)
    assert core.snapshots == before + 1  # five changes (and the writes'), one refresh


def test_a_hidden_panel_does_no_work_and_catches_up_when_shown(
    window_factory: Callable[..., BrowserWindow],
    devices: Devices,
    chat: tuple[SwarmHandle, Socket],
    qtbot: Any,
) -> None:
    core = devices.here
    mine, peer = chat
    window = window_factory(core=core)
    toggle = window.actions_by_name["toggle-panel"]
    toggle.trigger()
    assert window.panel.isVisible()
    toggle.trigger()
    assert not window.panel.isVisible()
    before = core.snapshots
    devices.write(core, mine, peer, 39)
    for _ in range(5):
        core.changed()
    notified: list[bool] = []
    core.add_observer(lambda: notified.append(True))  # the writes' own notification
    qtbot.waitUntil(lambda: bool(notified), timeout=LOAD_TIMEOUT_MS)
    assert core.snapshots == before  # nothing rebuilt while hidden
    toggle.trigger()
    qtbot.waitUntil(lambda: peer_row_shows(window, 42), timeout=LOAD_TIMEOUT_MS)
    assert core.snapshots == before + 1


def test_panel_stops_observing_on_shutdown(
    window_factory: Callable[..., BrowserWindow], devices: Devices
) -> None:
    core = devices.here
    window = window_factory(core=core)
    assert len(core.observers) == 2  # the panel, and the address bar's peers indicator
    window.shutdown()
    assert core.observers == []


def test_panel_without_a_core_says_so(window_factory: Callable[..., BrowserWindow]) -> None:
    window = window_factory(core=None)
    window.panel.show()
    assert window.panel.message.isVisible()
    assert window.panel.message.text() == UNAVAILABLE_TEXT


def test_panel_shows_what_the_network_engine_is_doing(
    window_factory: Callable[..., BrowserWindow], core: SwarmCore, qtbot: Any
) -> None:
    """Installing the sidecar, and what to do when it cannot run, are in the panel."""
    # what the engine tells the core (swarm.engine.EngineSink) as it installs, then fails
    core.engine_state_changed("installing", "installing the network engine: 12/62 npm packages")
    window = window_factory(core=core)
    window.actions_by_name["toggle-panel"].trigger()
    rows = tree_rows(window.panel.tree)
    assert rows[0]["State"] == "installing"
    assert rows[1]["Name"] == "network: installing the network engine: 12/62 npm packages"
    core.engine_state_changed("failed", "npm was not found: install it, then run `peerbrowser setup`")
    qtbot.waitUntil(lambda: tree_rows(window.panel.tree)[0]["State"] == "failed")
    assert tree_rows(window.panel.tree)[1]["Name"].startswith("network: npm was not found")


def test_panel_shows_what_each_side_has_not_read_yet(
    window_factory: Callable[..., BrowserWindow], devices: Devices, qtbot: Any
) -> None:
    """A tab here that stopped reading, and a peer tab that does not read either: the
    peer's row says how much waits on each side."""
    here, there = devices.here, devices.there
    mine = devices.join(here, "peerapp://chat", 1, ROOM, reads=False)
    theirs = devices.join(there, "peerapp://chat", 2, ROOM, reads=False)
    qtbot.waitUntil(lambda: mine.get_socket(theirs.presence.id_hex) is not None, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: theirs.get_socket(mine.presence.id_hex) is not None, timeout=LOAD_TIMEOUT_MS)
    peer = mine.require_socket(theirs.presence.id_hex)
    devices.write(there, theirs, theirs.require_socket(mine.presence.id_hex), 3, size=1023)  # 3 KiB
    devices.write(here, mine, peer, 2, size=2 * 1024 * 1024 - 1)  # 4 MiB
    qtbot.waitUntil(lambda: peer.held == 3 * 1024 and peer.inflight == 4 * 1024 * 1024, timeout=LOAD_TIMEOUT_MS)
    window = window_factory(core=here)
    window.actions_by_name["toggle-panel"].trigger()
    (row,) = [r for r in tree_rows(window.panel.tree) if r["Name"] == "peer"]
    assert row["State"] == "open, 3 KiB unread here, 4 MiB unread by the peer"
