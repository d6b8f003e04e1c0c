"""A closed tab is deleted by Qt, in order (page, then view), never by Python's
garbage collector in between.

PyQt6's ``deleteLater()`` drops the wrapper's link to its Qt parent, so a tab
being torn down is only a reference cycle to Python until Qt deletes it; the
page is owned by Python, and a collection at that moment deleted it at once,
mid-load, in no particular order with its view: QtWebEngine then crashed.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

from browser.window import BrowserWindow
from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.browser


def close_loaded_tab(window: BrowserWindow, qtbot: Any, order: list[str]) -> None:
    """Open a page, then close its tab; no reference to it is kept here."""
    tab = window.new_tab("peerapp://chat/")
    qtbot.waitUntil(lambda: tab.page.url().toString() == "peerapp://chat/", timeout=LOAD_TIMEOUT_MS)
    tab.page.destroyed.connect(lambda *_: order.append("page"))
    tab.view.destroyed.connect(lambda *_: order.append("view"))
    tab.widget.destroyed.connect(lambda *_: order.append("widget"))
    window.close_tab_object(tab)


def test_a_closed_tab_waits_for_qt_to_delete_it_in_order(window: BrowserWindow, qtbot: Any) -> None:
    window.new_tab("peerapp://start/")
    order: list[str] = []
    close_loaded_tab(window, qtbot, order)
    gc.collect()
    assert order == []  # nothing deleted by the collector
    qtbot.waitUntil(lambda: len(order) == 3, timeout=LOAD_TIMEOUT_MS)
    assert order == ["page", "view", "widget"]
