"""The permission prompt, the peers indicator and the site-permissions dialog in a
real window, clicked as a user would: real pages wait on their joinSwarm()."""

from __future__ import annotations

from typing import Any

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMenu

from browser.permission_file import MemoryPermissionFile
from browser.permissions import PermissionPolicy
from browser.site_permissions import SitePermissions
from tests.bridge.consent_helpers import join_result, start_join
from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.browser

ALPHA, BETA = "peerapp://alpha", "peerapp://beta"
REFUSED = "NotAllowedError|ERR_PERMISSION_DENIED|"


@pytest.fixture
def saved() -> MemoryPermissionFile:
    """The saved decisions (in memory: tests/browser/test_consent_restart.py has the file)."""
    return MemoryPermissionFile()


@pytest.fixture
def policy(request: Any, saved: MemoryPermissionFile) -> PermissionPolicy:
    return getattr(request, "param", None) or PermissionPolicy("ask", saved=saved.load())


@pytest.fixture
def permissions(core: Any, policy: PermissionPolicy, saved: MemoryPermissionFile) -> SitePermissions:
    return SitePermissions(policy, saved, core=core)


@pytest.fixture
def browser(core, apps, profile_factory, window_factory, permissions):  # type: ignore[no-untyped-def]
    return window_factory(core, profile_factory(apps_dir=apps), permissions=permissions)


def click(qtbot: Any, button: Any) -> None:
    """Click ``button`` once it takes clicks (the bar ignores them at first)."""
    qtbot.waitUntil(button.isEnabled, timeout=LOAD_TIMEOUT_MS)
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def asked(qtbot: Any, tab: Any) -> Any:
    bar = tab.permission_bar
    qtbot.waitUntil(bar.isVisible, timeout=LOAD_TIMEOUT_MS)
    return bar


def settled(qtbot: Any, js: Any, tab: Any, slot: str = "j") -> Any:
    qtbot.waitUntil(lambda: join_result(js, tab, slot) is not None, timeout=LOAD_TIMEOUT_MS)
    return join_result(js, tab, slot)


# --- the prompt ------------------------------------------------------------------------------------


def test_click_allow_joins_and_is_remembered(open_page, js, call, qtbot, core, saved, browser):
    tab = open_page("alpha")
    start_join(js, tab, "pauls-chat-room")
    bar = asked(qtbot, tab)
    assert bar.label.text() == "peerapp://alpha wants to connect to peers in 'pauls-chat-room'"
    assert bar.geometry().bottom() < tab.view.geometry().top()  # above the page
    assert core.presences == {}  # nothing before the answer
    click(qtbot, bar.allow_button)
    result = settled(qtbot, js, tab)
    assert result["ok"] and result["value"]["id"] == "pauls-chat-room"
    assert (ALPHA, 0) in core.presences
    assert bar.isHidden()
    assert saved.decisions == {ALPHA: "allow"}
    # remembered: the origin swarm, and other tabs of the origin, join with no question
    other = open_page("alpha", 1)
    assert call(other, "T.join()")["type"] == "origin"
    assert call(tab, "T.join(undefined, 'own')")["type"] == "origin"
    assert other.permission_bar.isHidden() and bar.isHidden()


def test_click_block_refuses_and_is_remembered(open_page, js, fails, qtbot, core, saved, browser):
    tab = open_page("alpha")
    start_join(js, tab, None)
    bar = asked(qtbot, tab)
    assert bar.label.text() == "peerapp://alpha wants to connect to peers in its own swarm"
    click(qtbot, bar.block_button)
    assert settled(qtbot, js, tab)["error"] == (
        REFUSED + "peerapp://alpha may not connect to peers: the user blocked this site"
    )
    assert saved.decisions == {ALPHA: "deny"} and core.presences == {}
    assert fails(tab, "T.join('room', 'again')").startswith(REFUSED)  # at once, no question
    assert bar.isHidden() and browser.peers_indicator.button.text() == "Blocked"


def test_dismissing_refuses_this_call_only(open_page, js, qtbot, core, saved, permissions, browser):
    tab = open_page("alpha")
    start_join(js, tab, "room")
    bar = asked(qtbot, tab)
    assert bar.dismiss_button.isEnabled()  # dismissing is safe: it takes clicks at once
    qtbot.mouseClick(bar.dismiss_button, Qt.MouseButton.LeftButton)
    assert settled(qtbot, js, tab)["error"] == (
        REFUSED + "peerapp://alpha may not connect to peers: the user dismissed the request"
    )
    assert bar.isHidden() and saved.decisions == {} and core.presences == {}
    start_join(js, tab, "room", "again")  # asked again next time
    click(qtbot, asked(qtbot, tab).allow_button)
    assert settled(qtbot, js, tab, "again")["ok"]


@pytest.mark.parametrize("how", ["navigate", "reload", "close"])
def test_leaving_while_a_join_waits_withdraws_it(
    open_page, js, call, qtbot, core, saved, permissions, browser, load, how
):
    tab = open_page("alpha")
    start_join(js, tab, "room")
    asked(qtbot, tab)
    assert len(permissions.pending()) == 1
    if how == "close":
        browser.close_tab_object(tab)
    elif how == "reload":
        load(tab, "peerapp://alpha/")
    else:
        load(tab, "peerapp://beta/")
    qtbot.waitUntil(lambda: permissions.pending() == [], timeout=LOAD_TIMEOUT_MS)
    assert core.presences == {} and saved.decisions == {}
    if how != "close":
        assert tab.permission_bar.isHidden()
        assert js(tab, "window.J === undefined")  # a new document: the old call is gone with it
        # the page there asks for itself
        start_join(js, tab, "room")
        bar = asked(qtbot, tab)
        assert bar.label.text().startswith(BETA if how == "navigate" else ALPHA)
        click(qtbot, bar.allow_button)
        assert settled(qtbot, js, tab)["ok"]


def test_one_answer_settles_every_tab_of_the_origin(open_page, js, qtbot, core, browser):
    first, second, other = open_page("alpha"), open_page("alpha", 2), open_page("beta")
    for tab in (first, second, other):
        start_join(js, tab, "room")
    bars = [asked(qtbot, t) if t is browser.current_tab() else t.permission_bar for t in (first, second, other)]
    browser.tab_widget.setCurrentWidget(first.widget)
    click(qtbot, asked(qtbot, first).allow_button)
    assert settled(qtbot, js, first)["ok"] and settled(qtbot, js, second)["ok"]
    qtbot.waitUntil(lambda: bars[0].isHidden() and bars[1].isHidden(), timeout=LOAD_TIMEOUT_MS)
    assert join_result(js, other) is None and not bars[2].isHidden()  # another origin: still asked


def test_the_buttons_ignore_clicks_made_as_the_bar_appears(open_page, js, qtbot, core, saved, browser):
    tab = open_page("alpha")
    start_join(js, tab, "room")
    bar = asked(qtbot, tab)
    assert not bar.allow_button.isEnabled() and not bar.block_button.isEnabled()
    qtbot.mouseClick(bar.allow_button, Qt.MouseButton.LeftButton)  # a click already on its way
    assert join_result(js, tab) is None and saved.decisions == {}
    qtbot.waitUntil(bar.allow_button.isEnabled, timeout=LOAD_TIMEOUT_MS)
    # the tab sent to the back and brought forward: the bar is new to the eye again
    browser.new_tab("peerapp://beta/")
    browser.tab_widget.setCurrentWidget(tab.widget)
    assert not bar.allow_button.isEnabled()
    click(qtbot, bar.allow_button)
    assert settled(qtbot, js, tab)["ok"]


# --- the indicator -------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [PermissionPolicy("allow")], indirect=True)
def test_the_indicator_counts_the_origins_peers_and_its_popover_acts(
    open_page, call, js, fails, qtbot, core, browser, permissions
):
    indicator = browser.peers_indicator
    a = open_page("alpha")
    qtbot.waitUntil(lambda: indicator.button.text() == "0 peers", timeout=LOAD_TIMEOUT_MS)
    assert indicator.button.isVisible() and indicator.button.parent() is browser.address_bar
    a_id = call(a, "T.join('room')")["self"]
    b1, b2 = open_page("beta", 1), open_page("beta", 2)
    ids = [call(t, "T.join('room')")["self"] for t in (b1, b2)]
    call(b1, "T.join(undefined, 'own')")
    browser.tab_widget.setCurrentWidget(a.widget)
    qtbot.waitUntil(lambda: indicator.button.text() == "2 peers", timeout=LOAD_TIMEOUT_MS)
    # the current tab's origin: beta counts its two presences' peers, every swarm
    browser.tab_widget.setCurrentWidget(b1.widget)
    qtbot.waitUntil(lambda: indicator.button.text() == "3 peers", timeout=LOAD_TIMEOUT_MS)
    browser.tab_widget.setCurrentWidget(a.widget)
    qtbot.waitUntil(lambda: indicator.button.text() == "2 peers", timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: js(b1, "T.peers().length") == 2, timeout=LOAD_TIMEOUT_MS)
    call(b1, f"T.socket('{a_id}').write('hi')")
    qtbot.waitUntil(lambda: indicator.summary.received == 1, timeout=LOAD_TIMEOUT_MS)

    qtbot.mouseClick(indicator.button, Qt.MouseButton.LeftButton)
    popover = indicator.popover
    qtbot.waitUntil(popover.isVisible, timeout=LOAD_TIMEOUT_MS)
    assert popover.title.text() == ALPHA
    assert "2 peers in 1 swarm; messages in 1, out 0" in popover.status.text()
    swarm = popover.tree.topLevelItem(0)
    assert swarm.text(0) == "open swarm 'room' (#0)" and (swarm.text(2), swarm.text(3)) == ("1", "0")
    peers = {swarm.child(i).toolTip(0): swarm.child(i).text(1) for i in range(swarm.childCount())}
    assert peers == {ids[0]: "this device", ids[1]: "this device"}

    js(a, "T.swarms.main.addEventListener('close', (e) => { window.CLOSED = [e.code, e.reason] }); true")
    click(qtbot, popover.disconnect_button)
    qtbot.waitUntil(lambda: js(a, "window.CLOSED || null") == [1001, "disconnected by the user"], timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: indicator.button.text() == "0 peers", timeout=LOAD_TIMEOUT_MS)
    assert js(b1, "T.swarms.own.readyState") == "joined"  # other origins keep theirs
    call(a, "T.join('room')")  # disconnected, not blocked: it may join again
    qtbot.waitUntil(lambda: indicator.button.text() == "2 peers", timeout=LOAD_TIMEOUT_MS)

    js(a, "window.CLOSED = null; T.swarms.main.addEventListener('close', (e) => { window.CLOSED = [e.code, e.reason] }); true")
    if not popover.isVisible():
        qtbot.mouseClick(indicator.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(popover.isVisible, timeout=LOAD_TIMEOUT_MS)
    click(qtbot, popover.block_button)
    qtbot.waitUntil(lambda: js(a, "window.CLOSED") == [1008, "permission revoked"], timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: indicator.button.text() == "Blocked", timeout=LOAD_TIMEOUT_MS)
    assert permissions.answer_for(ALPHA) == "deny"
    assert fails(a, "T.join('room', 'again')").startswith(REFUSED)
    assert [k for k in core.presences if k[0] == ALPHA] == []


@pytest.mark.parametrize("policy", [PermissionPolicy("allow", config={ALPHA: "allow"})], indirect=True)
def test_a_pinned_site_cannot_be_blocked_from_the_window(open_page, call, qtbot, browser):
    a = open_page("alpha")
    call(a, "T.join('room')")
    indicator = browser.peers_indicator
    qtbot.mouseClick(indicator.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(indicator.popover.isVisible, timeout=LOAD_TIMEOUT_MS)
    assert not indicator.popover.block_button.isEnabled()
    assert "config file" in indicator.popover.block_button.toolTip()
    assert "(config file)" in indicator.popover.status.text()


# --- the site-permissions dialog ----------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [PermissionPolicy("ask", command_line={"https://pinned.example": "deny"}, saved={BETA: "deny"})],
    indirect=True,
)
def test_the_dialog_lists_decisions_and_changes_them(
    open_page, call, js, fails, qtbot, core, saved, permissions, browser
):
    a = open_page("alpha")
    start_join(js, a, "room")
    click(qtbot, asked(qtbot, a).allow_button)
    assert settled(qtbot, js, a)["ok"]
    js(a, "T.swarms.j.addEventListener('close', (e) => { window.CLOSED = [e.code, e.reason] }); true")
    menu = browser.findChild(QMenu, "main-menu")
    assert "Site permissions…" in [action.text() for action in menu.actions()]
    browser.actions_by_name["site-permissions"].trigger()  # the menu's "Site permissions…"
    dialog = browser.permissions_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=LOAD_TIMEOUT_MS)
    assert not dialog.isModal()

    def rows() -> list[list[str]]:
        t = dialog.table
        return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]

    assert rows() == [
        ["https://pinned.example", "Block", "command line"],
        [ALPHA, "Allow", "saved"],
        [BETA, "Block", "saved"],
    ]
    assert dialog.selected().origin == ALPHA  # the current tab's site
    # pinned: shown, not changeable
    dialog.select("https://pinned.example")
    assert not any(b.isEnabled() for b in (dialog.allow_button, dialog.block_button, dialog.remove_button))
    # Block: revoked at once, in the open page too
    dialog.select(ALPHA)
    assert dialog.allow_button.isEnabled() is False and dialog.block_button.isEnabled()
    qtbot.mouseClick(dialog.block_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: js(a, "window.CLOSED || null") == [1008, "permission revoked"], timeout=LOAD_TIMEOUT_MS)
    assert rows()[1] == [ALPHA, "Block", "saved"] and saved.decisions == {ALPHA: "deny", BETA: "deny"}
    assert fails(a, "T.join('room', 'k')").startswith(REFUSED)
    # Allow again
    qtbot.mouseClick(dialog.allow_button, Qt.MouseButton.LeftButton)
    assert call(a, "T.join('room', 'k')")["type"] == "open"
    # Remove: forgotten; the site is asked again, and its open swarms close
    js(a, "window.CLOSED = null; T.swarms.k.addEventListener('close', (e) => { window.CLOSED = [e.code, e.reason] }); true")
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: js(a, "window.CLOSED || null") == [1008, "permission revoked"], timeout=LOAD_TIMEOUT_MS)
    assert [r[0] for r in rows()] == ["https://pinned.example", BETA]
    assert saved.decisions == {BETA: "deny"}
    start_join(js, a, "room", "later")
    asked(qtbot, a)
    dialog.select(BETA)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert saved.decisions == {}
    b = open_page("beta")
    start_join(js, b, "room")
    assert asked(qtbot, b).label.text().startswith(BETA)


def test_a_decision_that_cannot_be_saved_still_holds_and_the_user_is_told(
    open_page, js, qtbot, core, saved, browser, monkeypatch
):
    def fail(decisions: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saved, "save", fail)
    tab = open_page("alpha")
    start_join(js, tab, "room")
    click(qtbot, asked(qtbot, tab).allow_button)
    assert settled(qtbot, js, tab)["ok"]
    assert "could not save site decisions" in browser.statusBar().currentMessage()
