"""The window's tabs: opening, closing, switching, keys, navigation, labels
(browser/window.py, browser/tab.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import QPoint, Qt, QUrl

from browser.tab import Tab
from browser.window import BrowserWindow

from .conftest import BROWSER_MARKS, LOAD_TIMEOUT_MS, tab_texts

pytestmark = BROWSER_MARKS


def press(qtbot: Any, widget: Any, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> None:
    qtbot.keyClick(widget, key, modifiers)


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


def test_tab_shows_an_icon_while_loading(window: BrowserWindow, qtbot: Any) -> None:
    tab = window.new_tab(QUrl())  # an empty URL loads nothing
    with qtbot.waitSignal(tab.page.loadStarted, timeout=LOAD_TIMEOUT_MS):
        tab.load(QUrl("peerapp://chat/"))
    assert not window.tab_widget.tabIcon(0).isNull()
    qtbot.waitUntil(lambda: tab.progress >= 100, timeout=LOAD_TIMEOUT_MS)
    assert window.tab_widget.tabIcon(0).isNull()


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


def test_identity_menu_opens_tabs_as_identities(window: BrowserWindow, qtbot: Any) -> None:
    window.identity_menu.findChild(type(window.actions_by_name["new-tab"]), "identity-4").trigger()
    assert [t.identity for t in window.tabs()] == [4]
    next_free = window.identity_menu.findChild(type(window.actions_by_name["new-tab"]), "identity-next-free")
    next_free.trigger()
    next_free.trigger()
    assert [t.identity for t in window.tabs()] == [4, 1, 2]
    for tab in window.tabs():
        qtbot.waitUntil(lambda tab=tab: tab.progress >= 100, timeout=LOAD_TIMEOUT_MS)


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


VISIBILITY_JS = "document.visibilityState"


def test_a_headless_window_keeps_every_tab_visible_and_unthrottled(
    window_factory: Callable[..., BrowserWindow], open_tab: Callable[..., Tab], js: Callable[..., Any], qtbot: Any
) -> None:
    """In a headless run no one looks at any tab: none is a throttled background tab
    (timers at 1 Hz), whichever is in front, also after switching tabs."""
    window = window_factory(pages_always_visible=True)
    first = open_tab(window, "peerapp://start/")
    second = open_tab(window, "peerapp://chat/")
    window.switch_tab(1)  # the first in front, the second behind
    assert window.current_tab() is first
    for tab in (first, second):
        qtbot.waitUntil(lambda tab=tab: js(tab, VISIBILITY_JS) == "visible", timeout=LOAD_TIMEOUT_MS)
    # a background tab's timers run at full speed: 20 zero-delay timers in a row
    js(second, "window.ticks = 0; (function t () { if (++window.ticks < 20) setTimeout(t, 0) })(); true")
    qtbot.waitUntil(lambda: js(second, "window.ticks") == 20, timeout=LOAD_TIMEOUT_MS)
    window.switch_tab(1)
    assert window.current_tab() is second
    qtbot.waitUntil(lambda: js(first, VISIBILITY_JS) == "visible", timeout=LOAD_TIMEOUT_MS)


def test_headless_tabs_opened_before_the_window_shows_stay_visible(
    window_factory: Callable[..., BrowserWindow], open_tab: Callable[..., Tab], js: Callable[..., Any], qtbot: Any
) -> None:
    """``peerbrowser --headless URL URL`` opens its tabs and then shows the window
    (browser/app.py): the tabs behind the first must not become hidden, throttled
    background tabs when it shows."""
    window = window_factory(pages_always_visible=True)
    window.hide()
    first = open_tab(window, "peerapp://start/")
    second = open_tab(window, "peerapp://chat/")
    window.switch_tab(1)
    window.show()
    for tab in (first, second):
        qtbot.waitUntil(lambda tab=tab: js(tab, VISIBILITY_JS) == "visible", timeout=LOAD_TIMEOUT_MS)
        assert tab.page.isVisible()


def test_a_window_on_screen_has_its_background_tabs_hidden(
    window: BrowserWindow, open_tab: Callable[..., Tab], js: Callable[..., Any], qtbot: Any
) -> None:
    """The other side of the test above: with a window a person looks at, a tab behind
    another is hidden, as in every browser."""
    first = open_tab(window, "peerapp://start/")
    open_tab(window, "peerapp://chat/")
    qtbot.waitUntil(lambda: js(first, VISIBILITY_JS) == "hidden", timeout=LOAD_TIMEOUT_MS)
