"""Fixtures for real QtWebEngine tests of the browser (offscreen).

Import time, before pytest-qt creates the QApplication: Qt is prepared as
``peerbrowser`` prepares it (``browser.qtstart.prepare_qt``: offscreen,
Chromium flags, ``--no-sandbox`` as root, the ``peerapp`` scheme,
QtWebEngineWidgets). ``aloop`` is asyncio on pytest-qt's application.

Windows and profiles are torn down explicitly: every page is deleted (and
awaited) before its profile, as QtWebEngine requires.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.qtstart import asyncio_on_qt, prepare_qt

prepare_qt(offscreen=True)

from PyQt6.QtCore import QObject, QUrl  # noqa: E402
from PyQt6.QtWebEngineCore import QWebEngineProfile  # noqa: E402

from browser.profile import make_profile  # noqa: E402
from browser.site_permissions import SitePermissions  # noqa: E402
from browser.tab import Tab  # noqa: E402
from browser.window import BrowserWindow  # noqa: E402

LOAD_TIMEOUT_MS = 20_000

#: Qt warnings the offscreen platform without a GPU always prints; anything else
#: fails a test marked ``qt_log_level_fail("WARNING")`` with ``qt_log_ignore(*OFFSCREEN_NOISE)``.
OFFSCREEN_NOISE = (
    r"^This plugin does not support ",
    r"^QRhiGles2: Failed to create",
    r"^Failed to create RHI for backend",
    r"^QVulkanInstance: Failed to initialize Vulkan",
    r"^GBM is not supported",
    r"^GPUInfo not initialized",
)
#: Every browser test module's marks: it drives real QtWebEngine pages, and any Qt
#: warning but that noise fails it.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE),
]
_keys = itertools.count()


def _delete_and_wait(qtbot: Any, objects: list[QObject], action: Callable[[], None]) -> None:
    """Run ``action`` (which deleteLater()s ``objects``) and wait until they are gone.

    Not ``qtbot.waitSignals(destroyed)``: it disconnects from the dead object afterwards.
    """
    gone: list[int] = []
    for i, obj in enumerate(objects):
        obj.destroyed.connect(lambda *_, i=i: gone.append(i))
    action()
    qtbot.waitUntil(lambda: len(gone) == len(objects), timeout=LOAD_TIMEOUT_MS)


@pytest.fixture
def profile_factory(qapp: Any, qtbot: Any) -> Iterator[Callable[..., QWebEngineProfile]]:
    """Make off-the-record profiles (optionally with other apps/js dirs); deleted at teardown.

    Every window/page using them must be gone first (fixtures ordered so).
    """
    made: list[QWebEngineProfile] = []

    def make(**kwargs: Any) -> QWebEngineProfile:
        profile = make_profile(**kwargs)
        made.append(profile)
        return profile

    yield make
    _delete_and_wait(qtbot, list(made), lambda: [p.deleteLater() for p in made])


@pytest.fixture
def window_factory(
    profile_factory: Callable[..., QWebEngineProfile], qtbot: Any
) -> Iterator[Callable[..., BrowserWindow]]:
    """Make shown (offscreen) browser windows with no tabs; torn down explicitly."""
    windows: list[BrowserWindow] = []

    def make(core: Any = None, profile: QWebEngineProfile | None = None, **kwargs: Any) -> BrowserWindow:
        # Every site may connect to peers unless a test says otherwise (tests of the
        # permission itself pass their own ``permissions``).
        kwargs.setdefault("permissions", SitePermissions.allow_all())
        window = BrowserWindow(profile or profile_factory(), core, **kwargs)
        windows.append(window)
        window.show()
        return window

    yield make
    for window in windows:
        pages = [tab.page for tab in window.tabs()] + window.devtools.pages()
        _delete_and_wait(qtbot, pages, window.shutdown)
        _delete_and_wait(qtbot, [window], window.deleteLater)


@pytest.fixture(scope="session")
def aloop(qapp: Any) -> Any:
    """asyncio on the Qt loop (qasync); its callbacks run whenever Qt processes events."""
    return asyncio_on_qt(qapp)


@pytest.fixture
def core(aloop: Any, qtbot: Any) -> Iterator[Any]:
    """A real swarm core with no network engine (presences on this device only)."""
    from swarm.core import SwarmCore

    c = SwarmCore(grace=0.0, loop=aloop)
    yield c
    # Not run_until_complete: a nested exec() during teardown can crash QtWebEngine.
    task = aloop.create_task(c.close())
    qtbot.waitUntil(task.done, timeout=LOAD_TIMEOUT_MS)
    task.result()


@pytest.fixture
def window(window_factory: Callable[..., BrowserWindow]) -> BrowserWindow:
    return window_factory()


def open_and_wait(qtbot: Any, window: BrowserWindow, url: str, identity: int | None = None) -> Tab:
    """Open a tab at ``url`` and wait until its first load finished."""
    tab = window.new_tab(url, identity)
    # loadFinished, not the progress reaching 100: that comes first, and a test
    # waiting for its own navigation's loadFinished would hear this one's
    finished: list[bool] = []
    tab.page.loadFinished.connect(finished.append)  # (the load starts on the loop)
    qtbot.waitUntil(lambda: bool(finished), timeout=LOAD_TIMEOUT_MS)
    return tab


@pytest.fixture
def open_tab(qtbot: Any) -> Callable[..., Tab]:
    """``open_tab(window, url, identity=None)``: open a tab and wait for its first load."""

    def open_(window: BrowserWindow, url: str, identity: int | None = None) -> Tab:
        return open_and_wait(qtbot, window, url, identity)

    return open_


def tab_texts(window: BrowserWindow) -> list[str]:
    """The tab bar's labels, in order."""
    return [window.tab_widget.tabText(i) for i in range(window.tab_widget.count())]


@pytest.fixture
def load(qtbot: Any) -> Callable[..., Any]:
    """``load(tab_or_page, url=None)``: wait for the page's next loadFinished; returns ok."""

    def wait(target: Any, url: str | None = None) -> bool:
        page = getattr(target, "page", target)
        with qtbot.waitSignal(page.loadFinished, timeout=LOAD_TIMEOUT_MS) as blocker:
            if url is not None:
                page.load(QUrl(url))
        return bool(blocker.args[0])

    return wait


@pytest.fixture
def js(qtbot: Any) -> Callable[..., Any]:
    """``js(page_or_frame, source)``: run JS in the main world, return its (sync) result."""

    def run(target: Any, source: str, timeout: int = LOAD_TIMEOUT_MS) -> Any:
        page = getattr(target, "page", target)
        box: list[Any] = []
        page.runJavaScript(source, 0, box.append)
        qtbot.waitUntil(lambda: bool(box), timeout=timeout)
        return box[0]

    return run


@pytest.fixture
def js_await(qtbot: Any) -> Callable[..., Any]:
    """``js_await(page_or_frame, expr)``: evaluate a JS expression that may be a Promise.

    Returns ``{"ok": True, "value": ...}`` or ``{"ok": False, "error": "..."}``.
    Waits by polling the page for the settled result (no sleeps).
    """

    def run(target: Any, expr: str, timeout: int = LOAD_TIMEOUT_MS) -> dict[str, Any]:
        page = getattr(target, "page", target)
        key = json.dumps(f"k{next(_keys)}")
        page.runJavaScript(
            f"""(window.__pbt = window.__pbt || {{}},
            Promise.resolve().then(() => ({expr})).then(
              v => {{ window.__pbt[{key}] = {{ok: true, value: v}} }},
              e => {{ window.__pbt[{key}] = {{ok: false, error: String(e && e.message || e)}} }}),
            true)""",
            0,
        )
        found: list[Any] = []

        def settled() -> bool:
            if not found:
                page.runJavaScript(
                    f"(window.__pbt && window.__pbt[{key}]) || null",
                    0,
                    lambda v: found.append(v) if v else None,
                )
            return bool(found)

        qtbot.waitUntil(settled, timeout=timeout)
        return dict(found[0])

    return run


@pytest.fixture
def test_apps(tmp_path: Path) -> Path:
    """A small apps dir for pages the demos do not have (iframes, frames)."""
    apps = tmp_path / "apps"
    (apps / "top").mkdir(parents=True)
    (apps / "other").mkdir()
    (apps / "top" / "index.html").write_text(
        "<!doctype html><title>Top</title>"
        '<iframe name="cross" src="peerapp://other/"></iframe>'
        '<iframe name="same" src="peerapp://top/inner.html"></iframe>'
    )
    (apps / "top" / "inner.html").write_text("<!doctype html><title>Inner</title><p>inner")
    (apps / "other" / "index.html").write_text("<!doctype html><title>Other</title><p>other")
    (apps / "top" / "secret.txt").write_text("not here")  # exists, but only via top
    (tmp_path / "outside.txt").write_text("outside the apps dir")
    return apps


@pytest.fixture
def fake_js_dir(tmp_path: Path) -> Path:
    """A js dir whose peersocket.js just marks the page."""
    js_dir = tmp_path / "js"
    js_dir.mkdir()
    (js_dir / "peersocket.js").write_text(
        "window.PeerSocket = {fake: true, hasChannel: typeof qt === 'object' "
        "&& typeof QWebChannel === 'function'};\n"
    )
    return js_dir
