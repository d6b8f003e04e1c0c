"""examples/automation: puppeteer-core and playwright-core drive the browser over CDP.

The Node test opens its own tabs (puppeteer's ``browser.newPage()``,
Playwright's ``connectOverCDP`` + ``newPage()``) in a headless browser started
here with ``--remote-debugging-port 0``, and has two identities of the chat demo
see each other's messages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .remote_browser import REPO, remote_browser

pytestmark = [pytest.mark.browser]

EXAMPLE = REPO / "examples" / "automation"


def _installed() -> bool:
    return shutil.which("node") is not None and all(
        (EXAMPLE / "node_modules" / name / "package.json").is_file() for name in ("puppeteer-core", "playwright-core")
    )


@pytest.mark.skipif(not _installed(), reason="node or examples/automation/node_modules missing (run scripts/bootstrap.sh)")
def test_the_automation_example_drives_two_chat_identities() -> None:
    with remote_browser() as browser:
        result = subprocess.run(
            ["node", "--test", "--test-concurrency=1"],
            cwd=EXAMPLE,
            env={**os.environ, "PEERBROWSER_URL": browser.url},
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output + "\n--- browser log ---\n" + browser.log()
        assert re.search(r"^# pass 2$", result.stdout, re.M) and re.search(r"^# fail 0$", result.stdout, re.M), output
        # the tabs were opened over CDP (Target.createTarget): two by puppeteer, one by Playwright
        assert browser.log().count("remote debugging opened a tab") == 3
        pages = [t for t in browser.get_json("/json/list") if t["type"] == "page"]
        assert [p["url"] for p in pages] == ["peerapp://start/"], pages  # and closed again
