"""Chromium's DevTools for the current tab, in a dock of the browser window.

F12 / Ctrl+Shift+I (the window's ``toggle-devtools`` action) show or hide the
dock; "Inspect" in a page's context menu shows it on that page and selects the
element under the mouse. The dock follows the current tab: switching tabs
inspects the new current tab, closing the inspected tab inspects the one that
becomes current. Its title bar has a button to undock it into a window of its
own and back.

The DevTools front end is a web page too. It lives in a profile of its own,
made the first time DevTools open: the browser's profile injects
``peersocket.js`` into every page, and the DevTools page must not get it.
While the dock is hidden no page is inspected (nothing is attached to the
page's renderer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6.QtCore import QObject, QPoint, Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PyQt6.QtWebEngineWidgets import QWebEngineView
from PyQt6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QToolButton,
    QWidget,
)

log = logging.getLogger("peerbrowser.devtools")

UNDOCK_TEXT = "Undock"
DOCK_TEXT = "Dock"
UNDOCK_TIP = "Show DevTools in a window of their own"
DOCK_TIP = "Put DevTools back into the browser window"
#: Height of the dock the first time it opens (at least; else 40 % of the window).
MIN_HEIGHT = 240


class DevToolsFrontPage(QWebEnginePage):
    """The DevTools front end: its own console messages are its business, not the log's."""

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str | None,
        line: int,
        source: str | None,
    ) -> None:
        log.debug("front end console: %s:%d: %s", source, line, message)


class DevToolsDock(QDockWidget):
    """The DevTools dock of one window.

    ``inspected()`` is the page DevTools show (None while hidden). The window
    calls ``follow(page)`` when its current tab changes and ``shutdown()``
    before its tabs are torn down.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("DevTools", window)
        self.setObjectName("devtools")
        self.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self._current: QWebEnginePage | None = None
        self._inspected: QWebEnginePage | None = None
        self._profile: QWebEngineProfile | None = None
        self.page: QWebEnginePage | None = None
        self.view: QWebEngineView | None = None
        self._shut_down = False

        bar = QWidget()
        bar.setObjectName("devtools-title-bar")
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(6, 2, 2, 2)
        self.title_label = QLabel("DevTools")
        self.title_label.setObjectName("devtools-title")
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.title_label, 1)
        self.float_button = QToolButton()
        self.float_button.setObjectName("devtools-undock")
        self.float_button.setText(UNDOCK_TEXT)
        self.float_button.setToolTip(UNDOCK_TIP)
        self.float_button.clicked.connect(lambda _checked=False: self.setFloating(not self.isFloating()))
        layout.addWidget(self.float_button)
        self.close_button = QToolButton()
        self.close_button.setObjectName("devtools-close")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Close DevTools (F12)")
        self.close_button.clicked.connect(lambda _checked=False: self.hide())
        layout.addWidget(self.close_button)
        self.setTitleBarWidget(bar)

        self.placeholder = QLabel("No page to inspect")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidget(self.placeholder)
        self.topLevelChanged.connect(self._on_floating)
        self.visibilityChanged.connect(lambda _visible: self._sync())

    # -- what the window calls ------------------------------------------------------

    def follow(self, page: QWebEnginePage | None) -> None:
        """``page`` is now the current tab's page: inspect it while DevTools are shown."""
        if page is self._current:
            return
        if self._current is not None:
            self._disconnect_page(self._current)
        self._current = page
        if page is not None:
            page.destroyed.connect(self._on_page_destroyed)
            page.titleChanged.connect(self._update_title)
        self._sync()

    def show_for(self, page: QWebEnginePage | None) -> None:
        """Show DevTools on ``page`` (None: the current tab's)."""
        if page is not None and page is not self._current:
            self.follow(page)
        first_time = self.page is None
        self.show()
        window = self.parentWidget()
        if first_time and not self.isFloating() and isinstance(window, QMainWindow):
            window.resizeDocks([self], [max(MIN_HEIGHT, window.height() * 2 // 5)], Qt.Orientation.Vertical)
        self.raise_()
        self._sync()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.show_for(None)

    def inspect_element(self, page: QWebEnginePage) -> None:
        """Show DevTools on ``page`` and select the element of its last context menu."""
        self.show_for(page)
        page.triggerAction(QWebEnginePage.WebAction.InspectElement)

    def inspected(self) -> QWebEnginePage | None:
        return self._inspected

    def context_menu(self, view: QWebEngineView, pos: QPoint) -> QMenu | None:
        """The page's standard context menu with "Inspect" at its end, shown at ``pos``.

        Qt's menu offers "Inspect" only while DevTools are already open on the
        page; this one always does, and opens them.
        """
        menu = view.createStandardContextMenu()
        if menu is None:
            return None
        page = view.page()
        builtin = page.action(QWebEnginePage.WebAction.InspectElement) if page is not None else None
        if builtin is not None and builtin in menu.actions():
            menu.removeAction(builtin)
        if page is not None:
            inspect = QAction("Inspect", menu)
            inspect.setObjectName("inspect-element")
            inspect.triggered.connect(lambda _checked=False, page=page: self.inspect_element(page))
            if menu.actions():
                menu.addSeparator()
            menu.addAction(inspect)
        # Qt owns it from here (a menu only Python holds would be collected at once),
        # and deletes it when it closes.
        menu.setParent(view, menu.windowFlags())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(view.mapToGlobal(pos))
        return menu

    def pages(self) -> list[QObject]:
        """What ``shutdown()`` deletes: the DevTools page, then its profile.

        Callers wait until they are gone before deleting the browser's profile.
        """
        return [self.page, self._profile] if self.page is not None and self._profile is not None else []

    def shutdown(self) -> None:
        """Stop inspecting and delete the DevTools page, then its profile. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self._attach(None)
        if self._current is not None:
            self._disconnect_page(self._current)
            self._current = None
        if self.page is not None:
            page, profile = self.page, self._profile
            self.page = None
            self._profile = None
            self.setWidget(self.placeholder)
            if profile is not None:
                page.destroyed.connect(profile.deleteLater)
            # the view owns the page (deleted with it, after the view lets go of it)
            if self.view is not None:
                self.view.deleteLater()
                self.view = None
            else:
                page.deleteLater()

    # -- internals ------------------------------------------------------------------------

    def _disconnect_page(self, page: QWebEnginePage) -> None:
        try:
            page.destroyed.disconnect(self._on_page_destroyed)
            page.titleChanged.disconnect(self._update_title)
        except TypeError:  # already gone
            pass

    def _sync(self) -> None:
        """Inspect the current page while shown; nothing while hidden."""
        if self._shut_down:
            return
        wanted = None if self.isHidden() else self._current
        self._attach(wanted)
        self._update_title()

    def _ensure_front(self) -> QWebEnginePage:
        if self.page is None:
            self._profile = QWebEngineProfile()  # off the record, no page scripts
            self.view = QWebEngineView()
            self.view.setObjectName("devtools-view")
            self.page = DevToolsFrontPage(self._profile, self.view)
            self.view.setPage(self.page)
            # the ✕ in DevTools' own toolbar
            self.page.windowCloseRequested.connect(self.hide)
            log.debug("DevTools front end created")
        if self.widget() is not self.view:
            self.setWidget(self.view)
        return self.page

    def _attach(self, page: QWebEnginePage | None) -> None:
        if page is self._inspected:
            return
        if self._inspected is not None:
            self._inspected.setDevToolsPage(None)
            self._inspected = None
        if page is not None:
            front = self._ensure_front()
            page.setDevToolsPage(front)
            self._inspected = page
            log.debug("DevTools inspect %s", page.url().toDisplayString())
        elif self.page is None:
            self.setWidget(self.placeholder)

    def _on_page_destroyed(self, *_args: object) -> None:
        self._current = None
        self._inspected = None
        self._update_title()

    def _on_floating(self, floating: bool) -> None:
        self.float_button.setText(DOCK_TEXT if floating else UNDOCK_TEXT)
        self.float_button.setToolTip(DOCK_TIP if floating else UNDOCK_TIP)

    def _update_title(self, *_args: object) -> None:
        page = self._inspected
        title = (page.title() or page.url().toDisplayString()) if page is not None else ""
        text = f"DevTools — {title}" if title else "DevTools"
        self.title_label.setText(text)
        self.setWindowTitle(text)


def install_context_menu(view: QWebEngineView, dock: DevToolsDock) -> Callable[[QPoint], object]:
    """Give ``view`` the context menu with "Inspect"; returns the connected slot."""
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show(pos: QPoint) -> object:
        return dock.context_menu(view, pos)

    view.customContextMenuRequested.connect(show)
    return show
