"""The browser a user sees, in real QtWebEngine pages (offscreen)."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import QObject, QPoint, Qt, QUrl, pyqtSignal
from PyQt6.QtWebEngineCore import QWebEngineScript

from browser import paths
from browser.config import parse_bootstrap
from browser.env import FLAGS_VAR, chromium_flags
from browser.jsvalue import to_js
from browser.panel import UNAVAILABLE_TEXT
from browser.profile import page_scripts
from browser.scheme import mime_type, resolve
from browser.tab import Tab
from browser.urls import url_from_input
from browser.window import BrowserWindow

from .conftest import LOAD_TIMEOUT_MS, OFFSCREEN_NOISE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE),
]

REPO = Path(__file__).resolve().parents[2]
PEERBROWSER = Path(sys.executable).with_name("peerbrowser")


@pytest.fixture
def open_tab(qtbot: Any) -> Callable[..., Tab]:
    """``open_tab(window, url, identity=None)``: open a tab and wait for its first load."""

    def open_(window: BrowserWindow, url: str, identity: int | None = None) -> Tab:
        tab = window.new_tab(url, identity)
        qtbot.waitUntil(lambda: tab.progress >= 100, timeout=LOAD_TIMEOUT_MS)
        return tab

    return open_


def tab_texts(window: BrowserWindow) -> list[str]:
    return [window.tab_widget.tabText(i) for i in range(window.tab_widget.count())]


def press(qtbot: Any, widget: Any, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> None:
    qtbot.keyClick(widget, key, modifiers)


# --- environment -----------------------------------------------------------------------


def test_chromium_flags_are_appended_to_the_users_flags() -> None:
    flags = chromium_flags("--user-flag --no-pings=x", as_root=True)
    assert flags.startswith("--user-flag --no-pings=x ")
    assert "--no-sandbox" in flags.split()
    assert "--disable-background-networking" in flags.split()
    assert flags.split().count("--no-pings=x") == 1 and "--no-pings" not in flags.split()
    assert "--no-sandbox" not in chromium_flags("", as_root=False).split()


def test_environment_of_this_process_has_the_flags() -> None:
    flags = os.environ[FLAGS_VAR].split()
    assert "--disable-background-networking" in flags
    if os.geteuid() == 0:
        assert "--no-sandbox" in flags
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


# --- address bar input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("example.com", "https://example.com"),
        ("example.com/a?b=1", "https://example.com/a?b=1"),
        ("127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        ("localhost:3000", "http://localhost:3000"),
        ("peerapp://chat/", "peerapp://chat/"),
        ("https://example.org/", "https://example.org/"),
    ],
)
def test_url_from_input(typed: str, expected: str) -> None:
    url = url_from_input(typed)
    assert url is not None and url.toString() == expected


@pytest.mark.parametrize("typed", ["", "   ", "two words"])
def test_url_from_input_rejects_non_addresses(typed: str) -> None:
    assert url_from_input(typed) is None


# --- tabs ----------------------------------------------------------------------------


def test_tabs_open_close_and_switch(window: BrowserWindow, open_tab: Callable[..., Tab]) -> None:
    a = open_tab(window, "peerapp://start/")
    b = open_tab(window, "peerapp://chat/")
    c = open_tab(window, "peerapp://board/")
    assert window.tabs() == [a, b, c]
    assert window.current_tab() is c
    window.switch_tab(1)
    assert window.current_tab() is a
    window.switch_tab(-1)
    assert window.current_tab() is c
    window.close_tab(window.tab_widget.indexOf(b.widget))
    assert window.tabs() == [a, c]
    window.close_current_tab()
    assert window.tabs() == [a]


def test_closing_the_last_tab_leaves_a_start_page(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    only = open_tab(window, "peerapp://chat/")
    window.close_tab_object(only)
    assert len(window.tabs()) == 1
    fresh = window.tabs()[0]
    qtbot.waitUntil(lambda: fresh.page.url().toString() == "peerapp://start/")


def test_closing_tabs_while_they_load_does_not_crash(
    core: Any, window_factory: Callable[..., BrowserWindow], open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    # Regression: setWebChannel(None) on a page still loading crashed QtWebEngine soon after.
    window = window_factory(core)
    keep = open_tab(window, "peerapp://start/")
    for _ in range(15):
        tab = window.new_tab("peerapp://chat/")
        qtbot.waitUntil(lambda tab=tab: tab.page.url().toString() == "peerapp://chat/")
        window.close_tab_object(tab)
    last = open_tab(window, "peerapp://chat/")
    assert window.tabs() == [keep, last]


def test_middle_click_closes_the_tab(window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any) -> None:
    a = open_tab(window, "peerapp://start/")
    b = open_tab(window, "peerapp://chat/")
    bar = window.tab_widget.tabBar()
    rect = bar.tabRect(window.tab_widget.indexOf(a.widget))
    qtbot.mouseClick(bar, Qt.MouseButton.MiddleButton, pos=rect.center())
    assert window.tabs() == [b]


def test_keyboard_shortcuts(window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    first = open_tab(window, "peerapp://chat/")
    ctrl = Qt.KeyboardModifier.ControlModifier
    target = window.address_bar

    press(qtbot, target, Qt.Key.Key_T, ctrl)
    assert len(window.tabs()) == 2
    second = window.current_tab()
    assert second is not first
    qtbot.waitUntil(lambda: second.progress >= 100, timeout=LOAD_TIMEOUT_MS)

    press(qtbot, target, Qt.Key.Key_Tab, ctrl)
    assert window.current_tab() is first
    press(qtbot, target, Qt.Key.Key_Backtab, ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert window.current_tab() is second

    press(qtbot, target, Qt.Key.Key_W, ctrl)
    assert window.tabs() == [first]

    first.view.setFocus()
    press(qtbot, window, Qt.Key.Key_L, ctrl)
    assert window.address_bar.hasFocus()
    assert window.address_bar.selectedText() == window.address_bar.text()

    with qtbot.waitSignal(first.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        press(qtbot, target, Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(first.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        press(qtbot, target, Qt.Key.Key_R, ctrl)

    shift = Qt.KeyboardModifier.ShiftModifier
    press(qtbot, target, Qt.Key.Key_P, ctrl | shift)
    assert window.panel.isVisible()
    press(qtbot, target, Qt.Key.Key_P, ctrl | shift)
    assert not window.panel.isVisible()


def test_shortcuts_work_while_the_page_has_focus(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    first = open_tab(window, "peerapp://chat/")
    ctrl = Qt.KeyboardModifier.ControlModifier
    page_widget = first.view.focusProxy()
    page_widget.setFocus()
    press(qtbot, page_widget, Qt.Key.Key_T, ctrl)
    assert len(window.tabs()) == 2
    second = window.current_tab()
    assert second is not None
    qtbot.waitUntil(lambda: second.progress >= 100, timeout=LOAD_TIMEOUT_MS)
    second.view.focusProxy().setFocus()
    press(qtbot, second.view.focusProxy(), Qt.Key.Key_W, ctrl)
    assert window.tabs() == [first]
    page_widget.setFocus()
    press(qtbot, page_widget, Qt.Key.Key_L, ctrl)
    assert window.address_bar.hasFocus()


def test_ctrl_q_closes_the_window(window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    tab = open_tab(window, "peerapp://chat/")
    gone: list[bool] = []
    tab.page.destroyed.connect(lambda *_: gone.append(True))
    with qtbot.waitSignal(window.closed, timeout=LOAD_TIMEOUT_MS):
        press(qtbot, window.address_bar, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs() == [] and not window.isVisible()
    qtbot.waitUntil(lambda: bool(gone), timeout=LOAD_TIMEOUT_MS)


def test_back_and_forward_with_alt_arrows(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    tab = open_tab(window, "peerapp://start/")
    with qtbot.waitSignal(tab.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        window.navigate("peerapp://chat/")
    assert window.actions_by_name["back"].isEnabled()
    alt = Qt.KeyboardModifier.AltModifier
    with qtbot.waitSignal(tab.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        press(qtbot, window.address_bar, Qt.Key.Key_Left, alt)
    assert tab.page.url().toString() == "peerapp://start/"
    qtbot.waitUntil(lambda: window.actions_by_name["forward"].isEnabled())
    with qtbot.waitSignal(tab.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        press(qtbot, window.address_bar, Qt.Key.Key_Right, alt)
    assert tab.page.url().toString() == "peerapp://chat/"


def test_address_bar_enter_navigates(window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any) -> None:
    tab = open_tab(window, "peerapp://start/")
    assert window.address_bar.text() == "peerapp://start/"
    window.address_bar.setFocus()
    window.address_bar.clear()
    qtbot.keyClicks(window.address_bar, "peerapp://board/")
    with qtbot.waitSignal(tab.page.loadFinished, timeout=LOAD_TIMEOUT_MS) as blocker:
        qtbot.keyClick(window.address_bar, Qt.Key.Key_Return)
    assert blocker.args == [True]
    assert tab.page.url().toString() == "peerapp://board/"
    assert window.address_bar.text() == "peerapp://board/"


def test_title_and_progress_follow_the_page(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    seen: list[int] = []
    tab = window.new_tab("peerapp://chat/")
    tab.page.loadProgress.connect(seen.append)
    with qtbot.waitSignal(tab.page.loadFinished, timeout=LOAD_TIMEOUT_MS):
        pass
    # "[#0] Chat" once the bridge reports the page's identity, "Chat" before.
    qtbot.waitUntil(lambda: tab_texts(window)[0].endswith("Chat"))
    assert window.windowTitle() == f"{tab.label()} — Peerbrowser"
    assert window.progress.value() == 100
    assert not window.progress.isVisible()
    assert seen and seen[-1] == 100
    with qtbot.waitSignal(tab.page.loadStarted, timeout=LOAD_TIMEOUT_MS):
        window.navigate("peerapp://board/")
    assert window.progress.value() < 100
    qtbot.waitUntil(lambda: tab_texts(window)[0].endswith("Board"), timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.progress.value() == 100 and not window.progress.isVisible())


def test_tab_label_shows_the_identity(
    window_factory: Callable[..., BrowserWindow], open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    window = window_factory(default_identity=3)
    default = open_tab(window, "peerapp://chat/")
    two = open_tab(window, "peerapp://chat/", identity=2)
    qtbot.waitUntil(lambda: tab_texts(window) == ["[#3] Chat", "[#2] Chat"])
    assert default.identity == 3 and two.identity == 2
    assert window.windowTitle() == "[#2] Chat — Peerbrowser"
    two.set_identity(7)
    assert tab_texts(window)[1] == "[#7] Chat"


def test_identity_menu_opens_tabs_as_identities(window: BrowserWindow, qtbot: Any) -> None:
    window.identity_menu.findChild(type(window.actions_by_name["new-tab"]), "identity-4").trigger()
    assert [t.identity for t in window.tabs()] == [4]
    next_free = window.identity_menu.findChild(type(window.actions_by_name["new-tab"]), "identity-next-free")
    next_free.trigger()
    next_free.trigger()
    assert [t.identity for t in window.tabs()] == [4, 1, 2]
    for tab in window.tabs():
        qtbot.waitUntil(lambda tab=tab: tab.progress >= 100, timeout=LOAD_TIMEOUT_MS)


# --- bridge hook ---------------------------------------------------------------------


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


# --- peerapp:// scheme ---------------------------------------------------------------


def test_demo_page_has_its_own_secure_origin(
    window: BrowserWindow, open_tab: Callable[..., Tab], js: Any
) -> None:
    tab = open_tab(window, "peerapp://chat/")
    assert js(tab, "location.origin") == "peerapp://chat"
    assert js(tab, "window.isSecureContext") is True
    board = open_tab(window, "peerapp://board/")
    assert js(board, "location.origin") == "peerapp://board"


def test_scheme_serves_files_with_mime_types(
    window: BrowserWindow, open_tab: Callable[..., Tab], js_await: Any
) -> None:
    tab = open_tab(window, "peerapp://chat/")
    result = js_await(
        tab,
        "fetch('chat.css').then(r => [r.ok, r.headers.get('content-type').replace(' ', '')])",
    )
    assert result == {"ok": True, "value": [True, "text/css;charset=utf-8"]}
    result = js_await(tab, "fetch('chat.js').then(r => r.headers.get('content-type').replace(' ', ''))")
    assert result["value"] == "text/javascript;charset=utf-8"


def test_missing_file_is_not_found(
    window: BrowserWindow, open_tab: Callable[..., Tab], js_await: Any, load: Any
) -> None:
    tab = open_tab(window, "peerapp://chat/")
    assert js_await(tab, "fetch('nope.js').then(r => [r.ok, r.status])")["value"] == [False, 404]
    assert load(tab, "peerapp://chat/nope.html") is False
    assert load(tab, "peerapp://no-such-app/") is False


def test_no_path_traversal_through_the_page(
    window_factory: Callable[..., BrowserWindow],
    profile_factory: Callable[..., Any],
    open_tab: Callable[..., Tab],
    js_await: Any,
    test_apps: Path,
) -> None:
    window = window_factory(profile=profile_factory(apps_dir=test_apps))
    tab = open_tab(window, "peerapp://other/")
    for path in [
        "/..%2ftop/secret.txt",
        "/%2e%2e/outside.txt",
        "/..%2f..%2foutside.txt",
        "/%2e%2e%2f%2e%2e%2foutside.txt",
        "/.%2e/outside.txt",
        "/..\\\\outside.txt",
    ]:
        result = js_await(tab, f"fetch('peerapp://other{path}').then(r => r.ok ? r.text() : r.status)")
        assert result in ({"ok": True, "value": 404}, {"ok": False, "error": "Failed to fetch"}), (
            path,
            result,
        )
    result = js_await(tab, "fetch('peerapp://top/secret.txt').then(r => r.ok ? r.text() : r.status)")
    assert result["value"] == "not here"


def test_resolve_stays_inside_the_app(tmp_path: Path) -> None:
    root = tmp_path / "apps"
    (root / "chat" / "sub").mkdir(parents=True)
    (root / "chat" / "index.html").write_text("x")
    (root / "chat" / "sub" / "index.html").write_text("y")
    (root / "chat" / ".hidden").write_text("h")
    (root / "secret").mkdir()
    (root / "secret" / "key.txt").write_text("k")
    (tmp_path / "outside.txt").write_text("o")
    (root / "chat" / "link.txt").symlink_to(tmp_path / "outside.txt")
    chat = (root / "chat").resolve()
    assert resolve(root, "chat", "/") == chat / "index.html"
    assert resolve(root, "chat", "/sub/") == chat / "sub" / "index.html"
    assert resolve(root, "chat", "/sub") == chat / "sub" / "index.html"
    for bad in [
        "/../secret/key.txt",
        "/%2e%2e/secret/key.txt",
        "/..%2Fsecret%2Fkey.txt",
        "/sub/../../outside.txt",
        "/.hidden",
        "/link.txt",
        "/%00",
        "/a%5c..%5coutside.txt",
        "/missing.html",
    ]:
        assert resolve(root, "chat", bad) is None, bad
    for bad_host in ["", "..", "Chat", "chat.evil", "-x"]:
        assert resolve(root, bad_host, "/") is None


def test_mime_types() -> None:
    assert mime_type(Path("a.html")) == "text/html;charset=utf-8"
    assert mime_type(Path("a.mjs")) == "text/javascript;charset=utf-8"
    assert mime_type(Path("a.png")) == "image/png"
    assert mime_type(Path("a.unknownext")) == "application/octet-stream"


# --- injected scripts -----------------------------------------------------------------


def test_scripts_are_namespaced_main_world_top_level_only(fake_js_dir: Path) -> None:
    scripts = page_scripts(fake_js_dir)
    assert [s.name() for s in scripts] == ["peerbrowser/qwebchannel", "peerbrowser/peersocket"]
    for s in scripts:
        assert s.injectionPoint() == QWebEngineScript.InjectionPoint.DocumentCreation
        assert s.worldId() == QWebEngineScript.ScriptWorldId.MainWorld
        assert s.runsOnSubFrames() is False
    assert "QWebChannel" in scripts[0].sourceCode()


def test_missing_peersocket_js_injects_only_the_channel(tmp_path: Path) -> None:
    assert [s.name() for s in page_scripts(tmp_path)] == ["peerbrowser/qwebchannel"]


def test_repo_peersocket_js_is_injected_when_present() -> None:
    names = [s.name() for s in page_scripts()]
    assert ("peerbrowser/peersocket" in names) == paths.peersocket_js().is_file()


def test_top_level_page_gets_the_api_and_iframes_do_not(
    window_factory: Callable[..., BrowserWindow],
    profile_factory: Callable[..., Any],
    open_tab: Callable[..., Tab],
    js: Any,
    qtbot: Any,
    fake_js_dir: Path,
    test_apps: Path,
) -> None:
    profile = profile_factory(apps_dir=test_apps, js_dir=fake_js_dir)
    window = window_factory(profile=profile)
    tab = open_tab(window, "peerapp://top/")
    assert js(tab, "typeof qt === 'object' && typeof qt.webChannelTransport") == "object"
    assert js(tab, "window.PeerSocket") == {"fake": True, "hasChannel": True}

    main = tab.page.mainFrame()
    qtbot.waitUntil(lambda: len(main.children()) == 2, timeout=LOAD_TIMEOUT_MS)
    frames = {f.htmlName(): f for f in main.children()}
    assert set(frames) == {"cross", "same"}
    source = "[location.origin, typeof window.PeerSocket, typeof window.QWebChannel]"
    origins = {"cross": "peerapp://other", "same": "peerapp://top"}
    for name, frame in frames.items():
        results: list[Any] = []

        def loaded(frame: Any = frame, results: list[Any] = results, name: str = name) -> bool:
            frame.runJavaScript(source, 0, results.append)
            return any(r and r[0] == origins[name] for r in results)

        qtbot.waitUntil(loaded, timeout=LOAD_TIMEOUT_MS)
        answer = next(r for r in results if r and r[0] == origins[name])
        assert answer == [origins[name], "undefined", "undefined"], name


# --- PeerSocket panel -----------------------------------------------------------------


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


# --- the peerbrowser command -----------------------------------------------------------


def _stderr_lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue[str | None], needle: str, timeout: float) -> list[str]:
    seen: list[str] = []
    while True:
        line = lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"process ended before {needle!r}:\n{''.join(seen)}")
        seen.append(line)
        if needle in line:
            return seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_headless_browser_exits_cleanly_on_signal(signum: signal.Signals) -> None:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [str(PEERBROWSER), "--headless", "--network", "none", "peerapp://chat/?identity=1", "peerapp://board/"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        lines = _stderr_lines(proc)
        _wait_for_line(lines, "ready: 2 tab(s) (headless)", timeout=60)
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 0
        rest = []
        while (line := lines.get(timeout=10)) is not None:
            rest.append(line)
        assert any("shut down cleanly" in line for line in rest), "".join(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dht_subcommand_runs_a_bootstrap_node_until_terminated() -> None:
    port = _free_udp_port()
    proc = subprocess.Popen(
        [str(PEERBROWSER), "dht", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PEERBROWSER_LOOPBACK_ONLY": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line) == {"bootstrap": f"127.0.0.1:{port}"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_arguments_are_refused() -> None:
    result = subprocess.run(
        [str(PEERBROWSER), "--bootstrap", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr


def test_headless_chat_demo_passes(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [str(PEERBROWSER), "--demo-headless", "--network", "none", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[#1] alice: hello from alice" in result.stdout
    assert "[#2] bob: hi alice, bob here" in result.stdout
    assert shot.read_bytes().startswith(b"\x89PNG")


_BROKEN_DEMO = """
import sys
from pathlib import Path
import browser.paths as paths
if sys.argv[1] == "no-script":
    paths.peersocket_js = lambda js=None: Path("/nonexistent/peersocket.js")
else:
    paths.apps_dir = lambda: Path("/nonexistent/apps")
from browser.main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("no-script", "the PeerSocket page script is missing (/nonexistent/peersocket.js)"),
        ("no-apps", "the chat app is missing (/nonexistent/apps/chat)"),
    ],
)
def test_headless_demo_of_an_incomplete_install_fails_at_once_saying_why(
    tmp_path: Path, broken: str, why: str
) -> None:
    """As an install without its package data was: no waiting out the deadline."""
    result = subprocess.run(
        [sys.executable, "-c", _BROKEN_DEMO, broken, "--demo-headless", "--network", "none",
         "--screenshot", str(tmp_path / "demo.png")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"peerbrowser demo FAILED: {why}: this installation is incomplete" in result.stderr
    assert "both tabs saw both lines" not in result.stdout
    assert "timed out" not in result.stderr


def test_the_demo_watchdog_ends_a_hung_process_saying_where_it_hung() -> None:
    code = (
        "import threading\n"
        "from browser.demo import Watchdog\n"
        "dog = Watchdog(limit=0.5).start()\n"
        "dog.step = 'waiting for Qt'\n"
        "threading.Event().wait()  # a hang\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 1
    assert "peerbrowser demo FAILED: no result after 0.5 s (stuck while waiting for Qt)" in result.stderr


# --- the demo apps ----------------------------------------------------------------------

_BOARD_STATE = (
    "[document.body.dataset.state, Number(document.body.dataset.peers || 0), "
    "Number(document.body.dataset.segments || 0)]"
)

_DRAW = """(() => {
  const c = document.querySelector('#canvas'), r = c.getBoundingClientRect();
  const at = (type, fx, fy) => c.dispatchEvent(new PointerEvent(type, {pointerId: 1,
      bubbles: true, clientX: r.left + fx * r.width, clientY: r.top + fy * r.height}));
  at('pointerdown', 0.2, 0.2);
  for (let i = 1; i <= 5; i++) at('pointermove', 0.2 + i * 0.1, 0.2 + i * 0.05);
  at('pointerup', 0.7, 0.45);
  return Number(document.body.dataset.segments);
})()"""


def test_board_strokes_reach_peers_and_new_tabs_of_a_presence(
    core: Any,
    window_factory: Callable[..., BrowserWindow],
    open_tab: Callable[..., Tab],
    js: Any,
    qtbot: Any,
) -> None:
    window = window_factory(core)

    def state(tab: Tab) -> list[Any]:
        return js(tab, _BOARD_STATE)

    alice = open_tab(window, "peerapp://board/?identity=1", identity=1)
    bob = open_tab(window, "peerapp://board/?identity=2", identity=2)
    for tab in (alice, bob):
        qtbot.waitUntil(lambda tab=tab: state(tab)[:2] == ["joined", 1], timeout=LOAD_TIMEOUT_MS)
    window.tab_widget.setCurrentWidget(alice.view)
    assert js(alice, _DRAW) == 5
    qtbot.waitUntil(lambda: state(bob)[2] == 5, timeout=LOAD_TIMEOUT_MS)
    # A second tab of alice's presence gets the drawing from its sibling over the loopback.
    alice2 = open_tab(window, "peerapp://board/?identity=1", identity=1)
    qtbot.waitUntil(lambda: state(alice2) == ["joined", 1, 5], timeout=LOAD_TIMEOUT_MS)


_CHAT_STATE = (
    "[document.body.dataset.state, Number(document.body.dataset.peers || 0), "
    "document.querySelector('#transcript').textContent, "
    "document.querySelector('#peers').textContent]"
)


def _say(text: str) -> str:
    return (
        "(() => { const i = document.querySelector('#message'); "
        f"i.value = {to_js(text)}; i.form.requestSubmit(); return true }})()"
    )


def test_chat_lines_reach_peers_and_other_tabs_of_the_same_presence(
    core: Any,
    window_factory: Callable[..., BrowserWindow],
    open_tab: Callable[..., Tab],
    js: Any,
    qtbot: Any,
) -> None:
    window = window_factory(core)
    alice = open_tab(window, "peerapp://chat/?identity=1&name=alice", identity=1)
    alice2 = open_tab(window, "peerapp://chat/?identity=1&name=alice", identity=1)
    bob = open_tab(window, "peerapp://chat/?identity=2&name=bob", identity=2)
    for tab in (alice, alice2, bob):
        qtbot.waitUntil(lambda tab=tab: js(tab, _CHAT_STATE)[:2] == ["joined", 1], timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "bob #2" in js(alice, _CHAT_STATE)[3], timeout=LOAD_TIMEOUT_MS)
    js(alice, _say("hi <b>bob</b>"))
    js(bob, _say("hello alice"))
    both = "[#1] alice: hi <b>bob</b>\n", "[#2] bob: hello alice\n"
    for tab in (alice, alice2, bob):
        qtbot.waitUntil(
            lambda tab=tab: all(line in js(tab, _CHAT_STATE)[2] for line in both),
            timeout=LOAD_TIMEOUT_MS,
        )
    # Each line once per tab, markup shown as text.
    for tab in (alice, alice2, bob):
        transcript = js(tab, _CHAT_STATE)[2]
        assert sorted(transcript.splitlines()) == sorted(line.strip() for line in both)
    assert js(alice, "document.querySelectorAll('#messages b').length") == 0


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (None, "null"),
        ("a'b\"</script>\u2028", '"a\'b\\"</script>\\u2028"'),
        ([1, 2.5, True], "[1, 2.5, true]"),
        ({"k": ["v"]}, '{"k": ["v"]}'),
    ],
)
def test_to_js_encodes_plain_values(value: Any, source: str) -> None:
    assert to_js(value) == source


@pytest.mark.parametrize("value", [object(), {1: "x"}, b"bytes", {"a": {1, 2}}])
def test_to_js_refuses_other_values(value: Any) -> None:
    with pytest.raises(TypeError):
        to_js(value)


def test_target_blank_link_opens_a_tab_with_the_same_identity(
    window: BrowserWindow, open_tab: Callable[..., Tab], js: Any, qtbot: Any
) -> None:
    start = open_tab(window, "peerapp://start/", identity=3)
    x, y = js(
        start,
        "(() => { const r = document.querySelector('a[href=\"peerapp://chat/?identity=2\"]')"
        ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2] })()",
    )
    qtbot.mouseClick(start.view.focusProxy(), Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
    qtbot.waitUntil(lambda: len(window.tabs()) == 2, timeout=LOAD_TIMEOUT_MS)
    new = window.tabs()[1]
    qtbot.waitUntil(lambda: new.page.url().toString() == "peerapp://chat/?identity=2")
    assert new.identity in (3, 2)  # opened as #3; the page then asks for #2
    qtbot.waitUntil(lambda: tab_texts(window)[1] == "[#2] Chat", timeout=LOAD_TIMEOUT_MS)


def test_untitled_page_is_labelled_by_its_host(
    window_factory: Callable[..., BrowserWindow],
    profile_factory: Callable[..., Any],
    open_tab: Callable[..., Tab],
    test_apps: Path,
    qtbot: Any,
) -> None:
    (test_apps / "other" / "untitled.html").write_text("<!doctype html><p>no title here")
    window = window_factory(profile=profile_factory(apps_dir=test_apps), default_identity=1)
    open_tab(window, "peerapp://other/untitled.html")
    qtbot.waitUntil(lambda: tab_texts(window) == ["[#1] other"], timeout=LOAD_TIMEOUT_MS)


def test_page_console_goes_to_the_js_logger(
    window: BrowserWindow,
    open_tab: Callable[..., Tab],
    js: Any,
    qtbot: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tab = open_tab(window, "peerapp://start/")
    with caplog.at_level(logging.INFO, logger="peerbrowser.js"):
        js(tab, "console.warn('hello from the page'), true")
        qtbot.waitUntil(lambda: any("hello from the page" in r.getMessage() for r in caplog.records))
    record = next(r for r in caplog.records if "hello from the page" in r.getMessage())
    assert record.name == "peerbrowser.js"
    assert record.levelno == logging.WARNING


def test_parse_bootstrap() -> None:
    assert parse_bootstrap("127.0.0.1:49737, [::1]:1234,") == (("127.0.0.1", 49737), ("::1", 1234))
    for bad in ["nohost", ":80", "host:", "host:0", "host:70000", "host:x"]:
        with pytest.raises(ValueError):
            parse_bootstrap(bad)


def test_command_line_reaches_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import browser.app
    from browser import main as main_module

    seen: list[Any] = []
    monkeypatch.setattr(
        browser.app,
        "run",
        lambda config, task=None, offscreen=False: seen.append((config, task, offscreen)) or 0,
    )
    argv = [
        "--headless",
        "--identity",
        "3",
        "--grace",
        "1.5",
        "--bootstrap",
        "127.0.0.1:1",
        "--network",
        "local",
        "peerapp://chat/",
    ]
    assert main_module.main(argv) == 0
    config, task, offscreen = seen[0]
    assert (config.urls, config.identity, config.grace) == (("peerapp://chat/",), 3, 1.5)
    assert (config.bootstrap, config.network, config.headless) == ((("127.0.0.1", 1),), "local", True)
    assert task is None and offscreen is True


def test_a_config_file_chooses_the_network_and_the_command_line_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import browser.app
    from browser import main as main_module

    seen: list[Any] = []
    monkeypatch.setattr(browser.app, "run", lambda config, task=None, offscreen=False: seen.append(config) or 0)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "peerbrowser").mkdir()
    (tmp_path / "peerbrowser" / "config.toml").write_text(
        'network = "public"\nbootstrap = ["127.0.0.1:5000"]\ngrace = 7\nlink_timeout = 6\nreachable = true\n'
        "local_port = 40001\n"
    )
    assert main_module.main(["--headless"]) == 0
    assert (seen[-1].network, seen[-1].bootstrap, seen[-1].grace) == ("public", (("127.0.0.1", 5000),), 7)
    assert (seen[-1].link_timeout, seen[-1].reachable, seen[-1].local_port) == (6, True, 40001)
    assert main_module.main(["--headless", "--local-port", "40002"]) == 0
    assert seen[-1].local_port == 40002
    assert main_module.main(["--headless", "--network", "none", "--grace", "1", "--link-timeout", "2"]) == 0
    assert (seen[-1].network, seen[-1].grace, seen[-1].link_timeout) == ("none", 1.0, 2.0)
    bad = tmp_path / "bad.toml"
    for text, words in [
        ("network = 3", "wrong type"),
        ("netwrok = 'local'", "unknown setting"),
        ("[", "TOML"),
        ("reachable = 1", "wrong type"),
        ("link_timeout = 0.1", "between 1 and 600"),
        ("local_port = 70000", "between 1 and 65535"),
    ]:
        bad.write_text(text)
        assert main_module.main(["--headless", "--config", str(bad)]) == 2
        assert words in capsys.readouterr().err


def test_the_engine_follows_the_network_choice() -> None:
    from browser.config import BrowserConfig
    from browser.core_factory import engine_options

    assert engine_options(BrowserConfig(network="none")) is None
    assert engine_options(BrowserConfig()).network == "local"
    assert engine_options(BrowserConfig(network="public")).network == "public"
    given = engine_options(BrowserConfig(bootstrap=(("127.0.0.1", 5000), ("::1", 6000))))
    assert (given.network, given.bootstrap) == ("bootstrap", ("127.0.0.1:5000", "[::1]:6000"))
    assert (given.link_timeout, given.reachable) == (None, False)
    lan = engine_options(BrowserConfig(bootstrap=(("10.0.0.5", 49737),), link_timeout=5, reachable=True))
    assert (lan.link_timeout, lan.reachable) == (5.0, True)
    assert engine_options(BrowserConfig(link_timeout=4)).link_timeout == 4.0
    assert engine_options(BrowserConfig()).local_port == 49736
    assert engine_options(BrowserConfig(local_port=40001)).local_port == 40001


def test_version_is_the_one_in_browser_init(capsys: pytest.CaptureFixture[str]) -> None:
    from browser import __version__
    from browser import main as main_module

    with pytest.raises(SystemExit) as info:
        main_module.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"peerbrowser {__version__}"
    setup_cfg = (REPO / "setup.cfg").read_text()
    assert "version = attr: browser.__version__" in setup_cfg


def test_the_menu_entry_runs_this_installation(tmp_path: Path) -> None:
    import configparser

    from browser.desktop import exec_argument, install_desktop_entry

    assert exec_argument("/usr/bin/peerbrowser") == "/usr/bin/peerbrowser"
    assert exec_argument("/home/a b/bin/peerbrowser") == '"/home/a b/bin/peerbrowser"'
    assert exec_argument('/x/"q"$/p') == '"/x/\\\\"q\\\\"\\\\$/p"'
    entry = install_desktop_entry({"XDG_DATA_HOME": str(tmp_path)})
    assert entry == tmp_path / "applications" / "peerbrowser.desktop"
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.read(entry)
    section = desktop["Desktop Entry"]
    assert section["Exec"] == f"{exec_argument(str(PEERBROWSER))} %U"
    icon = Path(section["Icon"])
    assert icon == tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "peerbrowser.svg"
    assert icon.read_text().startswith("<svg")
    assert (section["Type"], section["Name"], section["Terminal"]) == ("Application", "Peerbrowser", "false")


def test_tab_shows_an_icon_while_loading(window: BrowserWindow, qtbot: Any) -> None:
    tab = window.new_tab(QUrl())  # an empty URL loads nothing
    with qtbot.waitSignal(tab.page.loadStarted, timeout=LOAD_TIMEOUT_MS):
        tab.load(QUrl("peerapp://chat/"))
    assert not window.tab_widget.tabIcon(0).isNull()
    qtbot.waitUntil(lambda: tab.progress >= 100, timeout=LOAD_TIMEOUT_MS)
    assert window.tab_widget.tabIcon(0).isNull()


_CLOSE_WINDOW_WHEN_LOADED = """
import sys
from PyQt6.QtCore import QTimer
from browser import main, window

shown = window.BrowserWindow.show

def show_then_close(self):
    shown(self)
    timer = QTimer(self)
    timer.timeout.connect(lambda: all(t.progress >= 100 for t in self.tabs()) and self.close())
    timer.start(20)

window.BrowserWindow.show = show_then_close
sys.exit(main.main(["peerapp://chat/", "peerapp://board/"]))
"""


def test_closing_the_window_ends_the_run_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CLOSE_WINDOW_WHEN_LOADED],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert "stopping: window closed" in result.stderr
    assert "shut down cleanly" in result.stderr


def test_no_display_and_no_headless_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [str(PEERBROWSER), "peerapp://chat/"], capture_output=True, text=True, timeout=60, cwd=REPO, env=env
    )
    assert result.returncode == 2
    assert "--headless" in result.stderr
