"""The TypeScript example, built and served from http://localhost:PORT, in two identities.

What the README's "Develop a dApp" tells a developer to do, done by a test:
build examples/typescript with tsc, serve the folder over HTTP on loopback, open
it as identities 1 and 2 (``?identity=N``), and each tab sees the other's line.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = [pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "typescript"
TSC = EXAMPLE / "node_modules" / "typescript" / "bin" / "tsc"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served_app(tmp_path: Path) -> Iterator[str]:
    """examples/typescript built into a folder, served on 127.0.0.1; yields http://localhost:PORT."""
    if shutil.which("node") is None or not TSC.is_file():
        pytest.skip("node or examples/typescript/node_modules missing (run scripts/bootstrap.sh)")
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(EXAMPLE / "index.html", site / "index.html")
    built = subprocess.run(
        ["node", str(TSC), "-p", str(EXAMPLE), "--noEmit", "false", "--outDir", str(site / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_typescript_chat_served_from_localhost_talks_across_identities(
    served_app: str, browser: Any, qtbot: Any, js: Callable[..., Any]
) -> None:
    tabs = {name: browser.new_tab(f"{served_app}/?identity={n}&name={name}") for n, name in ((1, "alice"), (2, "bob"))}
    lines = "[...document.querySelectorAll('#messages li')].map((li) => li.textContent)"
    for tab in tabs.values():
        qtbot.waitUntil(lambda tab=tab: any("joined open swarm typescript-chat" in line for line in js(tab, lines)),
                        timeout=LOAD_TIMEOUT_MS)
        assert js(tab, "location.origin") == served_app
    for tab in tabs.values():
        qtbot.waitUntil(lambda tab=tab: sum(line.endswith(" joined") for line in js(tab, lines)) == 1,
                        timeout=LOAD_TIMEOUT_MS)
    for name, tab in tabs.items():
        js(tab, f"document.querySelector('#message').value = 'hello from {name}'; "
                "document.querySelector('form').requestSubmit(); true")
    for name, tab in tabs.items():
        other = "bob" if name == "alice" else "alice"
        qtbot.waitUntil(lambda tab=tab, other=other: f"{other}: hello from {other}" in js(tab, lines),
                        timeout=LOAD_TIMEOUT_MS)
        assert f"{name}: hello from {name}" in js(tab, lines)
