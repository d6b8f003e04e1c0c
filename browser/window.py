"""The browser window: tabs, address bar, navigation, identity menu, panel."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6 import sip
from PyQt6.QtCore import Qt, QTimer, QUrl, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QShowEvent
from PyQt6.QtWebEngineCore import QWebEngineNewWindowRequest, QWebEnginePage, QWebEngineProfile
from PyQt6.QtWidgets import (
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from bridge.origin import origin_of
from browser.devtools import DevToolsDock, install_context_menu
from browser.panel import PeerSocketPanel
from browser.peers_indicator import PeersIndicator
from browser.permissions_dialog import SitePermissionsDialog
from browser.scheme import START_URL
from browser.site_permissions import SitePermissions
from browser.tab import Tab
from browser.urls import url_from_input
from browser.widgets import MiddleClickCloser, identity_menu, menu_button
from swarm.core import SwarmCore

log = logging.getLogger("peerbrowser.window")

APP_NAME = "Peerbrowser"
MAX_TAB_LABEL = 28


class BrowserWindow(QMainWindow):
    """A tabbed browser window.

    Signals:
        closed(): the window was closed by the user (all tabs are gone).
    """

    closed = pyqtSignal()

    def __init__(
        self,
        profile: QWebEngineProfile,
        core: SwarmCore | None = None,
        default_identity: int | None = None,
        parent: QWidget | None = None,
        *,
        permissions: SitePermissions | None = None,
        pages_always_visible: bool = False,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.core = core
        self.default_identity = default_identity
        #: Headless runs: no tab is a background tab (Chromium throttles those: timers at
        #: 1 Hz, a lower priority), since no one is looking at any of them.
        self.pages_always_visible = pages_always_visible
        # Which sites may connect to peers; without one given: ask, remember nothing on disk.
        self.permissions = permissions if permissions is not None else SitePermissions(parent=self)
        if self.permissions.core is None:
            self.permissions.core = core
        self.permissions.problem.connect(self._show_problem)
        self.permissions_dialog: SitePermissionsDialog | None = None
        self._tabs: dict[QWidget, Tab] = {}
        self._shut_down = False
        self.setWindowTitle(APP_NAME)
        self.resize(1280, 800)

        self.tab_widget = QTabWidget()
        self.tab_widget.setDocumentMode(True)
        self.tab_widget.setTabsClosable(True)
        self.tab_widget.setMovable(True)
        self.tab_widget.setElideMode(Qt.TextElideMode.ElideRight)
        self.tab_widget.tabCloseRequested.connect(self.close_tab)
        self.tab_widget.currentChanged.connect(self._on_current_changed)
        bar = self.tab_widget.tabBar()
        assert bar is not None
        self._middle_click = MiddleClickCloser(bar, self.close_tab)
        self.setCentralWidget(self.tab_widget)

        self.address_bar = QLineEdit()
        self.address_bar.setObjectName("address-bar")
        self.address_bar.setPlaceholderText("Address (peerapp://chat/, 127.0.0.1:8080, …)")
        self.address_bar.setClearButtonEnabled(True)
        self.address_bar.returnPressed.connect(self._on_address_entered)

        self.progress = QProgressBar()
        self.progress.setObjectName("load-progress")
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        status = self.statusBar()
        assert status is not None
        status.addPermanentWidget(self.progress)

        self.panel = PeerSocketPanel(core, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        self.resizeDocks([self.panel], [480], Qt.Orientation.Horizontal)
        self.panel.hide()
        self.devtools = DevToolsDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.devtools)
        self.devtools.hide()

        style = self.style()
        assert style is not None
        self._loading_icon = style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        self.actions_by_name: dict[str, QAction] = {}
        self._build_actions()
        self.peers_indicator = PeersIndicator(
            self.address_bar, core, self.permissions, self._current_origin, self.show_site_permissions
        )
        self._build_toolbar()
        self._update_navigation()

    # -- actions and toolbar ------------------------------------------------------

    def _action(
        self, name: str, text: str, slot: Callable[[], object], *shortcuts: QKeySequence.StandardKey | str
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        self._action("new-tab", "New tab", self.new_tab, "Ctrl+T")
        self._action("quit", "Quit", self.close, "Ctrl+Q")
        self._action("close-tab", "Close tab", self.close_current_tab, "Ctrl+W")
        self._action("focus-address", "Focus address bar", self.focus_address_bar, "Ctrl+L")
        self._action("next-tab", "Next tab", lambda: self.switch_tab(1), "Ctrl+Tab", "Ctrl+PgDown")
        self._action(
            "previous-tab",
            "Previous tab",
            lambda: self.switch_tab(-1),
            "Ctrl+Shift+Tab",
            "Ctrl+PgUp",
        )
        self._action("back", "Back", lambda: self._page_action(QWebEnginePage.WebAction.Back), "Alt+Left")
        self._action(
            "forward", "Forward", lambda: self._page_action(QWebEnginePage.WebAction.Forward), "Alt+Right"
        )
        self._action(
            "reload", "Reload", lambda: self._page_action(QWebEnginePage.WebAction.Reload), "F5", "Ctrl+R"
        )
        self._action("stop", "Stop", lambda: self._page_action(QWebEnginePage.WebAction.Stop))
        panel_action = self.panel.toggleViewAction()
        assert panel_action is not None
        panel_action.setText("PeerSocket panel")
        panel_action.setObjectName("toggle-panel")
        panel_action.setShortcuts([QKeySequence("Ctrl+Shift+P")])
        self.addAction(panel_action)
        self.actions_by_name["toggle-panel"] = panel_action
        self._action("toggle-devtools", "DevTools", self.devtools.toggle, "F12", "Ctrl+Shift+I")
        self._action("site-permissions", "Site permissions…", self.show_site_permissions)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Navigation")
        toolbar.setObjectName("navigation-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        a = self.actions_by_name
        style = self.style()
        assert style is not None
        icons = {
            "back": (QStyle.StandardPixmap.SP_ArrowBack, "Back (Alt+Left)"),
            "forward": (QStyle.StandardPixmap.SP_ArrowForward, "Forward (Alt+Right)"),
            "reload": (QStyle.StandardPixmap.SP_BrowserReload, "Reload (F5)"),
            "stop": (QStyle.StandardPixmap.SP_BrowserStop, "Stop loading"),
        }
        for name, (pixmap, tip) in icons.items():
            a[name].setIcon(style.standardIcon(pixmap))
            a[name].setToolTip(tip)
            toolbar.addAction(a[name])
            button = toolbar.widgetForAction(a[name])
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        toolbar.addWidget(self.address_bar)
        a["new-tab"].setText("+")
        a["new-tab"].setToolTip("New tab (Ctrl+T)")
        toolbar.addAction(a["new-tab"])
        self.identity_menu = identity_menu(self, self.new_tab, self.next_free_identity)
        toolbar.addWidget(menu_button(self.identity_menu, "identity-button"))
        toolbar.addAction(a["toggle-panel"])
        a["toggle-devtools"].setToolTip("DevTools for this tab (F12, Ctrl+Shift+I)")
        toolbar.addAction(a["toggle-devtools"])
        toolbar.addWidget(menu_button(self._main_menu(), "main-menu-button"))
        self.addToolBar(toolbar)

    def _main_menu(self) -> QMenu:
        menu = QMenu("Menu", self)
        menu.setObjectName("main-menu")
        a = self.actions_by_name
        for name in ("new-tab", "site-permissions", "toggle-panel", "toggle-devtools", "quit"):
            menu.addAction(a[name])
        return menu

    # -- tabs --------------------------------------------------------------------

    def tabs(self) -> list[Tab]:
        """Open tabs in tab-bar order."""
        result = []
        for i in range(self.tab_widget.count()):
            widget = self.tab_widget.widget(i)
            if widget is not None and widget in self._tabs:
                result.append(self._tabs[widget])
        return result

    def current_tab(self) -> Tab | None:
        widget = self.tab_widget.currentWidget()
        return self._tabs.get(widget) if widget is not None else None

    def next_free_identity(self) -> int:
        used = {t.identity for t in self._tabs.values()}
        n = 1
        while n in used:
            n += 1
        return n

    def new_tab(
        self,
        url: QUrl | str | None = None,
        identity: int | None = None,
        *,
        background: bool = False,
    ) -> Tab:
        """Open ``url`` (default: the start page) in a new tab running as ``identity``.

        ``identity`` None means the window's default identity.
        """
        if identity is None:
            identity = self.default_identity
        tab = Tab(self.profile, self.core, identity, self, permissions=self.permissions)
        self._tabs[tab.widget] = tab
        tab.labelChanged.connect(lambda _text, tab=tab: self._update_label(tab))
        tab.page.loadProgress.connect(lambda value, tab=tab: self._on_progress(tab, value))
        tab.page.loadStarted.connect(lambda tab=tab: self._on_progress(tab, 0))
        tab.page.loadFinished.connect(lambda _ok, tab=tab: self._on_load_finished(tab))
        tab.page.urlChanged.connect(lambda _url, tab=tab: self._on_url_changed(tab))
        tab.page.titleChanged.connect(lambda _t, tab=tab: self._update_window_title())
        tab.page.linkHovered.connect(self._on_link_hovered)
        tab.page.windowCloseRequested.connect(lambda tab=tab: self.close_tab_object(tab))
        tab.page.newWindowRequested.connect(self._on_new_window_requested)
        install_context_menu(tab.view, self.devtools)
        if self.pages_always_visible:
            keep_visible(tab.page)
        index = self.tab_widget.addTab(tab.widget, tab.label())
        if not background:
            self.tab_widget.setCurrentIndex(index)
        qurl = QUrl(START_URL if url is None else url)
        if not qurl.isEmpty():
            tab.load(qurl)
        if not background and url is None:
            self.focus_address_bar()
        log.debug("opened tab as identity %s: %s", identity, url)
        return tab

    def close_tab(self, index: int) -> None:
        widget = self.tab_widget.widget(index)
        tab = self._tabs.get(widget) if widget is not None else None
        if tab is not None:
            self.close_tab_object(tab)

    def close_current_tab(self) -> None:
        tab = self.current_tab()
        if tab is not None:
            self.close_tab_object(tab)

    def close_tab_object(self, tab: Tab) -> None:
        """Remove ``tab`` and tear it down. The last tab is replaced by a start page."""
        if tab.widget not in self._tabs:
            return
        del self._tabs[tab.widget]
        index = self.tab_widget.indexOf(tab.widget)
        if index >= 0:
            self.tab_widget.removeTab(index)
        tab.close()
        if not self._tabs and not self._shut_down:
            self.new_tab()

    def switch_tab(self, step: int) -> None:
        count = self.tab_widget.count()
        if count:
            self.tab_widget.setCurrentIndex((self.tab_widget.currentIndex() + step) % count)

    def focus_address_bar(self) -> None:
        self.address_bar.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.address_bar.selectAll()

    def navigate(self, text: str) -> bool:
        """Load what was typed into the current tab (a new one if none)."""
        url = url_from_input(text)
        status = self.statusBar()
        if url is None:
            if status is not None:
                status.showMessage(f"Not an address: {text}", 5000)
            return False
        tab = self.current_tab() or self.new_tab(url)
        tab.load(url)
        tab.view.setFocus()
        return True

    # -- site permissions -----------------------------------------------------------

    def _current_origin(self) -> str | None:
        tab = self.current_tab()
        if tab is None or tab.page.url().isEmpty():
            return None
        return origin_of(tab.page.url())

    def show_site_permissions(self) -> SitePermissionsDialog:
        """The "Site permissions" dialog (not modal), on the current tab's site."""
        if self.permissions_dialog is None:
            self.permissions_dialog = SitePermissionsDialog(self.permissions, self)
        dialog = self.permissions_dialog
        origin = self._current_origin()
        if origin is not None:
            dialog.select(origin)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _show_problem(self, message: str) -> None:
        status = self.statusBar()
        if status is not None:
            status.showMessage(message, 10000)

    # -- shutdown -------------------------------------------------------------------

    def shutdown(self) -> None:
        """Close every tab (pages deleted before their views) and stop the panel."""
        if self._shut_down:
            return
        self._shut_down = True
        self.panel.detach()
        self.devtools.shutdown()
        self.peers_indicator.detach()
        if self.permissions_dialog is not None:
            self.permissions_dialog.detach()
            self.permissions_dialog.close()
        for tab in list(self._tabs.values()):
            self.close_tab_object(tab)

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        if self.pages_always_visible:
            # showing the window hides the tabs that are not in front (their views were
            # never shown): make them visible again once the show is done
            QTimer.singleShot(0, self._show_every_page)

    def _show_every_page(self) -> None:
        for tab in self.tabs():
            if not sip.isdeleted(tab.page):
                tab.page.setVisible(True)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self.shutdown()
        super().closeEvent(event)
        self.closed.emit()

    # -- signal handlers ------------------------------------------------------------

    def _page_action(self, action: QWebEnginePage.WebAction) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.page.triggerAction(action)

    def _on_address_entered(self) -> None:
        self.navigate(self.address_bar.text())

    def _on_current_changed(self, _index: int) -> None:
        tab = self.current_tab()
        self.devtools.follow(tab.page if tab is not None else None)
        self.peers_indicator.refresh()
        if tab is None:
            return
        self._show_url(tab)
        self._show_progress(tab.progress)
        self._update_window_title()
        self._update_navigation()

    def _update_label(self, tab: Tab) -> None:
        index = self.tab_widget.indexOf(tab.widget)
        if index < 0:
            return
        label = tab.label()
        shown = label if len(label) <= MAX_TAB_LABEL else label[: MAX_TAB_LABEL - 1] + "…"
        self.tab_widget.setTabText(index, shown.replace("&", "&&"))
        self.tab_widget.setTabToolTip(index, f"{label}\n{tab.page.url().toDisplayString()}")
        if tab is self.current_tab():
            self._update_window_title()

    def _update_window_title(self) -> None:
        tab = self.current_tab()
        self.setWindowTitle(f"{tab.label()} — {APP_NAME}" if tab is not None else APP_NAME)

    def _on_progress(self, tab: Tab, value: int) -> None:
        tab.progress = value
        index = self.tab_widget.indexOf(tab.widget)
        if index >= 0:
            self.tab_widget.setTabIcon(index, self._loading_icon if value < 100 else QIcon())
        if tab is self.current_tab():
            self._show_progress(value)
            self._update_navigation()

    def _on_load_finished(self, tab: Tab) -> None:
        self._on_progress(tab, 100)

    def _show_progress(self, value: int) -> None:
        self.progress.setValue(value)
        self.progress.setVisible(value < 100)
        self.actions_by_name["stop"].setEnabled(value < 100)

    def _on_url_changed(self, tab: Tab) -> None:
        if tab is self.current_tab():
            self.peers_indicator.refresh()
            self._show_url(tab)
            self._update_navigation()

    def _show_url(self, tab: Tab) -> None:
        if not self.address_bar.hasFocus() or not self.address_bar.isModified():
            url = tab.page.url()
            self.address_bar.setText(url.toDisplayString())
            self.address_bar.setModified(False)

    def _update_navigation(self) -> None:
        tab = self.current_tab()
        history = tab.page.history() if tab is not None else None
        self.actions_by_name["back"].setEnabled(bool(history and history.canGoBack()))
        self.actions_by_name["forward"].setEnabled(bool(history and history.canGoForward()))

    def _on_link_hovered(self, url: str) -> None:
        status = self.statusBar()
        if status is not None:
            status.showMessage(url)

    def _on_new_window_requested(self, request: QWebEngineNewWindowRequest) -> None:
        sender = self.sender()
        identity = next((t.identity for t in self._tabs.values() if t.page is sender), None)
        background = request.destination() == QWebEngineNewWindowRequest.DestinationType.InNewBackgroundTab
        tab = self.new_tab(QUrl(), identity, background=background)
        request.openIn(tab.page)


def keep_visible(page: QWebEnginePage) -> None:
    """Keep ``page`` visible to its scripts (``document.visibilityState``) and unthrottled,
    whichever tab is in front: the view hides a page whose tab goes to the back."""
    def stay_visible(visible: bool) -> None:
        if not visible and not sip.isdeleted(page):  # (not while the page is being deleted)
            page.setVisible(True)

    page.setVisible(True)
    page.visibleChanged.connect(stay_visible)
