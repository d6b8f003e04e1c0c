"""The PeerSocket panel (browser/panel.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.panel import UNAVAILABLE_TEXT
from browser.window import BrowserWindow

from .conftest import OFFSCREEN_NOISE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE),
]


def snapshot_with(sent: int) -> dict[str, Any]:
    return {
        "device": {
            "key": "ab" * 32,
            "engine": {"state": "ready", "detail": "testnet"},
            "links": [{"remote": "cd" * 32, "host": "127.0.0.1", "port": 49737}],
        },
        "presences": [
            {
                "origin": "peerapp://chat",
                "identity": 1,
                "id": "11" * 32,
                "swarms": [
                    {
                        "type": "open",
                        "name": "pauls-chat-room",
                        "topic": "ee" * 32,
                        "tabs": 2,
                        "sockets": [
                            {
                                "id": "11" * 32,
                                "host": None,
                                "port": None,
                                "loopback": True,
                                "state": "open",
                                "sent": 0,
                                "received": 0,
                            },
                            {
                                "id": "22" * 32,
                                "host": "127.0.0.1",
                                "port": 49737,
                                "loopback": False,
                                "state": "open",
                                "sent": sent,
                                "received": 4,
                            },
                        ],
                    }
                ],
            },
            {
                "origin": "peerapp://board",
                "identity": 0,
                "id": "33" * 32,
                "swarms": [{"type": "origin", "name": None, "topic": "ff" * 32, "tabs": 1, "sockets": []}],
            },
        ],
    }


class FakeCore:
    def __init__(self) -> None:
        self.observers: list[Callable[[], None]] = []
        self.sent = 3
        self.snapshots = 0

    def snapshot(self) -> dict[str, Any]:
        self.snapshots += 1
        return snapshot_with(self.sent)

    def add_observer(self, callback: Callable[[], None]) -> None:
        self.observers.append(callback)

    def remove_observer(self, callback: Callable[[], None]) -> None:
        self.observers.remove(callback)

    def changed(self) -> None:
        for callback in list(self.observers):
            callback()


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


def test_panel_shows_presences_swarms_and_peers(
    window_factory: Callable[..., BrowserWindow], qtbot: Any
) -> None:
    core = FakeCore()
    window = window_factory(core=core)
    window.actions_by_name["toggle-panel"].trigger()
    panel = window.panel
    assert panel.isVisible()
    rows = tree_rows(panel.tree)
    by_name = {r["Name"]: r for r in rows}
    assert rows[0]["Name"] == "This device: 1 link(s)"
    assert rows[0]["State"] == "ready" and rows[0]["Id"] == "abababab…"
    assert by_name["link"]["Address"] == "127.0.0.1:49737"
    assert "peerapp://chat" in by_name and "peerapp://board" in by_name
    assert by_name["identity #1"]["Id"] == "11111111…"
    swarm = by_name["open swarm: pauls-chat-room"]
    assert (swarm["State"], swarm["In"], swarm["Out"]) == ("1 peer(s), 2 tab(s)", "4", "3")
    peer = by_name["peer"]
    assert peer == {
        "Name": "peer",
        "In": "4",
        "Out": "3",
        "State": "open",
        "Id": "22222222…",
        "Address": "127.0.0.1:49737",
    }
    assert by_name["loopback"]["Address"] == "this device"
    assert "origin swarm" in by_name

    before = core.snapshots
    core.sent = 10
    for _ in range(5):
        core.changed()
    qtbot.waitUntil(lambda: any(r["Name"] == "peer" and r["Out"] == "10" for r in tree_rows(panel.tree)))
    assert core.snapshots == before + 1  # five changes, one refresh


def test_a_hidden_panel_does_no_work_and_catches_up_when_shown(
    window_factory: Callable[..., BrowserWindow], qtbot: Any
) -> None:
    core = FakeCore()
    window = window_factory(core=core)
    toggle = window.actions_by_name["toggle-panel"]
    toggle.trigger()
    assert window.panel.isVisible()
    toggle.trigger()
    assert not window.panel.isVisible()
    before = core.snapshots
    core.sent = 42
    for _ in range(5):
        core.changed()
    assert core.snapshots == before  # nothing rebuilt while hidden
    toggle.trigger()
    qtbot.waitUntil(lambda: any(r["Name"] == "peer" and r["Out"] == "42" for r in tree_rows(window.panel.tree)))
    assert core.snapshots == before + 1


def test_panel_stops_observing_on_shutdown(window_factory: Callable[..., BrowserWindow]) -> None:
    core = FakeCore()
    window = window_factory(core=core)
    assert len(core.observers) == 1
    window.shutdown()
    assert core.observers == []


@pytest.mark.parametrize("core", [None, object()])
def test_panel_without_a_core_says_so(window_factory: Callable[..., BrowserWindow], core: Any) -> None:
    window = window_factory(core=core)
    window.panel.show()
    assert window.panel.message.isVisible()
    assert window.panel.message.text() == UNAVAILABLE_TEXT


def test_panel_shows_what_the_network_engine_is_doing(
    window_factory: Callable[..., BrowserWindow], qtbot: Any
) -> None:
    """Installing the sidecar, and what to do when it cannot run, are in the panel."""
    core = FakeCore()
    engine = {"state": "installing", "detail": "installing the network engine: 12/62 npm packages"}
    core.snapshot = lambda: {**snapshot_with(0), "device": {"key": "ab" * 32, "engine": engine, "links": []}}
    window = window_factory(core=core)
    window.actions_by_name["toggle-panel"].trigger()
    rows = tree_rows(window.panel.tree)
    assert rows[0]["State"] == "installing"
    assert rows[1]["Name"] == "network: installing the network engine: 12/62 npm packages"
    engine.update(state="failed", detail="npm was not found: install it, then run `peerbrowser setup`")
    core.changed()
    qtbot.waitUntil(lambda: tree_rows(window.panel.tree)[0]["State"] == "failed")
    assert tree_rows(window.panel.tree)[1]["Name"].startswith("network: npm was not found")
