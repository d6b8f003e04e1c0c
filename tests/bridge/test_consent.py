"""The "connect to peers" permission in real pages: allowed, refused, decided per
origin, revoked while sockets are open, and peer addresses hidden from pages.

The browser's core is on an in-memory network with a second device (a remote
peer driven from Python), so "nothing is announced, nothing is sent" and
addresses of remote peers can be checked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from browser.permission_file import MemoryPermissionFile
from browser.permissions import PermissionPolicy
from browser.site_permissions import SitePermissions
from swarm.core import SwarmCore
from tests.bridge.consent_helpers import LoopNetwork, RemotePeer, in_loop, join_result, start_join
from tests.bridge.test_bridge_fuzz import raw_attack
from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.browser

ALPHA, BETA, GAMMA = "peerapp://alpha", "peerapp://beta", "peerapp://gamma"
REFUSED = "NotAllowedError|ERR_PERMISSION_DENIED|"


@pytest.fixture
def network(aloop: Any) -> LoopNetwork:
    return LoopNetwork(aloop)


@pytest.fixture
def core(aloop: Any, grace: float, qtbot: Any, network: LoopNetwork) -> Iterator[SwarmCore]:
    """The browser's core (overrides tests/bridge/conftest.py's), on the network."""
    c = SwarmCore(network.engine("browser"), grace=grace, loop=aloop)
    in_loop(aloop, qtbot, c.start())
    yield c
    in_loop(aloop, qtbot, c.close())
    assert c.presences == {} and c.topics == {}


@pytest.fixture
def remote_core(aloop: Any, qtbot: Any, network: LoopNetwork) -> Iterator[SwarmCore]:
    """Another device on the network."""
    c = SwarmCore(network.engine("remote"), grace=0.0, loop=aloop)
    in_loop(aloop, qtbot, c.start())
    yield c
    in_loop(aloop, qtbot, c.close())


@pytest.fixture
def policy(request: Any) -> PermissionPolicy:
    return getattr(request, "param", None) or PermissionPolicy("ask")


@pytest.fixture
def hide_addresses() -> bool:
    return False


@pytest.fixture
def permissions(core: SwarmCore, policy: PermissionPolicy, hide_addresses: bool) -> SitePermissions:
    return SitePermissions(policy, MemoryPermissionFile(), core=core, hide_addresses=hide_addresses)


@pytest.fixture
def browser(core, apps, profile_factory, window_factory, permissions):  # type: ignore[no-untyped-def]
    """The window of tests/bridge/conftest.py, with these tests' permissions."""
    return window_factory(core, profile_factory(apps_dir=apps), permissions=permissions)


def presences_of(core: SwarmCore, origin: str) -> list[tuple[str, int]]:
    return [key for key in core.presences if key[0] == origin]


def browser_engine(network: LoopNetwork) -> Any:
    return next(e for e in network.engines if e.name == "browser")


@pytest.mark.parametrize(
    "policy",
    [PermissionPolicy("deny", config={ALPHA: "allow", GAMMA: "allow"}, command_line={GAMMA: "deny"})],
    indirect=True,
)
def test_per_origin_decisions_allow_one_origin_and_refuse_the_others(
    open_page, call, fails, core, browser, permissions
):
    a, b, c = open_page("alpha"), open_page("beta"), open_page("gamma")
    joined = call(a, "T.join('room')")  # allowed in the config: no question asked
    assert joined["type"] == "open"
    assert call(a, "T.join(undefined, 'own')")["type"] == "origin"
    assert fails(b, "T.join('room')") == (
        REFUSED + "peerapp://beta may not connect to peers: sites are refused unless allowed "
        "(--peers-permission deny)"
    )
    # the command line wins over the config file
    assert fails(c, "T.join()") == (
        REFUSED + "peerapp://gamma may not connect to peers: the site is blocked by --site-permission"
    )
    assert permissions.pending() == []
    assert all(tab.permission_bar.isHidden() for tab in browser.tabs())
    assert sorted(core.presences) == [(ALPHA, 0)]


def test_a_refused_or_waiting_join_announces_nothing_and_sends_nothing(
    open_page, call, fails, js, qtbot, core, remote_core, network, permissions, browser
):
    remote = RemotePeer(remote_core, "room")
    engine = browser_engine(network)
    permissions.decide(BETA, "deny")  # as if blocked earlier
    b, c = open_page("beta"), open_page("gamma")
    assert fails(b, "T.join('room')").startswith(
        REFUSED + "peerapp://beta may not connect to peers: the user"
    )
    assert fails(b, "T.join()").startswith(REFUSED)
    # waiting for the user: still nothing made, announced or sent
    start_join(js, c, "room")
    qtbot.waitUntil(lambda: len(permissions.pending()) == 1, timeout=LOAD_TIMEOUT_MS)
    assert join_result(js, c) is None
    assert core.presences == {} and core.topics == {}
    assert engine.topics == set() and network.link_count() == 0
    assert remote.peers() == set() and remote.events == []
    # the user allows it: now it joins, announces, and meets the remote peer
    permissions.decide(GAMMA, "allow")
    qtbot.waitUntil(lambda: join_result(js, c) is not None, timeout=LOAD_TIMEOUT_MS)
    gamma_id = join_result(js, c)["value"]["self"]
    qtbot.waitUntil(lambda: remote.peers() == {gamma_id}, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: js(c, "T.peers('j')") == [remote.id], timeout=LOAD_TIMEOUT_MS)
    assert presences_of(core, BETA) == []


@pytest.mark.parametrize("grace", [60.0])
def test_revoking_closes_every_swarm_of_the_origin_in_every_tab_at_once(
    open_page, call, fails, js, qtbot, core, remote_core, permissions, browser, grace
):
    permissions.decide(ALPHA, "allow")
    permissions.decide(BETA, "allow")
    remote = RemotePeer(remote_core, "room")
    a0, a0_again, a1, b = open_page("alpha"), open_page("alpha"), open_page("alpha", 1), open_page("beta")
    ids = {}
    for name, tab in (("a0", a0), ("a0_again", a0_again), ("a1", a1), ("b", b)):
        ids[name] = call(tab, "T.join('room')")["self"]
        js(
            tab,
            "T.swarms.main.addEventListener('close', (e) => { window.CLOSED = [e.code, e.reason] }); true",
        )
    call(a0, "T.join(undefined, 'own')")
    assert ids["a0"] == ids["a0_again"]
    everyone = {ids["a0"], ids["a1"], ids["b"], remote.id}
    qtbot.waitUntil(lambda: remote.peers() == everyone - {remote.id}, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: set(js(b, "T.peers()")) == everyone - {ids["b"]}, timeout=LOAD_TIMEOUT_MS)

    permissions.decide(ALPHA, "deny")  # what the indicator's and the dialog's Block do

    # at once, with no grace period: the presences are gone before any timer ran
    assert presences_of(core, ALPHA) == []
    for tab in (a0, a0_again, a1):
        qtbot.waitUntil(lambda tab=tab: js(tab, "window.CLOSED || null") is not None, timeout=LOAD_TIMEOUT_MS)
        assert js(tab, "window.CLOSED") == [1008, "permission revoked"]
        assert js(tab, "T.swarms.main.readyState") == "closed"
        closes = js(tab, "T.of('close').map(e => e[2])")
        assert closes and set(closes) == {1008}  # its sockets, loopback included
    assert js(a0, "T.swarms.own.readyState") == "closed"
    # its peers see it leave
    qtbot.waitUntil(lambda: set(js(b, "T.peers()")) == {remote.id}, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: remote.peers() == {ids["b"]}, timeout=LOAD_TIMEOUT_MS)
    assert js(b, "T.swarms.main.readyState") == "joined"
    # and later joins are refused
    assert fails(a0, "T.join('room', 'again')") == (
        REFUSED + "peerapp://alpha may not connect to peers: the user blocked this site"
    )
    assert presences_of(core, ALPHA) == []


@pytest.mark.parametrize("hide_addresses", [True, False])
def test_the_address_setting_hides_peer_addresses_from_pages_only(
    open_page, call, js, qtbot, core, remote_core, permissions, browser, hide_addresses
):
    permissions.decide(ALPHA, "allow")
    first = RemotePeer(remote_core, "room")
    a = open_page("alpha")
    me = call(a, "T.join('room')")["self"]  # `first` is described in the join's reply
    qtbot.waitUntil(lambda: js(a, "T.peers()") == [first.id], timeout=LOAD_TIMEOUT_MS)
    second = RemotePeer(remote_core, "room", "https://second.example")  # ... in a connection event
    qtbot.waitUntil(lambda: set(js(a, "T.peers()")) == {first.id, second.id}, timeout=LOAD_TIMEOUT_MS)
    port = remote_core.engine.port  # type: ignore[union-attr]
    for peer in (first, second):
        info = js(a, f"(s => [s.info.id, s.info.host, s.info.port])(T.socket('{peer.id}'))")
        assert info == ([peer.id, None, None] if hide_addresses else [peer.id, "memory", port])
    # the person using the browser still sees them: the indicator and the panel
    browser.peers_indicator.refresh()
    shown = {p.id: p.address for s in browser.peers_indicator.summary.swarms for p in s.peers}
    assert shown == {first.id: f"memory:{port}", second.id: f"memory:{port}"}
    browser.panel.show()
    browser.panel.refresh()
    rows = [item.text(5) for item in _tree_items(browser.panel.tree) if item.text(0) == "peer"]
    assert rows.count(f"memory:{port}") >= 2
    assert me


def _tree_items(tree: Any) -> list[Any]:
    items = []

    def walk(item: Any) -> None:
        items.append(item)
        for i in range(item.childCount()):
            walk(item.child(i))

    for i in range(tree.topLevelItemCount()):
        walk(tree.topLevelItem(i))
    return items


def test_pages_with_an_opaque_origin_are_refused_without_a_question(
    js, fails, qtbot, core, permissions, browser
):
    tab = browser.new_tab("data:text/html,<title>opaque</title><p>opaque")
    qtbot.waitUntil(lambda: js(tab, "typeof PeerSocket") == "function", timeout=LOAD_TIMEOUT_MS)
    assert fails(tab, "PeerSocket.joinSwarm()").startswith("SecurityError|ERR_OPAQUE_ORIGIN|")
    assert fails(tab, "PeerSocket.joinSwarm({id: 'room'})") == (
        REFUSED + "a page with an opaque origin may not connect to peers: data:, file: and about: pages "
        "cannot be given permission (serve the page from http(s)://)"
    )
    assert permissions.pending() == [] and core.presences == {}


def test_a_page_waits_for_at_most_64_answers_and_one_answer_settles_them_all(
    open_page, js, qtbot, core, permissions, browser, call
):
    a, also_a = open_page("alpha"), open_page("alpha")
    js(
        a,
        "window.R = []; for (let i = 0; i < 70; i++) PeerSocket.joinSwarm({id: 'room' + i})"
        ".then(() => R.push('ok'), (e) => R.push(e.code)); true",
    )
    qtbot.waitUntil(lambda: js(a, "R.length") == 6, timeout=LOAD_TIMEOUT_MS)
    assert js(a, "R") == ["ERR_TOO_MANY"] * 6
    start_join(js, also_a, "room0")
    qtbot.waitUntil(lambda: len(permissions.pending()) == 65, timeout=LOAD_TIMEOUT_MS)
    assert core.presences == {}
    bar = a.permission_bar
    assert not bar.isHidden() and "and 62 more swarms" in bar.label.text()
    permissions.decide(ALPHA, "allow")  # every waiting join of the origin, in every tab
    qtbot.waitUntil(lambda: js(a, "R.length") == 70, timeout=LOAD_TIMEOUT_MS)
    assert js(a, "R.filter(r => r === 'ok').length") == 64
    qtbot.waitUntil(lambda: (join_result(js, also_a) or {}).get("ok") is True, timeout=LOAD_TIMEOUT_MS)
    assert permissions.pending() == [] and bar.isHidden()
    assert len(core.presences[(ALPHA, 0)].memberships) == 64


# --- a hostile page and its own question ------------------------------------------------------

FORGED = [
    ["allow", 1, "peerapp://alpha"],
    ["answer", 2, True],
    ["permission", 3, "allow"],
    ["decide", 4, "peerapp://alpha", "allow"],
    ["join", 5, "room", True],
    ["join", 6, "room", {"allowed": True}],
    ["join", 7, {"id": "room", "permission": "granted"}],
    ["r", 8, True, {}],
]

CHANNEL_MEMBERS = """new Promise((resolve) => {
  const t = qt.webChannelTransport;
  const prev = t.onmessage;
  t.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type !== 10 || !data.data) return;
    t.onmessage = prev;
    const out = {};
    for (const [name, meta] of Object.entries(data.data)) {
      out[name] = [...meta.methods.map((m) => m[0]), ...meta.properties.map((p) => p[1]),
        ...Object.keys(meta.signals)];
    }
    resolve(out);
  };
  t.send(JSON.stringify({ type: 3, id: 'members' }));
})"""


def test_a_page_cannot_answer_its_own_question_nor_go_around_it(
    open_page, call, js, qtbot, caplog, core, permissions, browser
):
    caplog.set_level(logging.WARNING)
    attacker = open_page("alpha")
    start_join(js, attacker, "room")
    qtbot.waitUntil(lambda: len(permissions.pending()) == 1, timeout=LOAD_TIMEOUT_MS)
    # what the page can reach: one object, whose members are the page API's own
    members = call(attacker, CHANNEL_MEMBERS)
    assert list(members) == ["peersocket"]
    names = " ".join(members["peersocket"]).lower()
    for word in ("allow", "answer", "grant", "decide", "permission", "gate", "consent"):
        assert word not in names
    # forged operations: each one refused with a clear error, none an answer
    events: list[str] = []
    attacker.bridge.events.connect(events.append)
    attacker.bridge.send(json.dumps(FORGED))
    answers = lambda kind: [i for b in events for i in json.loads(b) if i[0] == kind]  # noqa: E731
    # unknown operations are refused whole ("E"); joins with extra arguments get a reply
    qtbot.waitUntil(lambda: len(answers("E")) == 5 and len(answers("r")) == 3, timeout=LOAD_TIMEOUT_MS)
    assert all("unknown operation" in e[1]["message"] for e in answers("E"))
    assert [(r[1], r[2], r[3]["code"]) for r in answers("r")] == [
        (5, False, "ERR_INVALID_ARGUMENT"),
        (6, False, "ERR_INVALID_ARGUMENT"),
        (7, False, "ERR_INVALID_ARGUMENT"),
    ]
    # a request id reused while its join waits: refused, never a second question
    events.clear()
    attacker.bridge.send(json.dumps([["join", 4000, "other"]]))
    qtbot.waitUntil(lambda: len(permissions.pending()) == 2, timeout=LOAD_TIMEOUT_MS)
    for i in range(49):  # one at a time: back to back, the page would be cut off
        attacker.bridge.send(json.dumps([["join", 4000, "other"]]))
        qtbot.waitUntil(lambda n=i + 1: len(answers("r")) == n, timeout=LOAD_TIMEOUT_MS)
    assert {r[3]["message"] for r in answers("r")} == {"request 4000 is already waiting for an answer"}
    assert len(permissions.pending()) == 2
    # every member the channel publishes, called with every kind of wrong argument
    raw_attack(js, qtbot, attacker)
    # still waiting for the user, who alone can answer; nothing joined, nothing decided
    assert join_result(js, attacker) is None
    assert [p.origin for p in permissions.pending()] == [ALPHA, ALPHA]
    assert not attacker.permission_bar.isHidden()
    assert permissions.policy.saved() == {} and permissions.answer_for(ALPHA) == "ask"
    assert core.presences == {}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name != "peerbrowser.js"]
    permissions.decide(ALPHA, "allow")
    qtbot.waitUntil(lambda: (join_result(js, attacker) or {}).get("ok") is True, timeout=LOAD_TIMEOUT_MS)


def test_the_question_is_plain_text_whatever_the_page_names_its_swarm(
    open_page, js, qtbot, permissions, browser
):
    from PyQt6.QtCore import Qt

    tab = open_page("alpha")
    start_join(js, tab, "<img src=x onerror=alert(1)><b>Allow is safe</b>\n\u202egro.elpmaxe")
    bar = tab.permission_bar
    qtbot.waitUntil(lambda: not bar.isHidden(), timeout=LOAD_TIMEOUT_MS)
    assert bar.label.textFormat() == Qt.TextFormat.PlainText
    text = bar.label.text()
    assert text.startswith("peerapp://alpha wants to connect to peers in '<img src=x onerror=alert(1)><b>")
    assert "\n" not in text and "\u202e" not in text
    permissions.dismiss(tab)
    qtbot.waitUntil(lambda: join_result(js, tab) is not None, timeout=LOAD_TIMEOUT_MS)
    assert join_result(js, tab)["error"] == (
        REFUSED + "peerapp://alpha may not connect to peers: the user dismissed the request"
    )


def test_a_headless_run_that_asks_refuses_for_no_one_can_answer(open_page, fails, core, permissions, browser):
    permissions.can_ask = False  # what --headless with --peers-permission ask gives
    tab = open_page("alpha")
    assert fails(tab, "T.join('room')") == (
        REFUSED + "peerapp://alpha may not connect to peers: no one can answer the question in a headless "
        "run (--peers-permission ask)"
    )
    assert permissions.pending() == [] and core.presences == {} and tab.permission_bar.isHidden()
