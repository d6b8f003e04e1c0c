"""DevTools in the browser window: shortcuts, the dock, following tabs, "Inspect"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QApplication, QMenu, QToolBar

from browser.devtools import DOCK_TEXT, UNDOCK_TEXT
from browser.tab import Tab
from browser.window import BrowserWindow

from .conftest import LOAD_TIMEOUT_MS, OFFSCREEN_NOISE, open_and_wait

pytestmark = [
    pytest.mark.browser,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE),
]

NO_KEYS = Qt.KeyboardModifier.NoModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def open_tab(qtbot: Any) -> Callable[..., Tab]:
    def open_(window: BrowserWindow, url: str = "peerapp://chat/") -> Tab:
        return open_and_wait(qtbot, window, url)

    return open_


@pytest.fixture
def active_window(window: BrowserWindow, qtbot: Any) -> BrowserWindow:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def inspecting(window: BrowserWindow, tab: Tab) -> bool:
    """DevTools are shown, attached to ``tab``'s page, and only to it."""
    dock = window.devtools
    return (
        dock.isVisible()
        and dock.inspected() is tab.page
        and dock.page is not None
        and tab.page.devToolsPage() is dock.page
        and dock.page.inspectedPage() is tab.page
        and all(t.page.devToolsPage() is None for t in window.tabs() if t is not tab)
    )


def front_loaded(window: BrowserWindow, js: Callable[..., Any]) -> bool:
    """The DevTools front end (Chromium's own web app) has loaded in the dock."""
    page = window.devtools.page
    if page is None or page.url().scheme() != "devtools":
        return False
    return js(page, "document.readyState") == "complete"


def test_f12_opens_devtools_for_the_current_tab_and_closes_them(
    active_window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any, js: Callable[..., Any]
) -> None:
    window = active_window
    tab = open_tab(window)
    assert not window.devtools.isVisible() and tab.page.devToolsPage() is None
    tab.view.focusProxy().setFocus()
    qtbot.keyClick(tab.view.focusProxy(), Qt.Key.Key_F12, NO_KEYS)
    qtbot.waitUntil(lambda: inspecting(window, tab))
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)
    # docked in the window, below the page, with the tab's title in its title bar
    assert not window.devtools.isFloating()
    assert window.dockWidgetArea(window.devtools) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.devtools.title_label.text() == "DevTools — Chat"
    # the PeerSocket panel is another thing, and stays closed
    assert not window.panel.isVisible()

    qtbot.keyClick(window.address_bar, Qt.Key.Key_F12, NO_KEYS)
    assert not window.devtools.isVisible()
    assert tab.page.devToolsPage() is None and window.devtools.inspected() is None


def test_ctrl_shift_i_toggles_devtools_and_ctrl_shift_p_the_panel(
    active_window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any
) -> None:
    window = active_window
    tab = open_tab(window)
    qtbot.keyClick(window.address_bar, Qt.Key.Key_I, CTRL_SHIFT)
    qtbot.waitUntil(lambda: inspecting(window, tab))
    qtbot.keyClick(window.address_bar, Qt.Key.Key_P, CTRL_SHIFT)
    assert window.panel.isVisible() and window.devtools.isVisible()
    qtbot.keyClick(window.address_bar, Qt.Key.Key_I, CTRL_SHIFT)
    assert not window.devtools.isVisible() and window.panel.isVisible()
    qtbot.keyClick(window.address_bar, Qt.Key.Key_P, CTRL_SHIFT)
    assert not window.panel.isVisible()
    # both have their entry in the toolbar
    toolbar = window.findChild(QToolBar, "navigation-toolbar")
    assert toolbar is not None
    actions = toolbar.actions()
    assert window.actions_by_name["toggle-devtools"] in actions
    assert window.actions_by_name["toggle-panel"] in actions
    assert window.actions_by_name["toggle-panel"].shortcuts()[0].toString() == "Ctrl+Shift+P"


def test_devtools_follow_tab_switches_and_closes(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any, js: Callable[..., Any]
) -> None:
    first = open_tab(window)
    second = open_tab(window, "peerapp://board/")
    window.actions_by_name["toggle-devtools"].trigger()
    qtbot.waitUntil(lambda: inspecting(window, second))
    front = window.devtools.page

    window.tab_widget.setCurrentWidget(first.widget)
    qtbot.waitUntil(lambda: inspecting(window, first))
    assert window.devtools.page is front  # one front end, re-pointed
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)

    # a tab closed in the background changes nothing
    third = open_tab(window, "peerapp://start/")
    window.tab_widget.setCurrentWidget(first.widget)
    qtbot.waitUntil(lambda: inspecting(window, first))
    window.close_tab_object(third)
    assert inspecting(window, first)

    # closing the inspected tab inspects the tab that becomes current
    window.close_tab_object(first)
    qtbot.waitUntil(lambda: inspecting(window, second))
    # closing the last tab leaves a start page, and DevTools on it
    window.close_tab_object(second)
    (start,) = window.tabs()
    qtbot.waitUntil(lambda: inspecting(window, start))
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)


def test_undock_and_dock_again(window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any) -> None:
    tab = open_tab(window)
    window.actions_by_name["toggle-devtools"].trigger()
    qtbot.waitUntil(lambda: inspecting(window, tab))
    dock = window.devtools
    assert dock.float_button.text() == UNDOCK_TEXT
    qtbot.mouseClick(dock.float_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dock.isFloating)
    assert dock.float_button.text() == DOCK_TEXT
    assert dock.isWindow() and dock.isVisible()
    assert inspecting(window, tab)
    # still follows the tabs while undocked
    other = open_tab(window, "peerapp://start/")
    qtbot.waitUntil(lambda: inspecting(window, other))
    qtbot.mouseClick(dock.float_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dock.isFloating())
    assert dock.float_button.text() == UNDOCK_TEXT
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert inspecting(window, other)
    # the close button hides them and detaches the page
    qtbot.mouseClick(dock.close_button, Qt.MouseButton.LeftButton)
    assert not dock.isVisible() and other.page.devToolsPage() is None


def _shown_menu() -> QMenu | None:
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    return shown[0] if shown else None


def _context_menu(qtbot: Any, tab: Tab, at: QPoint) -> QMenu:
    """Right-click at ``at`` (two clicks at one place would make a double click)."""
    assert _shown_menu() is None
    qtbot.mouseClick(tab.view.focusProxy(), Qt.MouseButton.RightButton, NO_KEYS, at)
    qtbot.waitUntil(lambda: _shown_menu() is not None, timeout=LOAD_TIMEOUT_MS)
    found = _shown_menu()
    assert found is not None
    return found


def test_inspect_in_the_context_menu_opens_devtools_on_that_page(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any, js: Callable[..., Any]
) -> None:
    other = open_tab(window, "peerapp://start/")
    tab = open_tab(window)
    menu = _context_menu(qtbot, tab, QPoint(20, 20))
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts[-1] == "Inspect"
    assert "Reload" in texts  # Qt's own entries are kept
    inspect = menu.actions()[-1]
    inspect.trigger()
    menu.close()
    qtbot.waitUntil(lambda: inspecting(window, tab))
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)
    assert other.page.devToolsPage() is None

    # with DevTools open, the menu still has a single "Inspect"
    menu = _context_menu(qtbot, tab, QPoint(60, 30))
    assert [a.text() for a in menu.actions()].count("Inspect") == 1
    menu.close()


def test_the_devtools_front_end_gets_no_peersocket(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any, js: Callable[..., Any]
) -> None:
    tab = open_tab(window)
    assert js(tab, "typeof PeerSocket") == "function"
    window.devtools.show_for(tab.page)
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)
    assert window.devtools.page is not None
    assert window.devtools.page.profile() is not window.profile
    assert js(window.devtools.page, "typeof PeerSocket + ' ' + typeof qt") == "undefined undefined"


def test_console_messages_stay_in_the_log_with_devtools_open(
    window: BrowserWindow,
    open_tab: Callable[..., Tab],
    qtbot: Any,
    js: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    tab = open_tab(window)
    window.devtools.show_for(tab.page)
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)
    with caplog.at_level(logging.INFO, logger="peerbrowser.js"):
        js(tab, "console.warn('seen in the log, devtools open'), true")
        qtbot.waitUntil(lambda: "seen in the log, devtools open" in caplog.text)
    record = next(r for r in caplog.records if "devtools open" in r.getMessage())
    assert record.name == "peerbrowser.js" and record.levelno == logging.WARNING


def test_shutdown_with_devtools_open_deletes_the_front_end_and_its_profile(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any, js: Callable[..., Any]
) -> None:
    tab = open_tab(window)
    window.devtools.show_for(tab.page)
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)
    front = window.devtools.page
    assert front is not None
    profile = front.profile()
    gone: list[str] = []
    front.destroyed.connect(lambda *_: gone.append("page"))
    profile.destroyed.connect(lambda *_: gone.append("profile"))
    assert window.devtools.pages() == [front, profile]
    window.shutdown()
    qtbot.waitUntil(lambda: len(gone) == 2, timeout=LOAD_TIMEOUT_MS)
    assert gone == ["page", "profile"]


def test_the_close_button_of_devtools_own_toolbar_closes_the_dock(
    window: BrowserWindow, open_tab: Callable[..., Tab], qtbot: Any, js: Callable[..., Any]
) -> None:
    tab = open_tab(window)
    window.devtools.show_for(tab.page)
    qtbot.waitUntil(lambda: front_loaded(window, js), timeout=LOAD_TIMEOUT_MS)
    front = window.devtools.page
    assert front is not None
    # what DevTools' ✕ calls on its host
    qtbot.waitUntil(lambda: js(front, "typeof InspectorFrontendHost === 'object'") is True)
    js(front, "InspectorFrontendHost.closeWindow(), true")
    qtbot.waitUntil(lambda: not window.devtools.isVisible())
    assert tab.page.devToolsPage() is None
