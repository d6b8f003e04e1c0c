"""Each tab's bridge object on its QWebChannel (browser/tab.py and bridge.page.attach_page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PyQt6.QtCore import QObject, pyqtSignal

from browser.tab import Tab
from browser.window import BrowserWindow

from .conftest import BROWSER_MARKS, LOAD_TIMEOUT_MS, tab_texts

pytestmark = BROWSER_MARKS


class FakeBridge(QObject):
    identityChanged = pyqtSignal(int)


def test_bridge_object_is_registered_and_its_identity_signal_followed(
    window: BrowserWindow,
    open_tab: Callable[..., Tab],
    qtbot: Any,
    js_await: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, Any, Any]] = []
    bridges: list[FakeBridge] = []

    def attach_page(page: Any, core: Any, identity: int | None, **options: Any) -> FakeBridge:
        calls.append((page, core, identity))
        bridges.append(FakeBridge())
        return bridges[-1]

    monkeypatch.setattr("bridge.page.attach_page", attach_page)
    tab = open_tab(window, "peerapp://chat/", identity=1)
    assert calls == [(tab.page, None, 1)]
    assert tab.channel.registeredObjects() == {"peersocket": bridges[0]}
    assert tab.page.webChannel() is tab.channel
    result = js_await(
        tab,
        "new Promise(resolve => new QWebChannel(qt.webChannelTransport, "
        "ch => resolve(Object.keys(ch.objects))))",
    )
    assert result == {"ok": True, "value": ["peersocket"]}
    bridges[0].identityChanged.emit(5)
    qtbot.waitUntil(lambda: tab_texts(window) == ["[#5] Chat"])


def test_bridge_that_registers_itself_is_not_registered_twice(
    window: BrowserWindow, open_tab: Callable[..., Tab], monkeypatch: pytest.MonkeyPatch
) -> None:
    keep: list[QObject] = []

    def attach_page(page: Any, core: Any, identity: int | None, **options: Any) -> QObject:
        obj = FakeBridge()
        page.webChannel().registerObject("peersocket", obj)
        keep.append(obj)
        return obj

    monkeypatch.setattr("bridge.page.attach_page", attach_page)
    tab = open_tab(window, "peerapp://chat/")
    assert tab.channel.registeredObjects() == {"peersocket": keep[0]}


def test_real_bridge_is_on_the_channel_and_reports_set_debug_identity(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    tab = open_tab(window, "peerapp://chat/?identity=4")
    assert list(tab.channel.registeredObjects()) == ["peersocket"]
    assert tab.bridge is tab.channel.registeredObjects()["peersocket"]
    # chat.js calls PeerSocket.setDebugIdentity(4); the bridge says so; the label follows.
    qtbot.waitUntil(lambda: tab_texts(window) == ["[#4] Chat"], timeout=LOAD_TIMEOUT_MS)
