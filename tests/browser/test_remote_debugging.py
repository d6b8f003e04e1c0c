"""``--remote-debugging-port``: CDP for automation tools, on 127.0.0.1 only."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.http11 import Headers

from browser import remote_debugging
from browser.cdp_front import attaches_pages, loopback_host
from browser.config import load_config_file
from browser.main import build_parser

from .remote_browser import PEERBROWSER, REPO, Cdp, listening_sockets, remote_browser

pytestmark = [pytest.mark.browser]

CHAT = "peerapp://chat/?identity=1"


# --- set-up before Qt starts --------------------------------------------------------------


def test_without_the_flag_the_environment_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    env = {"PATH": "/bin"}
    assert remote_debugging.configure(None, env) is None
    assert env == {"PATH": "/bin"}
    assert not caplog.records


def test_a_users_own_setting_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    env = {"QTWEBENGINE_REMOTE_DEBUGGING": "9333"}
    with caplog.at_level(logging.WARNING, logger="peerbrowser.remote"):
        assert remote_debugging.configure(None, env) is None
    assert env == {"QTWEBENGINE_REMOTE_DEBUGGING": "9333"}
    assert "any process on this machine can drive every tab" in caplog.text
    caplog.clear()
    env = {"QTWEBENGINE_REMOTE_DEBUGGING": "0.0.0.0:9333"}
    with caplog.at_level(logging.WARNING, logger="peerbrowser.remote"):
        remote_debugging.configure(None, env)
    assert env == {"QTWEBENGINE_REMOTE_DEBUGGING": "0.0.0.0:9333"}
    assert "beyond this machine" in caplog.text


def test_the_flag_puts_qtwebengine_on_a_free_loopback_port(caplog: pytest.LogCaptureFixture) -> None:
    env = {"PATH": "/bin", "QTWEBENGINE_CHROMIUM_FLAGS": "--user-flag"}
    upstream = remote_debugging.configure(9222, env)
    assert upstream is not None and upstream != 9222
    assert env == {
        "PATH": "/bin",
        # QtWebEngine would otherwise allow WebSocket connections from every origin
        "QTWEBENGINE_CHROMIUM_FLAGS": "--user-flag --remote-allow-origins=devtools://devtools",
        "QTWEBENGINE_REMOTE_DEBUGGING": f"127.0.0.1:{upstream}",
    }
    env = {"QTWEBENGINE_CHROMIUM_FLAGS": "--remote-allow-origins=http://mine"}
    remote_debugging.configure(9222, env)
    assert env["QTWEBENGINE_CHROMIUM_FLAGS"] == "--remote-allow-origins=http://mine"  # the user's choice
    with socket.socket() as s:  # nothing listens there yet: QtWebEngine can
        s.bind(("127.0.0.1", upstream))
    env = {"QTWEBENGINE_REMOTE_DEBUGGING": "0.0.0.0:9333"}
    with caplog.at_level(logging.WARNING, logger="peerbrowser.remote"):
        upstream = remote_debugging.configure(0, env)
    assert env["QTWEBENGINE_REMOTE_DEBUGGING"] == f"127.0.0.1:{upstream}"
    assert "is replaced for this run" in caplog.text


def test_the_port_comes_from_the_command_line_or_the_config_file(tmp_path: Path) -> None:
    parser = build_parser()
    assert parser.parse_args(["--remote-debugging-port", "9222"]).remote_debugging_port == 9222
    assert parser.parse_args([]).remote_debugging_port is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--remote-debugging-port", "65536"])
    config = tmp_path / "config.toml"
    config.write_text("remote_debugging_port = 9222\n")
    assert load_config_file(config)["remote_debugging_port"] == 9222
    for wrong in ("70000", "-1", '"9222"', "true"):
        config.write_text(f"remote_debugging_port = {wrong}\n")
        with pytest.raises(ValueError, match="remote_debugging_port"):
            load_config_file(config)


def test_only_loopback_host_names_are_served() -> None:
    for host in ("127.0.0.1:9222", "localhost:9222", "LOCALHOST", "[::1]:9222", "127.0.0.1"):
        assert loopback_host(Headers({"Host": host})) == host
    for host in ("evil.example:9222", "127.0.0.1.evil.example", "[::2]:9222", "192.168.1.2:9222", ""):
        assert loopback_host(Headers({"Host": host})) is None
    assert loopback_host(Headers()) is None


def test_which_auto_attach_filters_attach_pages() -> None:
    assert attaches_pages(None)
    assert attaches_pages([{}])
    assert attaches_pages([{"type": "page"}])
    # puppeteer attaches tabs and reaches pages through them
    assert not attaches_pages([{"type": "page", "exclude": True}, {}])
    assert not attaches_pages([{"type": "iframe"}])
    assert not attaches_pages("page")


# --- a real browser ---------------------------------------------------------------------


def test_remote_debugging_listens_on_loopback_only_and_says_so() -> None:
    with remote_browser(CHAT) as browser:
        assert browser.proc is not None
        logged = browser.log()
        assert f"remote debugging on {browser.url} (127.0.0.1 only" in logged
        assert "any process on this machine can drive every tab and its PeerSocket" in logged
        listening = listening_sockets(browser.proc.pid)
        # the front, and QtWebEngine's own endpoint behind it: both on 127.0.0.1
        assert f"127.0.0.1:{browser.port}" in listening
        assert len(listening) == 2, listening
        assert all(address.startswith("127.0.0.1:") for address in listening), listening

        version = browser.get_json("/json/version")
        assert version["webSocketDebuggerUrl"].startswith(f"ws://127.0.0.1:{browser.port}/devtools/browser/")
        (page,) = [t for t in browser.get_json("/json/list") if t["type"] == "page"]
        assert page["url"] == CHAT
        assert page["webSocketDebuggerUrl"] == f"ws://127.0.0.1:{browser.port}/devtools/page/{page['id']}"
        # the name the client used is the one it gets back
        status, body = browser.get("/json/version", {"Host": f"localhost:{browser.port}"})
        assert status == 200 and f"ws://localhost:{browser.port}/devtools/browser/" in body.decode()


def test_web_pages_and_rebound_names_are_refused() -> None:
    with remote_browser(CHAT) as browser:
        status, body = browser.get("/json/list", {"Host": f"attacker.example:{browser.port}"})
        assert status == 403 and b"Host must be" in body
        status, body = browser.get("/json/list", {"Origin": "https://attacker.example"})
        assert status == 403 and b"refuses requests from web pages" in body
        status, body = browser.get("/json/new?https://attacker.example/")
        assert status == 405 and b"Target.createTarget" in body
        status, _ = browser.get("/secret")
        assert status == 404
        ws_url = browser.get_json("/json/version")["webSocketDebuggerUrl"]
        with pytest.raises(InvalidStatus) as refused:
            Cdp(ws_url, origin="https://attacker.example")
        assert refused.value.response.status_code == 403
        # QtWebEngine's own endpoint, behind the front, refuses web pages too
        upstream = int(browser.wait_for_line(re.compile(r"behind it: 127\.0\.0\.1:(\d+)")).group(1))
        behind = ws_url.replace(f":{browser.port}/", f":{upstream}/")
        with pytest.raises(InvalidStatus) as refused:
            Cdp(behind, origin="https://attacker.example")
        assert refused.value.response.status_code == 403
        Cdp(behind).close()  # tools send no Origin
        assert len([t for t in browser.get_json("/json/list") if t["type"] == "page"]) == 1


def test_target_create_target_opens_a_tab_announced_before_the_answer() -> None:
    with remote_browser(CHAT) as browser:
        cdp = Cdp(browser.get_json("/json/version")["webSocketDebuggerUrl"])
        try:
            assert cdp.send("Target.setDiscoverTargets", {"discover": True}) == {"id": 1, "result": {}}
            answer = cdp.send("Target.createTarget", {"url": "peerapp://chat/?identity=2"})
            target_id = answer["result"]["targetId"]
            created = [e for e in cdp.events("Target.targetCreated") if e["params"]["targetInfo"]["targetId"] == target_id]
            assert created and created[0]["params"]["targetInfo"]["type"] == "page"
            # as in Chrome: the event came before the answer
            assert cdp.received.index(created[0]) < cdp.received.index(answer)
            pages = {t["id"]: t for t in browser.get_json("/json/list") if t["type"] == "page"}
            assert target_id in pages and len(pages) == 2

            # the page is a real tab with the PeerSocket API
            page = Cdp(pages[target_id]["webSocketDebuggerUrl"])
            try:
                result = page.send(
                    "Runtime.evaluate",
                    {
                        "expression": "new Promise(r => { const t = () => document.readyState === 'complete' "
                        "? r(location.href + ' ' + typeof PeerSocket.joinSwarm) : setTimeout(t, 20); t() })",
                        "awaitPromise": True,
                    },
                )
                assert result["result"]["result"]["value"] == "peerapp://chat/?identity=2 function"
            finally:
                page.close()

            assert cdp.send("Browser.setDownloadBehavior", {"behavior": "allowAndName", "downloadPath": "/tmp"})[
                "result"
            ] == {}
            error = cdp.send("Target.createTarget", {"url": "about:blank", "browserContextId": "other"})["error"]
            assert "one browser context" in error["message"]
            error = cdp.send("Target.createBrowserContext")["error"]
            assert "one browser context" in error["message"] and "debug identities" in error["message"]
            error = cdp.send("Target.createTarget", {"url": 42})["error"]
            assert error["code"] == -32602
            # a command the front does not answer goes to QtWebEngine as it is
            info = cdp.send("Target.getTargetInfo", {"targetId": target_id})
            assert info["result"]["targetInfo"]["url"] == "peerapp://chat/?identity=2"
        finally:
            cdp.close()
        assert len([t for t in browser.get_json("/json/list") if t["type"] == "page"]) == 2


def test_window_open_in_a_page_opens_a_tab_over_plain_cdp() -> None:
    """The route that needs nothing of the front: a page's window.open() is a new tab."""
    with remote_browser(CHAT) as browser:
        (page,) = [t for t in browser.get_json("/json/list") if t["type"] == "page"]
        watcher = Cdp(browser.get_json("/json/version")["webSocketDebuggerUrl"])
        driver = Cdp(page["webSocketDebuggerUrl"])
        try:
            watcher.send("Target.setDiscoverTargets", {"discover": True})
            result = driver.send("Runtime.evaluate", {"expression": "!!window.open('peerapp://chat/?identity=2')"})
            assert result["result"]["result"]["value"] is True
            event = watcher.wait_event(
                lambda m: m["method"] in ("Target.targetCreated", "Target.targetInfoChanged")
                and m["params"]["targetInfo"]["type"] == "page"
                and m["params"]["targetInfo"]["url"] == "peerapp://chat/?identity=2"
            )
            opened = event["params"]["targetInfo"]["targetId"]
            assert opened in {t["id"] for t in browser.get_json("/json/list")}
        finally:
            driver.close()
            watcher.close()


def test_browser_close_ends_the_browser_cleanly() -> None:
    with remote_browser(CHAT) as browser:
        cdp = Cdp(browser.get_json("/json/version")["webSocketDebuggerUrl"])
        assert cdp.send("Browser.close") == {"id": 1, "result": {}}
        assert browser.proc is not None
        assert browser.proc.wait(timeout=90) == 0
        assert "shut down cleanly" in browser.log()


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(PEERBROWSER), "--headless", "--network", "none", "--remote-debugging-port", str(port)],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=REPO,
        )
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port} for remote debugging" in result.stderr
