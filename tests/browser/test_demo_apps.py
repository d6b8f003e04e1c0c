"""The demo dApps in real tabs: the board and the chat (js/apps/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from browser.jsvalue import to_js
from browser.tab import Tab
from browser.window import BrowserWindow

from .conftest import BROWSER_MARKS, LOAD_TIMEOUT_MS

pytestmark = BROWSER_MARKS


_BOARD_STATE = (
    "[document.body.dataset.state, Number(document.body.dataset.peers || 0), "
    "Number(document.body.dataset.segments || 0)]"
)


_DRAW = """(() => {
  const c = document.querySelector('#canvas'), r = c.getBoundingClientRect();
  const at = (type, fx, fy) => c.dispatchEvent(new PointerEvent(type, {pointerId: 1,
      bubbles: true, clientX: r.left + fx * r.width, clientY: r.top + fy * r.height}));
  at('pointerdown', 0.2, 0.2);
  for (let i = 1; i <= 5; i++) at('pointermove', 0.2 + i * 0.1, 0.2 + i * 0.05);
  at('pointerup', 0.7, 0.45);
  return Number(document.body.dataset.segments);
})()"""


def test_board_strokes_reach_peers_and_new_tabs_of_a_presence(
    core: Any,
    window_factory: Callable[..., BrowserWindow],
    open_tab: Callable[..., Tab],
    js: Any,
    qtbot: Any,
) -> None:
    window = window_factory(core)

    def state(tab: Tab) -> list[Any]:
        return js(tab, _BOARD_STATE)

    alice = open_tab(window, "peerapp://board/?identity=1", identity=1)
    bob = open_tab(window, "peerapp://board/?identity=2", identity=2)
    for tab in (alice, bob):
        qtbot.waitUntil(lambda tab=tab: state(tab)[:2] == ["joined", 1], timeout=LOAD_TIMEOUT_MS)
    window.tab_widget.setCurrentWidget(alice.view)
    assert js(alice, _DRAW) == 5
    qtbot.waitUntil(lambda: state(bob)[2] == 5, timeout=LOAD_TIMEOUT_MS)
    # A second tab of alice's presence gets the drawing from its sibling over the loopback.
    alice2 = open_tab(window, "peerapp://board/?identity=1", identity=1)
    qtbot.waitUntil(lambda: state(alice2) == ["joined", 1, 5], timeout=LOAD_TIMEOUT_MS)


_CHAT_STATE = (
    "[document.body.dataset.state, Number(document.body.dataset.peers || 0), "
    "document.querySelector('#transcript').textContent, "
    "document.querySelector('#peers').textContent]"
)


def _say(text: str) -> str:
    return (
        "(() => { const i = document.querySelector('#message'); "
        f"i.value = {to_js(text)}; i.form.requestSubmit(); return true }})()"
    )


def test_chat_lines_reach_peers_and_other_tabs_of_the_same_presence(
    core: Any,
    window_factory: Callable[..., BrowserWindow],
    open_tab: Callable[..., Tab],
    js: Any,
    qtbot: Any,
) -> None:
    window = window_factory(core)
    alice = open_tab(window, "peerapp://chat/?identity=1&name=alice", identity=1)
    alice2 = open_tab(window, "peerapp://chat/?identity=1&name=alice", identity=1)
    bob = open_tab(window, "peerapp://chat/?identity=2&name=bob", identity=2)
    for tab in (alice, alice2, bob):
        qtbot.waitUntil(lambda tab=tab: js(tab, _CHAT_STATE)[:2] == ["joined", 1], timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "bob #2" in js(alice, _CHAT_STATE)[3], timeout=LOAD_TIMEOUT_MS)
    js(alice, _say("hi <b>bob</b>"))
    js(bob, _say("hello alice"))
    both = "[#1] alice: hi <b>bob</b>\n", "[#2] bob: hello alice\n"
    for tab in (alice, alice2, bob):
        qtbot.waitUntil(
            lambda tab=tab: all(line in js(tab, _CHAT_STATE)[2] for line in both),
            timeout=LOAD_TIMEOUT_MS,
        )
    # Each line once per tab, markup shown as text.
    for tab in (alice, alice2, bob):
        transcript = js(tab, _CHAT_STATE)[2]
        assert sorted(transcript.splitlines()) == sorted(line.strip() for line in both)
    assert js(alice, "document.querySelectorAll('#messages b').length") == 0
