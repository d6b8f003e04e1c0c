"""A real ``peerbrowser`` run that answers the permission bar as a user would.

    python -m tests.browser.consent_run [peerbrowser options --] ANSWER URL [ANSWER URL ...]

Runs the ``peerbrowser`` command (its flags, config file and saved decisions:
``browser.main.main``) with a window on the offscreen platform, one tab per
URL. Each page must join a swarm on load, set ``window.RESULT`` when
``joinSwarm()`` settles, and then change its title. For each tab, when its permission bar shows, ANSWER
is clicked: ``allow`` or ``block`` (``none``: a bar fails the run). Prints one
JSON line per tab, ``{"url", "asked", "result"}``, and exits 0; 1 if a page
did not settle.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

DEADLINE = 60.0  # a hang guard for a broken run, not a timing goal


async def _settle(tab: Any, answer: str) -> dict[str, Any]:
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    from browser.qt_wait import run_js

    bar = tab.permission_bar
    asked = False
    result: Any = None

    async def poll() -> bool:
        nonlocal asked, result
        result = await run_js(tab.page, "window.RESULT || null")
        if result is None and bar.isVisible():
            asked = True
            if answer == "none":
                raise RuntimeError(f"asked about {tab.page.url().toString()}, which should not be")
            button = bar.allow_button if answer == "allow" else bar.block_button
            if button.isEnabled():
                QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        return result is not None

    # look again whenever something a person would see changes: the page's title (it
    # settled), the question (the bar shows or goes), the bar's buttons taking clicks
    changed = asyncio.Event()
    tab.page.titleChanged.connect(lambda *_: changed.set())
    bar._permissions.pendingChanged.connect(lambda *_: changed.set())
    bar._armed.timeout.connect(changed.set)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        changed.clear()
        if await poll():
            break
        try:
            await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise TimeoutError(f"{tab.page.url().toString()} never settled its joinSwarm()") from None
    return {"url": tab.page.url().toString(), "asked": asked, "result": result}


def main(argv: list[str]) -> int:
    import browser.app
    from browser import main as browser_main

    split = argv.index("--") if "--" in argv else -1
    options, rest = argv[: max(split, 0)], argv[split + 1 :]
    pairs = list(zip(rest[::2], rest[1::2], strict=True))
    real_run = browser.app.run

    async def task(session: Any) -> int:
        tabs = session.window.tabs()
        for tab, (answer, _url) in zip(tabs, pairs, strict=True):
            session.window.tab_widget.setCurrentWidget(tab.widget)  # a bar shows on the current tab
            print(json.dumps(await _settle(tab, answer)), flush=True)
        return 0

    browser.app.run = lambda config, _task=None, offscreen=False: real_run(config, task, offscreen=True)
    return browser_main.main([*options, *(url for _, url in pairs)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
