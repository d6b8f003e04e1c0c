"""``peerbrowser --demo-headless``: two chat tabs talk to each other, offscreen.

Opens ``peerapp://chat/`` as identities 1 (alice) and 2 (bob), waits until
each sees the other, types one line into each, waits until both transcripts
show both lines, prints them, and saves a screenshot of the window. Every wait
has a deadline and fails with a message saying what did not happen.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browser.app import Session, SessionTask
from browser.jsvalue import to_js
from browser.qt_wait import run_js, until

TIMEOUT = 60.0
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


async def _state(tab: Any) -> dict[str, Any]:
    result = await run_js(tab.page, _STATE_JS)
    return result if isinstance(result, dict) else {}


async def _wait_for(tab: Any, who: str, what: str, check: Any, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    latest: dict[str, Any] = {}

    async def poll() -> bool:
        nonlocal latest
        latest = await _state(tab)
        if latest.get("state") == "error":
            raise DemoFailed(f"{who}'s chat page failed: {latest.get('error') or 'unknown error'}")
        return bool(check(latest))

    while not await poll():
        if loop.time() >= deadline:
            raise DemoFailed(
                f"timed out waiting for {who}'s tab to {what} "
                f"(page state {latest.get('state', '?')!r}, peers {latest.get('peers', 0)})"
            )
        await asyncio.sleep(0.05)


def chat_demo(screenshot: str, timeout: float = TIMEOUT) -> SessionTask:
    async def task(session: Session) -> int:
        window = session.window
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        window.panel.show()
        tabs = [window.new_tab(s.url, s.identity) for s in SPEAKERS]
        code = 0
        try:
            await until(lambda: all(t.progress >= 100 for t in tabs), timeout, "the chat pages")
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                await _wait_for(
                    tab, s.name, "join the chat room", lambda st: st.get("state") == "joined", deadline
                )
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                await _wait_for(tab, s.name, "see its peer", lambda st: st.get("peers", 0) >= 1, deadline)
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                await run_js(tab.page, _send_js(s.line))
            wanted = [f"{s.name}: {s.line}" for s in SPEAKERS]
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                await _wait_for(
                    tab,
                    s.name,
                    "show both lines",
                    lambda st: all(w in st.get("transcript", "") for w in wanted),
                    deadline,
                )
            for tab, s in zip(tabs, SPEAKERS, strict=True):
                state = await _state(tab)
                print(f"--- transcript in {s.name}'s tab (identity {s.identity}) ---")
                print(state.get("transcript", "").strip())
            print("peerbrowser demo: both tabs saw both lines")
        except (DemoFailed, TimeoutError) as exc:
            print(f"peerbrowser demo FAILED: {exc}", file=sys.stderr)
            code = 1
        window.tab_widget.setCurrentWidget(tabs[0].view)
        window.panel.refresh()
        try:
            await until(lambda: _has_painted(tabs[0].view), 10.0, "the page to paint")
        except TimeoutError as exc:
            print(f"peerbrowser demo: {exc}; the screenshot may be blank", file=sys.stderr)
        if not _save_screenshot(window, Path(screenshot)):
            code = code or 1
        sys.stdout.flush()
        return code

    return task


def _has_painted(view: Any) -> bool:
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


def _save_screenshot(window: Any, path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if window.grab().save(str(path), "PNG"):
        print(f"peerbrowser demo: screenshot saved to {path}")
        return True
    print(f"peerbrowser demo: could not save screenshot to {path}", file=sys.stderr)
    return False
