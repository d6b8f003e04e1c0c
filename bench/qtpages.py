"""Real QtWebEngine pages for benchmarks: the browser's own window, profile and bridge.

``run_on_qt`` starts Qt exactly as ``peerbrowser`` does (``browser.qtstart``,
offscreen), plus any extra Chromium flags a benchmark needs; ``QtSession`` opens
pages:

- ``peer_tab(identity)``: a ``BrowserWindow`` with one tab on ``peerapp://bench/peer.html``,
  the real bridge and ``peersocket.js``; one window per tab, so every benchmark
  page is visible (no background-tab timer throttling);
- ``floor_page()``: a page in a second profile that has only ``qwebchannel.js`` and
  a bare echo QObject on its channel (the QWebChannel floor).

``evaluate(page, expr)`` awaits a JavaScript expression (promises too); the page
reports completion by changing its title, so nothing polls the page while it works.
``browser.qt_wait.run_js(page, source)`` runs one that returns at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from browser.qt_wait import run_js
from browser.qtstart import start_qt

APPS_DIR = Path(__file__).resolve().parent / "pages"
BENCH_URL = "peerapp://bench/"
_keys = itertools.count(1)


def run_on_qt(
    main: Callable[[], Awaitable[Any]], out: str | None, extra_flags: list[str] | None = None
) -> int:
    """Run ``main()`` on a Qt event loop and write its result as JSON to ``out`` (a
    path) or stdout: the tail of every benchmark that drives pages."""
    _app, loop = start_qt(offscreen=True, extra_flags=extra_flags or ())
    with loop:
        results = loop.run_until_complete(main())
    text = json.dumps(results, indent=1)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    return 0


def _make_echo_class() -> Any:
    from PyQt6.QtCore import QObject, pyqtProperty, pyqtSignal, pyqtSlot  # type: ignore[attr-defined]

    class BenchEcho(QObject):
        """The floor: a slot that emits its argument straight back. Also as a
        property write (``inbox``), which QWebChannel does not answer (what-if)."""

        pong = pyqtSignal(str)

        @pyqtSlot(str)
        def ping(self, text: str) -> None:
            self.pong.emit(text)

        def _get_inbox(self) -> str:
            return ""

        def _set_inbox(self, text: str) -> None:
            self.pong.emit(text)

        inbox = pyqtProperty(str, fget=_get_inbox, fset=_set_inbox, constant=True)

    return BenchEcho


class QtSession:
    def __init__(self, core: Any, js_dir: Path | None = None) -> None:
        from browser.profile import make_profile

        self.core = core
        self.profile = make_profile(apps_dir=APPS_DIR, js_dir=js_dir)
        self.windows: list[Any] = []
        self.floor_views: list[Any] = []
        self._floor_profile: Any = None
        self._pending: dict[int, dict[str, asyncio.Future[Any]]] = {}

    # --- pages -----------------------------------------------------------------------

    async def peer_tab(self, identity: int, path: str = "peer.html", *, window: Any = None) -> Any:
        """A tab running as ``identity``; its own window unless ``window`` is given."""
        from browser.site_permissions import SitePermissions
        from browser.window import BrowserWindow

        if window is None:
            window = BrowserWindow(self.profile, self.core, permissions=SitePermissions.allow_all())
            window.resize(800, 600)
            window.show()
            self.windows.append(window)
        tab = window.new_tab(BENCH_URL + path, identity)
        await self._loaded(tab.page)
        return tab.page

    async def blank_tab(self, window: Any) -> Any:
        tab = window.new_tab("about:blank", None, background=True)
        await self._loaded(tab.page)
        return tab.page

    async def floor_page(self) -> Any:
        from PyQt6.QtWebChannel import QWebChannel
        from PyQt6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineScript
        from PyQt6.QtWebEngineWidgets import QWebEngineView

        from browser.profile import read_qwebchannel_js
        from browser.scheme import SCHEME, AppSchemeHandler

        if self._floor_profile is None:
            profile = QWebEngineProfile()
            script = QWebEngineScript()
            script.setName("bench/qwebchannel")
            script.setSourceCode(read_qwebchannel_js())
            script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
            script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
            script.setRunsOnSubFrames(False)
            scripts = profile.scripts()
            assert scripts is not None
            scripts.insert(script)
            handler = AppSchemeHandler(APPS_DIR, profile)
            profile.installUrlSchemeHandler(SCHEME.encode(), handler)
            profile.setProperty("bench-handler", handler)
            self._floor_profile = profile
        view = QWebEngineView()
        page = QWebEnginePage(self._floor_profile, view)
        view.setPage(page)
        channel = QWebChannel(page)
        echo = _make_echo_class()(page)
        channel.registerObject("benchecho", echo)
        page.setWebChannel(channel)
        view.resize(800, 600)
        view.show()
        self.floor_views.append(view)
        page.load(_qurl(BENCH_URL + "floor.html"))
        await self._loaded(page)
        return page

    async def _loaded(self, page: Any, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            state = await run_js(page, "document.readyState + '|' + (typeof B)")
            if state == "complete|object" or (
                state == "complete|undefined" and page.url().scheme() == "about"
            ):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"page {page.url().toString()} did not load ({state})")
            await asyncio.sleep(0.02)

    # --- JavaScript ---------------------------------------------------------------------

    async def evaluate(self, page: Any, expr: str, timeout: float = 300.0) -> Any:
        """Await a JS expression in ``page``; raise RuntimeError if it throws or rejects."""
        key = f"bench-{next(_keys)}"
        pending = self._pending.setdefault(id(page), {})
        if not pending:
            page.titleChanged.connect(lambda title, page=page: self._on_title(page, title))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending[key] = future
        k = json.dumps(key)
        await run_js(
            page,
            f"""(() => {{ window.__bench = window.__bench || {{}};
            Promise.resolve().then(() => ({expr})).then(
              (v) => {{ window.__bench[{k}] = {{ok: true, v: v === undefined ? null : v}} }},
              (e) => {{ window.__bench[{k}] = {{ok: false, e: String(e && e.stack || e)}} }}
            ).then(() => {{ document.title = {k} }}); return true }})()""",
        )
        try:
            result = await asyncio.wait_for(self._settle(page, key, future), timeout)
        finally:
            pending.pop(key, None)
        if not result["ok"]:
            raise RuntimeError(f"{expr}: {result['e']}")
        return result["v"]

    async def _settle(self, page: Any, key: str, future: asyncio.Future[Any]) -> Any:
        while True:
            # the title says when; a slow re-check covers titles Qt coalesced
            await asyncio.wait({future}, timeout=1.0)
            got = await run_js(page, f"(window.__bench && window.__bench[{json.dumps(key)}]) || null")
            if got:
                await run_js(page, f"delete window.__bench[{json.dumps(key)}]")
                return got

    def _on_title(self, page: Any, title: str) -> None:
        future = self._pending.get(id(page), {}).get(title)
        if future is not None and not future.done():
            future.set_result(True)

    # --- teardown -----------------------------------------------------------------------

    async def close(self) -> None:
        """Pages before views, views before profiles (as QtWebEngine requires)."""
        from browser.app import close_window
        from browser.qt_wait import destroyed

        for window in self.windows:
            await close_window(window, 10.0)
        self.windows.clear()
        for view in self.floor_views:
            page = view.page()
            view.hide()
            if page is not None:
                page.deleteLater()
                await destroyed([page], 10.0)
            view.deleteLater()
            await destroyed([view], 10.0)
        self.floor_views.clear()
        for profile in (self.profile, self._floor_profile):
            if profile is not None:
                profile.deleteLater()
                await destroyed([profile], 10.0)


def _qurl(text: str) -> Any:
    from PyQt6.QtCore import QUrl

    return QUrl(text)
