"""The PeerSocket page API end to end: real pages, the bridge, a real swarm core."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.browser


def wait_js(qtbot, js, tab, expr):
    qtbot.waitUntil(lambda: js(tab, expr) is True, timeout=LOAD_TIMEOUT_MS)


def proposal_example() -> str:
    """The proposal's example, verbatim, as the peerapp://proposal/ demo serves it."""
    from pathlib import Path

    html = (Path(__file__).parents[2] / "js/apps/proposal/index.html").read_text()
    return html.rsplit("<script>", 1)[1].split("</script>", 1)[0]


PROPOSAL_EXAMPLE = proposal_example()


def test_the_proposals_chat_example_runs_as_written(open_page, js, qtbot, caplog):
    caplog.set_level(logging.INFO, logger="peerbrowser.js")
    tabs = [open_page("alpha"), open_page("alpha")]
    for n, tab in enumerate(tabs, start=1):
        js(tab, f"PeerSocket.setDebugIdentity({n}); {PROPOSAL_EXAMPLE}; true")
    wait_js(qtbot, js, tabs[0], "typeof swarm === 'object' && swarm.getSockets().length === 1")
    ids = [js(t, "swarm.getLoopback().info.id") for t in tabs]

    def said(speaker: str) -> bool:
        return any(f"{speaker} says Hello!" in r.getMessage() for r in caplog.records)

    qtbot.waitUntil(lambda: said(ids[0]) and said(ids[1]), timeout=LOAD_TIMEOUT_MS)


def test_two_origins_in_one_open_swarm_see_each_other(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    ja = call(a, "T.join('room')")
    jb = call(b, "T.join('room')")
    assert ja["type"] == "open" and ja["id"] == "room"
    assert ja["self"] != jb["self"]
    wait_js(qtbot, js, a, f"T.peers().join() === '{jb['self']}'")
    wait_js(qtbot, js, b, f"T.peers().join() === '{ja['self']}'")
    info = js(a, f"(s => [s.info.id, s.info.host, s.info.port, s.loopback])(T.socket('{jb['self']}'))")
    assert info == [jb["self"], None, None, False]  # same device: no network address


def test_swarm_ids_are_used_as_given_without_unicode_normalisation(open_page, call, js, qtbot):
    # the same word, é as one code point (NFC) or as e + a combining accent (NFD):
    # two swarms, as docs/PROTOCOL.md says, all the way from the page to the topic
    nfc, nfd, other = open_page("alpha"), open_page("beta"), open_page("gamma")
    a = call(nfc, "T.join('caf\\u00e9')")
    b = call(nfd, "T.join('cafe\\u0301')")
    assert (a["id"], b["id"]) == ("caf\u00e9", "cafe\u0301")
    c = call(other, "T.join('caf\\u00e9')")
    wait_js(qtbot, js, nfc, f"T.peers().join() === '{c['self']}'")
    assert js(nfd, "T.peers().length") == 0  # joined before c, and met nobody


def test_origin_swarms_never_mix_origins(open_page, call, js, qtbot):
    a1, a2, b = open_page("alpha", 1), open_page("alpha", 2), open_page("beta")
    ids = {}
    for name, tab in (("a1", a1), ("a2", a2), ("b", b)):
        r = call(tab, "T.join()")
        assert r["type"] == "origin" and r["id"] is None
        ids[name] = r["self"]
    wait_js(qtbot, js, a1, f"T.peers().join() === '{ids['a2']}'")
    wait_js(qtbot, js, a2, f"T.peers().join() === '{ids['a1']}'")
    # the beta page forges its way in by calling the channel object directly
    forged = call(
        b,
        """new Promise((resolve) => {
          const ch = new QWebChannel(qt.webChannelTransport, (c) => {
            c.objects.peersocket.events.connect((t) => resolve(t));
            c.objects.peersocket.send(JSON.stringify([
              ['join', 900, null, 'peerapp://alpha'],
              ['join', 901, {origin: 'peerapp://alpha'}],
              ['hello', 'x'], ['join', 902, null]]));
          });
        })""",
    )
    assert '"ERR_INVALID_ARGUMENT"' in forged  # extra arguments are refused, not read
    assert js(b, "T.peers().length") == 0
    assert js(a1, "T.peers().length") == 1 and js(a2, "T.peers().length") == 1
    assert "peerapp://beta" not in {p["origin"] for p in []}


def test_tabs_of_one_presence_share_sockets_and_events(open_page, call, js, qtbot):
    t1, t2 = open_page("alpha", 3), open_page("alpha", 3)
    peer = open_page("beta")
    s1 = call(t1, "T.join('room')")["self"]
    s2 = call(t2, "T.join('room')")["self"]
    p = call(peer, "T.join('room')")["self"]
    assert s1 == s2
    for t in (t1, t2):
        wait_js(qtbot, js, t, f"T.peers().join() === '{p}'")
    wait_js(qtbot, js, peer, f"T.peers().join() === '{s1}'")
    call(peer, f"T.socket('{s1}').write('to both tabs')")
    for t in (t1, t2):
        wait_js(qtbot, js, t, "T.of('message').length === 1")
        assert js(t, "T.of('message')[0]") == ["message", p, "to both tabs"]
    # the loopback reaches the other tab of the presence, not the writer
    call(t1, f"T.socket('{s1}').write({{tab: 1}})")
    wait_js(qtbot, js, t2, "T.of('message').length === 2")
    assert js(t2, "T.of('message')[1]") == ["message", s1, {"tab": 1}]
    assert js(t1, "T.of('message').length") == 1


def test_a_tab_joining_later_gets_connection_events_for_existing_sockets(open_page, call, js, qtbot):
    t1, peer = open_page("alpha"), open_page("beta")
    s1 = call(t1, "T.join('room')")["self"]
    p = call(peer, "T.join('room')")["self"]
    wait_js(qtbot, js, t1, f"T.peers().join() === '{p}'")
    t2 = open_page("alpha")
    assert call(t2, "T.join('room')")["self"] == s1
    wait_js(qtbot, js, t2, f'JSON.stringify(T.of(\'connection\')) === \'[["connection","main","{p}"]]\'')


def test_session_data_reaches_peers_and_late_joiners(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    sa = call(a, "T.join('room')")["self"]
    call(b, "T.join('room')")
    wait_js(qtbot, js, b, "T.peers().length === 1")
    call(a, "T.swarms.main.getLoopback().setSessionData({name: 'alice', n: [1, 2]})")
    wait_js(qtbot, js, b, "T.of('session').length === 1")
    assert js(b, "T.of('session')[0]") == ["session", sa, {"name": "alice", "n": [1, 2]}]
    assert js(b, f"T.socket('{sa}').getSessionData().name") == "alice"
    late = open_page("gamma")
    call(late, "T.join('room')")
    wait_js(qtbot, js, late, f"!!T.socket('{sa}') && T.socket('{sa}').getSessionData().name === 'alice'")


def test_async_iteration_and_leaving_the_loop_cancels_only_that_reader(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    sa = call(a, "T.join('room')")["self"]
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, b, "T.peers().length === 1")
    js(
        b,
        f"""window.got = []; (async () => {{
          for await (const m of T.socket('{sa}').readable) {{ got.push(m); if (got.length === 2) break }}
          window.loopDone = true }})(); true""",
    )
    for i in range(3):
        call(a, f"T.socket('{sb}').write({i})")
    wait_js(qtbot, js, b, "window.loopDone === true && T.of('message').length === 3")
    assert js(b, "got") == [0, 1]
    assert js(b, f"T.socket('{sa}').readyState") == "open"  # the socket lives on
    js(
        b,
        f"window.again = []; (async () => {{ for await (const m of T.socket('{sa}').readable) again.push(m) }})(); true",
    )
    call(a, f"T.socket('{sb}').write('more')")
    wait_js(qtbot, js, b, "again.length === 1 && again[0] === 'more'")


def test_a_socket_fits_pipe_through(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    sa = call(a, "T.join('room')")["self"]
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    wait_js(qtbot, js, b, "T.peers().length === 1")
    # b echoes with an upper-casing transform; a pipes a stream through its socket
    js(
        b,
        f"""(s => s.readable.pipeThrough(new TransformStream({{transform (c, ctl) {{ ctl.enqueue(c.toUpperCase()) }}}}))
              .pipeTo(new WritableStream({{write: (c) => s.write(c)}})))(T.socket('{sa}')); true""",
    )
    js(
        a,
        f"""window.echoed = []; (async () => {{
          const src = new ReadableStream({{start (c) {{ c.enqueue('ping'); c.enqueue('pong') }}}});
          const out = src.pipeThrough(T.socket('{sb}'));
          for await (const m of out) {{ echoed.push(m) }}
        }})(); true""",
    )
    wait_js(qtbot, js, a, "echoed.length === 2")
    assert js(a, "echoed") == ["PING", "PONG"]


def test_structured_and_binary_messages_round_trip_exactly(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    sa = call(a, "T.join('room')")["self"]
    call(b, "T.join('room')")
    wait_js(qtbot, js, b, "T.peers().length === 1")
    values = """[null, true, false, 0, -0, 1.5, -7, 2**40, -(2**53 - 1), NaN, Infinity, '', 'ü日本🎉',
      [1, [2, [3]]], {a: {b: {c: null}}, 'key with space': 1}, new Uint8Array([0, 255, 7]),
      new Uint8Array(70000).fill(9).buffer, {bin: new Uint8Array([1])}, 'x'.repeat(100000)]"""
    js(b, f"window.sent = {values}; for (const v of sent) T.socket('{sa}').write(v); true")
    n = js(b, "sent.length")
    wait_js(qtbot, js, a, f"T.of('message').length === {n}")
    received = js(a, "JSON.stringify(T.of('message').map(e => e[2]))")
    # what was sent, as it must arrive: an ArrayBuffer arrives as a Uint8Array
    expected = js(
        b, "JSON.stringify(sent.map(v => T.plain(v instanceof ArrayBuffer ? new Uint8Array(v) : v)))"
    )
    assert received == expected
    assert js(a, "T.of('message').map(e => typeof e[2]).join()").count("object") >= 5


def test_unsupported_and_oversize_values_reject_write_and_send_nothing(open_page, call, js, fails, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    call(a, "T.join('room')")
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    sock = f"T.socket('{sb}')"
    cases = {
        "undefined": "TypeError|ERR_UNSUPPORTED_VALUE",
        "() => 1": "TypeError|ERR_UNSUPPORTED_VALUE",
        "document.body": "TypeError|ERR_UNSUPPORTED_VALUE",
        "(() => { const o = {}; o.self = o; return o })()": "TypeError|ERR_UNSUPPORTED_VALUE",
        "{when: new Date()}": "TypeError|ERR_UNSUPPORTED_VALUE",
        "10n": "TypeError|ERR_UNSUPPORTED_VALUE",
        "new Float32Array(2)": "TypeError|ERR_UNSUPPORTED_VALUE",
        "new Uint8Array(4 * 1024 * 1024 + 1)": "RangeError|ERR_TOO_LARGE",
    }
    for value, want in cases.items():
        assert fails(a, f"{sock}.write({value})").startswith(want), value
    call(a, f"{sock}.write('after the failures')")
    wait_js(qtbot, js, b, "T.of('message').length === 1")
    assert js(b, "T.of('message')[0][2]") == "after the failures"
    assert "cannot be sent" in fails(a, f"{sock}.write({{f: () => 1}})")


def test_every_documented_error_has_a_name_code_and_message(open_page, call, js, fails, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    assert fails(a, "PeerSocket.joinSwarm({id: 42})").startswith("TypeError|ERR_INVALID_ARGUMENT|")
    assert fails(a, "PeerSocket.joinSwarm('room')").startswith("TypeError|ERR_INVALID_ARGUMENT|")
    assert fails(a, "PeerSocket.joinSwarm({id: ''})").startswith("TypeError|ERR_INVALID_ARGUMENT|")
    assert fails(a, "PeerSocket.setDebugIdentity(2)").startswith(
        "InvalidStateError|ERR_DEBUG_IDENTITY_LOCKED|"
    )
    call(a, "T.join('room')")
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    assert fails(a, f"T.socket('{sb}').setSessionData(1)").startswith("TypeError|ERR_NOT_LOOPBACK|")
    assert fails(a, "T.swarms.main.getLoopback().setSessionData('x'.repeat(20000))").startswith(
        "RangeError|ERR_TOO_LARGE|"
    )
    assert fails(a, "T.swarms.main.getLoopback().close()").startswith(
        "InvalidAccessError|ERR_LOOPBACK_CLOSE|"
    )
    assert fails(b, "PeerSocket.setDebugIdentity(-1)").startswith("InvalidStateError|")  # b already joined
    call(a, f"T.socket('{sb}').close()")
    assert fails(
        a, f"T.swarms.main.getSockets().length ? 0 : T.swarms.main._sockets.get('{sb}').write(1)"
    ).startswith("InvalidStateError|ERR_SOCKET_CLOSED|")
    call(a, "T.swarms.main.close()")
    assert js(a, "T.swarms.main.closed && T.swarms.main.readyState") == "closed"
    assert fails(a, "T.swarms.main.getLoopback().write(1)").startswith("InvalidStateError|ERR_SOCKET_CLOSED|")


def test_set_debug_identity_rejects_bad_numbers(open_page, fails):
    a = open_page("alpha")
    assert fails(a, "PeerSocket.setDebugIdentity('1')").startswith("TypeError|ERR_INVALID_ARGUMENT|")
    assert fails(a, "PeerSocket.setDebugIdentity(1.5)").startswith("TypeError|ERR_INVALID_ARGUMENT|")


def test_opaque_origins_get_a_clear_error_for_origin_swarms(browser, qtbot, js, fails, call):
    tab = browser.new_tab("data:text/html,<title>opaque</title>")
    qtbot.waitUntil(lambda: js(tab, "typeof PeerSocket") == "function", timeout=LOAD_TIMEOUT_MS)
    assert fails(tab, "PeerSocket.joinSwarm()").startswith("SecurityError|ERR_OPAQUE_ORIGIN|")
    assert call(tab, "PeerSocket.joinSwarm({id: 'open-to-all'}).then(s => s.type)") == "open"


def test_socket_close_reaches_the_peer_with_code_and_reason(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    sa = call(a, "T.join('room')")["self"]
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    wait_js(qtbot, js, b, "T.peers().length === 1")
    js(b, f"T.socket('{sa}').closed.then(i => window.closeInfo = i); true")
    call(a, f"T.socket('{sb}').close('bye')")
    wait_js(qtbot, js, b, "!!window.closeInfo")
    assert js(b, "closeInfo") == {"code": 1000, "reason": "bye", "wasClean": True}
    assert js(b, "T.peers().length") == 0 and js(a, "T.peers().length") == 0


def test_closing_a_tab_or_navigating_away_closes_its_sockets_for_peers(open_page, call, js, qtbot, browser):
    a, b, c = open_page("alpha"), open_page("beta"), open_page("gamma")
    sa = call(a, "T.join('room')")["self"]
    sb = call(b, "T.join('room')")["self"]
    call(c, "T.join('room')")
    wait_js(qtbot, js, c, "T.peers().length === 2")
    browser.close_tab_object(a)
    wait_js(qtbot, js, c, f"T.of('close').some(e => e[1] === '{sa}')")
    b.load(__import__("PyQt6.QtCore", fromlist=["QUrl"]).QUrl("peerapp://gamma/"))
    wait_js(qtbot, js, c, f"T.of('close').some(e => e[1] === '{sb}')")
    assert js(c, "T.peers().length") == 0


def test_a_call_in_flight_across_a_navigation_acts_for_nobody(open_page, call, core, qtbot):
    from PyQt6.QtCore import QUrl

    a = open_page("alpha")
    call(a, "T.join('room')")
    events: list[str] = []
    a.bridge.events.connect(events.append)
    # the page commits a navigation to another origin; a join sent by the old
    # document arrives after that, before the new document said hello
    a.bridge._on_url_changed(QUrl("peerapp://beta/"))
    a.bridge.send('[["join", 77, null]]')
    qtbot.waitUntil(lambda: any('"ERR_NO_DOCUMENT"' in e for e in events), timeout=LOAD_TIMEOUT_MS)
    assert all(p.origin != "peerapp://beta" for p in core.presences.values())


def test_a_reader_that_does_not_read_holds_back_only_its_writer(open_page, call, js, qtbot):
    a, b, c = open_page("alpha"), open_page("beta"), open_page("gamma")
    sa = call(a, "T.join('room')")["self"]
    sb = call(b, "T.join('room')")["self"]
    sc = call(c, "T.join('room')")["self"]
    for t in (a, b, c):
        wait_js(qtbot, js, t, "T.peers().length === 2")
    # b takes the readable stream and does not read it
    js(b, f"window.stalled = T.socket('{sa}').readable; true")
    js(
        a,
        f"""window.done = 0; window.low = 0; const s = T.socket('{sb}');
        s.bufferedAmountLowThreshold = 0; s.onbufferedamountlow = () => low++;
        window.writes = []; for (let i = 0; i < 64; i++)
          writes.push(s.write(new Uint8Array(65536).fill(i)).then(() => done++)); true""",
    )
    # what b's stream holds plus the window, and no more, gets through
    wait_js(qtbot, js, b, "T.of('message').length >= 15")  # a window's worth: 1 MiB
    wait_js(qtbot, js, a, f"done >= 15 && T.socket('{sb}').bufferedAmount > 1024 * 1024")
    # meanwhile a's other socket is not held back: a round trip to c
    call(c, f"T.socket('{sa}').write('ping')")
    wait_js(qtbot, js, a, f"T.of('message').some(e => e[1] === '{sc}')")
    call(a, f"T.socket('{sc}').write('pong')")
    wait_js(qtbot, js, c, "T.of('message').length === 1")
    assert js(a, "done") < 64 and js(b, "T.of('message').length") < 64
    # b reads: everything arrives, in order, and a hears bufferedamountlow
    js(b, "window.got = []; (async () => { for await (const m of stalled) got.push(m[0]) })(); true")
    wait_js(qtbot, js, b, "got.length === 64")
    assert js(b, "got") == list(range(64))
    wait_js(qtbot, js, a, f"done === 64 && low >= 1 && T.socket('{sb}').bufferedAmount === 0")


def test_a_drain_counts_exactly_the_writes_the_browser_had_run(open_page, call, js, qtbot, monkeypatch):
    """A write gets no reply: each drain says how many of the page's writes it counts.
    The reader can consume a write before the writer's page hears anything at all: the
    drain that then reaches the page already counts that write, and the page must not
    count it again (it would believe 600 KiB unread that the peer has consumed, and
    its next write would wait forever)."""
    a, b = open_page("alpha"), open_page("beta")
    call(a, "T.join('room')")
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    # hold what goes to a's page until the drain that counts the write is waiting
    bridge = a.bridge
    outbox = bridge._outbox
    deliver = bridge._flush
    held = [True]

    def flush() -> None:
        if held[0]:
            outbox._scheduled = False
        else:
            deliver()

    monkeypatch.setattr(bridge, "_flush", flush)
    js(a, f"window.w = [T.socket('{sb}').write(new Uint8Array(600 * 1024).fill(1))]; true")
    wait_js(qtbot, js, b, "T.of('message').length === 1")
    qtbot.waitUntil(
        lambda: any(i and i[0] == "d" and i[3] == 0 and i[4] == 1 for i in outbox._items), timeout=LOAD_TIMEOUT_MS
    )
    assert js(a, f"T.socket('{sb}').bufferedAmount") == 600 * 1024 + 5  # still on its way, as far as a knows
    held[0] = False
    deliver()
    call(a, "w[0]")
    # nothing is unread: a second 600 KiB write goes out at once and arrives
    wait_js(qtbot, js, a, f"T.socket('{sb}').bufferedAmount === 0")
    js(a, f"w.push(T.socket('{sb}').write(new Uint8Array(600 * 1024).fill(2))); true")
    wait_js(qtbot, js, b, "T.of('message').length === 2")
    call(a, "w[1]")


def test_a_page_that_deletes_its_bridge_object_cuts_off_only_itself(
    open_page, call, js, qtbot, browser, core, caplog
):
    """QWebChannel also publishes QObject's deleteLater(): a page can call it on the
    bridge object over its own channel, bypassing peersocket.js."""
    from PyQt6 import sip

    a, b, c = open_page("alpha"), open_page("beta"), open_page("gamma")
    sa = call(a, "T.join('room')")["self"]
    for t in (b, c):
        call(t, "T.join('room')")
    wait_js(qtbot, js, b, "T.peers().length === 2")
    js(
        a,
        """new QWebChannel(qt.webChannelTransport, (ch) => {
             ch.objects.peersocket.objectName = 'renamed'; ch.objects.peersocket.deleteLater() }); true""",
    )
    qtbot.waitUntil(lambda: sip.isdeleted(a.bridge), timeout=LOAD_TIMEOUT_MS)
    # its presence leaves at once; its peers see the socket close; they still talk
    qtbot.waitUntil(lambda: ("peerapp://alpha", 0) not in core.presences, timeout=LOAD_TIMEOUT_MS)
    wait_js(qtbot, js, b, f"T.of('close').some(e => e[1] === '{sa}')")
    sc = js(c, "T.swarms.main.getLoopback().info.id")
    call(b, f"T.socket('{sc}').write('still here')")
    wait_js(qtbot, js, c, "T.of('message').length === 1")
    # and the tab still closes cleanly
    browser.close_tab_object(a)
    qtbot.waitUntil(lambda: set(core.presences) == {("peerapp://beta", 0), ("peerapp://gamma", 0)})
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_writes_past_the_send_queue_limit_fail_and_send_nothing(open_page, call, js, fails, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    call(a, "T.join('room')")
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    js(b, "window.stalled = T.socket(T.peers()[0]).readable; true")
    # 4 MiB messages: the window, the stream's share, then the 16 MiB queue fill up
    js(a, f"window.big = new Uint8Array(4 * 1024 * 1024 - 16); for (let i = 0; i < 8; i++) T.socket('{sb}').write(big); true")
    assert fails(a, f"T.socket('{sb}').write(big)").startswith("OperationError|ERR_BUFFER_FULL|")


@pytest.mark.parametrize("grace", [60.0])
def test_a_reload_keeps_the_presence_and_its_peers(open_page, call, js, qtbot, grace):
    a, b = open_page("alpha"), open_page("beta")
    sa = call(a, "T.join('room')")["self"]
    call(b, "T.join('room')")
    wait_js(qtbot, js, b, "T.peers().length === 1")
    a.page.triggerAction(a.page.WebAction.Reload)
    qtbot.waitUntil(lambda: js(a, "typeof T === 'object' && !T.swarms.main") is True, timeout=LOAD_TIMEOUT_MS)
    assert call(a, "T.join('room')")["self"] == sa  # the same presence, same id
    wait_js(qtbot, js, a, "T.peers().length === 1")
    assert js(b, "T.of('close').length") == 0  # the peer never saw it go


def test_a_hundred_tabs_opened_and_closed_leave_nothing_behind(open_page, call, js, qtbot, browser, core):
    import gc

    from bridge.page import PageBridge

    peer = open_page("beta")
    call(peer, "T.join('room')")
    tasks_before = len(asyncio.all_tasks(core.loop))
    for i in range(100):
        tab = open_page("alpha", i % 4)
        call(tab, "T.join('room')")
        browser.close_tab_object(tab)
    wait_js(qtbot, js, peer, "T.of('connection').length === 100 && T.of('close').length === 100")
    qtbot.waitUntil(lambda: set(core.presences) == {("peerapp://beta", 0)}, timeout=LOAD_TIMEOUT_MS)
    assert len(core._handles) == 1 and js(peer, "T.peers().length") == 0
    (membership,) = core.presences[("peerapp://beta", 0)].memberships.values()
    assert membership.sockets == {} and membership.closed_peers == set()
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, PageBridge) and not o._detached]
    assert len(alive) <= len(browser.tabs())  # one per open tab, no more
    assert len(asyncio.all_tasks(core.loop)) <= tasks_before  # no task left per tab


def test_a_handle_of_the_previous_document_acts_for_nobody(open_page, call, js, qtbot):
    a, b = open_page("alpha"), open_page("beta")
    call(a, "T.join('room')")
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    old = a.bridge._doc
    (old_handle,) = old.handles
    a.page.triggerAction(a.page.WebAction.Reload)
    qtbot.waitUntil(lambda: a.bridge._doc is not None and a.bridge._doc is not old, timeout=LOAD_TIMEOUT_MS)
    events: list[str] = []
    a.bridge.events.connect(events.append)
    a.bridge.send(f'[["w", {old_handle}, "{sb}", "kQ=="], ["leave", 6, {old_handle}]]')
    qtbot.waitUntil(lambda: sum(e.count('"ERR_INVALID_HANDLE"') for e in events) == 2, timeout=LOAD_TIMEOUT_MS)
    assert js(b, "T.of('message').length") == 0


def test_tabs_joining_at_the_same_moment_form_the_full_mesh(open_page, js, qtbot):
    tabs = [open_page("alpha", n) for n in range(8)]
    for t in tabs:  # all join on one signal, so the joins reach the browser together
        js(t, "new BroadcastChannel('go').onmessage = () => T.join('room').then(r => window.me = r.self); true")
    js(open_page("alpha", 99), "new BroadcastChannel('go').postMessage(1); true")
    for t in tabs:
        wait_js(qtbot, js, t, "!!window.me && T.peers().length === 7")
    ids = {js(t, "me") for t in tabs}
    for t in tabs:
        assert set(js(t, "T.peers()")) == ids - {js(t, "me")}
        assert js(t, "T.of('connection').length") == 7


def test_the_browser_answers_a_page_s_batches_with_events_only(open_page, call, js, qtbot):
    """peersocket.js writes its batches to the bridge's ``inbox`` property, which
    QWebChannel does not answer: what reaches a page is its events, not a response
    message per batch (each one a crossing and main-thread work in the browser)."""
    a, b = open_page("alpha"), open_page("beta")
    call(a, "T.join('room')")
    sb = call(b, "T.join('room')")["self"]
    wait_js(qtbot, js, a, "T.peers().length === 1")
    js(
        a,
        """(() => { const t = qt.webChannelTransport; const on = t.onmessage; window.__types = [];
        t.onmessage = (m) => { __types.push(JSON.parse(m.data).type); on(m); }; return true; })()""",
    )
    for i in range(20):  # one batch each: the next waits for the peer's answer
        call(a, f"T.socket('{sb}').write({i})")
        wait_js(qtbot, js, b, f"T.of('message').length === {i + 1}")
    assert js(b, "T.of('message').map(e => e[2])") == list(range(20))
    types = js(a, "__types")
    assert 10 not in types, types  # QWebChannel's response to a method call
    assert set(types) <= {1}, types  # signals: the bridge's event batches
