"""The peerapp:// scheme: demo apps under their own origins, and nothing outside them (browser/scheme.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from browser.scheme import mime_type, resolve
from browser.tab import Tab
from browser.window import BrowserWindow

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


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
