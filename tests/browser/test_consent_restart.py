"""Decisions made in the window survive a restart of ``peerbrowser``; the config
file wins over them, and the command line over the config file.

Each run is a real ``peerbrowser`` process (tests/browser/consent_run.py clicks
the permission bar) with its own data and config directories; the pages come
from two HTTP servers on 127.0.0.1, two origins.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
PAGE = """<!doctype html><title>asks</title><script>
PeerSocket.joinSwarm({id: 'room'}).then(
  (s) => { window.RESULT = {ok: true, type: s.type} },
  (e) => { window.RESULT = {ok: false, error: e.name + '|' + e.code} })
  .then(() => { document.title = 'settled' })
</script>"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def origins(tmp_path: Path) -> Iterator[list[str]]:
    """Two loopback HTTP servers: two origins serving the page."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    servers = [
        ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
        for _ in range(2)
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def run(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "QT_QPA_PLATFORM": "offscreen",
        "PEERBROWSER_LOOPBACK_ONLY": "1",
    }
    env.pop("DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.browser.consent_run", *args],
        capture_output=True,
        text=True,
        timeout=240,  # a hang guard for a broken run
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_decisions_made_in_the_window_survive_a_restart(tmp_path: Path, origins: list[str]) -> None:
    a, b = origins
    first = run(tmp_path, "--network", "none", "--", "allow", f"{a}/", "block", f"{b}/")
    assert [(r["asked"], r["result"]) for r in first] == [
        (True, {"ok": True, "type": "open"}),
        (True, {"ok": False, "error": "NotAllowedError|ERR_PERMISSION_DENIED"}),
    ]
    saved = tmp_path / "data" / "peerbrowser" / "permissions.json"
    assert json.loads(saved.read_text()) == {"version": 1, "peers": {a: "allow", b: "deny"}}

    # a new run: the same answers, and nobody is asked
    again = run(tmp_path, "--network", "none", "--", "none", f"{a}/", "none", f"{b}/")
    assert [(r["asked"], r["result"]["ok"]) for r in again] == [(False, True), (False, False)]

    # the config file wins over saved decisions, the command line over the config file
    (tmp_path / "config" / "peerbrowser").mkdir(parents=True)
    (tmp_path / "config" / "peerbrowser" / "config.toml").write_text(
        f'[permissions]\n"{a}" = "deny"\n"{b}" = "allow"\n'
    )
    pinned = run(tmp_path, "--network", "none", "--", "none", f"{a}/", "none", f"{b}/")
    assert [r["result"]["ok"] for r in pinned] == [False, True]
    flags = ["--network", "none", "--site-permission", f"{a}=allow"]
    overridden = run(tmp_path, *flags, "--", "none", f"{a}/", "none", f"{b}/")
    assert [r["result"]["ok"] for r in overridden] == [True, True]
    # none of that touched what the user decided
    assert json.loads(saved.read_text()) == {"version": 1, "peers": {a: "allow", b: "deny"}}
