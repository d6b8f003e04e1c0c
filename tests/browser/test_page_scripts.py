"""The scripts injected into pages: qwebchannel.js and peersocket.js, top-level only (browser/profile.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtWebEngineCore import QWebEngineScript

from browser import paths
from browser.profile import page_scripts
from browser.tab import Tab
from browser.window import BrowserWindow

from .conftest import BROWSER_MARKS, LOAD_TIMEOUT_MS

pytestmark = BROWSER_MARKS


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
