"""``peerbrowser --demo-headless``: two chat tabs talk to each other, offscreen.

Opens ``peerapp://chat/`` as identities 1 (alice) and 2 (bob), waits until
each sees the other, types one line into each, waits until both transcripts
show both lines, prints them, and saves a screenshot of the window.

It never hangs: the process exits within :data:`LIMIT` seconds of its start, 0
only when both tabs saw both lines. What it needs and does not have (the
PeerSocket script, the chat app, a page that loads) fails at once; every wait
has a deadline and fails with a message saying what did not happen; and a
watchdog thread ends the process, saying which step it was stuck in, if
anything (Qt start-up, shutdown) outlives the limit.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtWebEngineWidgets import QWebEngineView

from browser import paths
from browser.app import Session, SessionTask
from browser.jsvalue import to_js
from browser.qt_wait import run_js, until
from browser.tab import Tab
from browser.window import BrowserWindow

#: The whole run, start-up and shutdown included, ends within this many seconds.
LIMIT = 60.0
#: Kept for the screenshot and the shutdown after the conversation's deadline.
RESERVE = 12.0
CHAT_URL = "peerapp://chat/"


@dataclass(frozen=True)
class Speaker:
    identity: int
    name: str
    line: str

    @property
    def url(self) -> str:
        return f"{CHAT_URL}?identity={self.identity}&name={self.name}"


SPEAKERS = (
    Speaker(1, "alice", "hello from alice"),
    Speaker(2, "bob", "hi alice, bob here"),
)

_STATE_JS = """(() => {
  const b = document.body;
  return b ? {state: b.dataset.state || 'loading', error: b.dataset.error || '',
              peers: Number(b.dataset.peers || 0),
              transcript: (document.querySelector('#transcript') || {}).textContent || ''}
           : {state: 'loading', error: '', peers: 0, transcript: ''};
})()"""


def _send_js(text: str) -> str:
    return f"""(() => {{
  const input = document.querySelector('#message');
  input.value = {to_js(text)};
  input.form.requestSubmit();
  return true;
}})()"""


class DemoFailed(Exception):
    pass


class Watchdog:
    """Ends the process if the demo has no result by the limit (a hang anywhere)."""

    def __init__(self, limit: float = LIMIT) -> None:
        self.started = time.monotonic()
        self.limit = limit
        self.step = "starting the browser"
        #: The exit code once the demo decided it (the watchdog then keeps it).
        self.result: int | None = None
        self._timer = threading.Timer(limit, self._expired)
        self._timer.daemon = True

    def start(self) -> Watchdog:
        self._timer.start()
        return self

    def cancel(self) -> None:
        self._timer.cancel()

    def deadline(self, reserve: float = RESERVE) -> float:
        """A ``time.monotonic()`` deadline that leaves ``reserve`` seconds of the limit."""
        return self.started + self.limit - reserve

    def _expired(self) -> None:
        if self.result is None:
            print(
                f"peerbrowser demo FAILED: no result after {self.limit:g} s (stuck while {self.step})",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"peerbrowser demo: still {self.step} after {self.limit:g} s; exiting", file=sys.stderr)
        sys.stdout.flush()
        from swarm.sidecar_install import stop_running_installs

        stop_running_installs()
        # a hang in Qt or in the loop: no orderly way out is left (the sidecar, if any,
        # exits when its stdin closes with this process)
        os._exit(1 if self.result is None else self.result)


def missing_parts() -> str | None:
    """What the demo needs from the installation and does not find, if anything."""
    from browser.scheme import resolve

    script = paths.peersocket_js()
    if not script.is_file():
        return f"the PeerSocket page script is missing ({script}): this installation is incomplete"
    if resolve(paths.apps_dir(), "chat", "/") is None:
        return f"the chat app is missing ({paths.apps_dir() / 'chat'}): this installation is incomplete"
    return None


async def _state(tab: Tab) -> dict[str, Any]:
    result = await run_js(tab.page, _STATE_JS)
    return result if isinstance(result, dict) else {}


async def _wait_for(
    tab: Tab,
    who: str,
    what: str,
    check: Callable[[dict[str, Any]], bool],
    deadline: float,
    load_failed: set[Tab],
) -> None:
    latest: dict[str, Any] = {}

    async def poll() -> bool:
        nonlocal latest
        if tab in load_failed:
            raise DemoFailed(f"{who}'s chat page did not load ({tab.page.url().toString()})")
        try:
            latest = await asyncio.wait_for(_state(tab), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            raise DemoFailed(f"{who}'s page did not answer while waiting for it to {what}") from None
        if latest.get("state") == "error":
            raise DemoFailed(f"{who}'s chat page failed: {latest.get('error') or 'unknown error'}")
        return bool(check(latest))

    while not await poll():
        if time.monotonic() >= deadline:
            raise DemoFailed(
                f"timed out waiting for {who}'s tab to {what} "
                f"(page state {latest.get('state', '?')!r}, peers {latest.get('peers', 0)})"
            )
        await asyncio.sleep(0.05)


def chat_demo(screenshot: str, watchdog: Watchdog | None = None) -> SessionTask:
    watchdog = watchdog or Watchdog()

    def step(text: str) -> None:
        watchdog.step = text

    async def task(session: Session) -> int:
        window = session.window
        assert window is not None, "the session opens its window before it runs a task"
        deadline = watchdog.deadline()
        window.panel.show()
        missing = missing_parts()
        if missing is not None:
            print(f"peerbrowser demo FAILED: {missing}", file=sys.stderr)
            watchdog.result = 1
            step("shutting down")
            return 1
        tabs = [window.new_tab(s.url, s.identity) for s in SPEAKERS]
        load_failed: set[Tab] = set()  # the tabs whose latest load failed
        for tab in tabs:
            tab.page.loadFinished.connect(
                lambda ok, tab=tab: load_failed.discard(tab) if ok else load_failed.add(tab)
            )
        code = 0
        try:
            step("loading the chat pages")
            await until(
                lambda: all(t.progress >= 100 or t in load_failed for t in tabs),
                max(0.0, deadline - time.monotonic()),
                "the chat pages",
            )
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                step(f"waiting for {s.name}'s tab to join the chat room")
                await _wait_for(
                    tab,
                    s.name,
                    "join the chat room",
                    lambda st: st.get("state") == "joined",
                    deadline,
                    load_failed,
                )
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                step(f"waiting for {s.name}'s tab to see its peer")
                await _wait_for(
                    tab, s.name, "see its peer", lambda st: st.get("peers", 0) >= 1, deadline, load_failed
                )
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                await run_js(tab.page, _send_js(s.line))
            wanted = [f"{s.name}: {s.line}" for s in SPEAKERS]
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                step(f"waiting for {s.name}'s tab to show both lines")
                await _wait_for(
                    tab,
                    s.name,
                    "show both lines",
                    lambda st: all(w in st.get("transcript", "") for w in wanted),
                    deadline,
                    load_failed,
                )
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                state = await _state(tab)
                print(f"--- transcript in {s.name}'s tab (identity {s.identity}) ---")
                print(state.get("transcript", "").strip())
            print("peerbrowser demo: both tabs saw both lines")
        except (DemoFailed, TimeoutError) as exc:
            print(f"peerbrowser demo FAILED: {exc}", file=sys.stderr)
            code = 1
        watchdog.result = code
        step("saving the screenshot")
        window.tab_widget.setCurrentWidget(tabs[0].view)
        window.panel.refresh()
        paint_time = max(0.0, min(10.0, watchdog.deadline(reserve=RESERVE / 2) - time.monotonic()))
        try:
            await until(lambda: _has_painted(tabs[0].view), paint_time, "the page to paint")
        except TimeoutError as exc:
            print(f"peerbrowser demo: {exc}; the screenshot may be blank", file=sys.stderr)
        if not _save_screenshot(window, Path(screenshot)):
            code = code or 1
        watchdog.result = code
        step("shutting down")
        sys.stdout.flush()
        return code

    return task


def _has_painted(view: QWebEngineView) -> bool:
    """True once the view shows more than one colour (a page, not a blank surface)."""
    image = view.grab().toImage()
    if image.isNull() or image.width() < 2 or image.height() < 2:
        return False
    first = image.pixel(0, 0)
    step_x = max(1, image.width() // 40)
    step_y = max(1, image.height() // 40)
    return any(
        image.pixel(x, y) != first
        for y in range(0, image.height(), step_y)
        for x in range(0, image.width(), step_x)
    )


def _save_screenshot(window: BrowserWindow, path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if window.grab().save(str(path), "PNG"):
        print(f"peerbrowser demo: screenshot saved to {path}")
        return True
    print(f"peerbrowser demo: could not save screenshot to {path}", file=sys.stderr)
    return False
