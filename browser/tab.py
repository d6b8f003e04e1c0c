"""One browser tab: a view, its page, the page's QWebChannel and bridge object.

The bridge hook ``bridge.page.attach_page(page, core, identity)`` is called
once per page, right after the page and its channel exist and before the
first URL loads. It may register its object on ``page.webChannel()`` itself
(the bridge does); if it did not, the tab registers it under
``bridge.page.CHANNEL_NAME``. The tab's label follows the object's
``identityChanged`` signal. With the window's ``SitePermissions`` the tab
passes its bridge a permission gate (``gate=``) and the address privacy
setting (``hide_addresses=``), and shows the permission bar above its page:
``tab.widget`` (the bar, then the view) is what the tab bar holds.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, QUrl, pyqtSignal
from PyQt6.QtWebChannel import QWebChannel
from PyQt6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PyQt6.QtWebEngineWidgets import QWebEngineView
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from bridge import page as bridge_page
from browser.permission_bar import PermissionBar
from browser.site_permissions import SitePermissions
from swarm.core import SwarmCore

log = logging.getLogger("peerbrowser.tab")
js_log = logging.getLogger("peerbrowser.js")

_JS_LEVELS = {
    QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel: logging.INFO,
    QWebEnginePage.JavaScriptConsoleMessageLevel.WarningMessageLevel: logging.WARNING,
    QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel: logging.ERROR,
}


#: Tabs being torn down, kept until Qt has deleted them. PyQt6's deleteLater()
#: drops a wrapper's link to its Qt parent, so to Python a closing tab is only a
#: reference cycle; collected, it would take its page (owned by Python) with it at
#: once, mid-load and in no order with its view, and QtWebEngine crashes.
_closing: set[Tab] = set()


class BrowserPage(QWebEnginePage):
    """A page whose console messages go to the ``peerbrowser.js`` logger."""

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str | None,
        line: int,
        source: str | None,
    ) -> None:
        js_log.log(_JS_LEVELS.get(level, logging.INFO), "%s:%d: %s", source, line, message)


class Tab(QObject):
    """Owns a tab's view, page, channel and bridge object; tears them down in order.

    Signals:
        identityChanged(object): the debug identity the page runs as (int or None).
        labelChanged(str): the text the tab bar should show.
    """

    identityChanged = pyqtSignal(object)
    labelChanged = pyqtSignal(str)

    def __init__(
        self,
        profile: QWebEngineProfile,
        core: SwarmCore | None,
        identity: int | None = None,
        parent: QObject | None = None,
        *,
        permissions: SitePermissions | None = None,
    ) -> None:
        super().__init__(parent)
        self.identity = identity
        self.progress = 0
        self.widget = QWidget()
        self.widget.setObjectName("tab")
        self.view = QWebEngineView()
        self.page = BrowserPage(profile, None)
        self.view.setPage(self.page)
        self.permission_bar = PermissionBar(permissions, self) if permissions is not None else None
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        if self.permission_bar is not None:
            layout.addWidget(self.permission_bar)
        layout.addWidget(self.view, 1)
        self.widget.setFocusProxy(self.view)
        self.channel = QWebChannel(self.page)
        self.page.setWebChannel(self.channel)
        self.bridge: bridge_page.PageBridge | None = self._attach_bridge(core, identity, permissions)
        self.page.titleChanged.connect(self._emit_label)
        self.page.urlChanged.connect(self._emit_label)
        self._closed = False

    # -- bridge ---------------------------------------------------------------

    def _attach_bridge(
        self, core: SwarmCore | None, identity: int | None, permissions: SitePermissions | None
    ) -> bridge_page.PageBridge | None:
        gate = permissions.gate(self) if permissions is not None else None
        hide = permissions.hide_addresses if permissions is not None else False
        try:
            obj = bridge_page.attach_page(self.page, core, identity, gate=gate, hide_addresses=hide)
        except Exception:
            log.exception("bridge.attach_page failed; this tab has no PeerSocket API")
            return None
        registered = self.channel.registeredObjects()  # {name: object}
        if not any(o is obj for o in registered.values()):
            self.channel.registerObject(bridge_page.CHANNEL_NAME, obj)
        obj.identityChanged.connect(self._on_bridge_identity)
        return obj

    def _on_bridge_identity(self, identity: int) -> None:
        self.set_identity(int(identity))

    # -- state ----------------------------------------------------------------

    def set_identity(self, identity: int | None) -> None:
        if identity == self.identity:
            return
        self.identity = identity
        self.identityChanged.emit(identity)
        self._emit_label()

    def title(self) -> str:
        """The page's title; for an untitled page (QtWebEngine then reports the
        URL as its title) the host, else the URL."""
        title = self.page.title()
        url = self.page.url()
        untitled = {
            url.toString(),
            url.toDisplayString(),
            url.toString(QUrl.UrlFormattingOption.RemoveScheme).lstrip("/"),
        }
        if not title or title in untitled:
            title = url.host() or url.toDisplayString() or "New tab"
        return title

    def label(self) -> str:
        prefix = f"[#{self.identity}] " if self.identity is not None else ""
        return prefix + self.title()

    def _emit_label(self, *_: object) -> None:
        if not self._closed:
            self.labelChanged.emit(self.label())

    # -- navigation ------------------------------------------------------------

    def load(self, url: QUrl) -> None:
        self.view.load(url)

    # -- teardown ----------------------------------------------------------------

    def close(self) -> None:
        """Stop the page, then delete it before its view. Idempotent.

        The channel is left set on the page and dies with it (it is the page's
        child): ``setWebChannel(None)`` or deregistering objects while a page
        is still loading crashes QtWebEngine 6.11 shortly after.
        """
        if self._closed:
            return
        self._closed = True
        self.page.titleChanged.disconnect(self._emit_label)
        self.page.urlChanged.disconnect(self._emit_label)
        self.page.triggerAction(QWebEnginePage.WebAction.Stop)
        if self.permission_bar is not None:
            self.permission_bar.detach()
        self.bridge = None  # the bridge sees the page's destroyed() signal
        _closing.add(self)
        self.destroyed.connect(lambda *_: _closing.discard(self))
        # deleted in this order: the page before its view, the tab (and its hold) last
        self.page.deleteLater()
        self.view.deleteLater()
        self.widget.deleteLater()
        self.deleteLater()
