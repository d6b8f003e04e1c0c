"""A hostile page calling the bridge object directly: every call gets a clear
answer, nothing raises on the Python side, and no other page sees any effect."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge import inbox as bridge_inbox
from bridge import renderer, wire
from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.browser

OPS = [
    "identity",
    "join",
    "leave",
    "w",
    "W",
    "session",
    "close",
    "hello",
    "ack",
    "seen",
    "write",
    "bogus",
    "",
]
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.sampled_from(["AAAA", "not base64!", "00" * 32, "zz" * 32, "peerapp://alpha", "x" * 5000]),
)
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def ops(draw, handles):
    name = draw(st.sampled_from(OPS))
    if name == "hello":
        # never a valid one: a hello is a new document for the bridge, whose batch
        # counts start again under the page's own peersocket.js, which goes on counting;
        # once that page has sent more than PAGE_BATCHES_IN_FLIGHT batches it then waits
        # for good (it stalls only itself; a known limitation), and the answers this
        # test waits for would never come. A forged hello early in a page's life is
        # test_a_page_that_says_hello_again_itself_still_gets_its_answers
        req = draw(st.one_of(st.integers(), st.none(), st.lists(scalar, max_size=2)))
    else:
        req = draw(st.one_of(st.integers(min_value=0, max_value=10**6), value))
    args = draw(st.lists(st.one_of(value, st.sampled_from(handles)), max_size=4))
    return [name, req, *args]


def answers(events, req_ids):
    got = {}
    for batch in events:
        for item in json.loads(batch):
            if item[0] == "r":
                got.setdefault(item[1], []).append(item)
    return got


def test_forged_calls_get_clear_answers_and_touch_nobody_else(open_page, call, js, qtbot, caplog, core):
    caplog.set_level(logging.WARNING)
    victim, other = open_page("beta"), open_page("gamma")
    victim_id = call(victim, "T.join('room')")["self"]
    other_id = call(other, "T.join('room')")["self"]
    attacker = open_page("alpha")
    attacker_id = call(attacker, "T.join('room')")["self"]
    qtbot.waitUntil(lambda: js(victim, "T.peers().length") == 2, timeout=LOAD_TIMEOUT_MS)
    victim_handles = [h.id for h in core.handles_of(victim.bridge._doc)]
    own_handles = [h.id for h in core.handles_of(attacker.bridge._doc)]
    bridge = attacker.bridge
    events: list[str] = []
    bridge.events.connect(events.append)
    handles = [*victim_handles, *own_handles, 0, -1, 10**9, "1", None]

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=st.lists(ops(handles), min_size=1, max_size=6))
    def attack(batch):
        events.clear()
        bridge.send(json.dumps(batch))
        well_formed = [
            op[1]
            for op in batch
            if op[0] in {"identity", "join", "leave", "session", "close"}  # w, ack, seen: no reply
            and type(op[1]) is int
            and 0 <= op[1] <= 2**53  # a larger id is refused as unreadable: no answer to wait for
        ]
        qtbot.waitUntil(
            lambda: set(well_formed) <= set(answers(events, well_formed)), timeout=LOAD_TIMEOUT_MS
        )
        page_read_its_events()
        for item in (i for b in events for i in json.loads(b)):
            if item[0] == "r" and not item[2]:
                err = item[3]
                assert err["code"].startswith("ERR_") and err["message"] and err["name"]
            if item[0] == "E":
                assert item[1]["code"].startswith("ERR_") and item[1]["message"]

    def page_read_its_events():
        """The forger's next batch waits for the page's own script to say it read what
        the bridge sent (its ``seen``): the run counts in those batches are what the
        page may send past (else it is cut off, however slowly its batches come:
        test_interleavings.py, test_a_page_calling_the_channel_itself_is_cut_off_...)."""
        outbox = bridge._outbox
        qtbot.waitUntil(
            lambda: outbox.sent - outbox.seen < wire.EVENT_BATCHES_IN_FLIGHT, timeout=LOAD_TIMEOUT_MS
        )

    attack()
    # not JSON, not a list, a huge batch: refused as a whole, with a reason
    for bad in ["{", "42", json.dumps({"a": 1}), "[" * 100000, json.dumps([["write"]] * 3)]:
        events.clear()
        bridge.send(bad)
        qtbot.waitUntil(lambda: bool(events), timeout=LOAD_TIMEOUT_MS)
        page_read_its_events()
    # nothing reached or changed the other pages (the attacker may have left the room
    # with its own handle: the victim then saw it go), and Python logged no error
    assert js(victim, "T.of('message').length") == 0
    assert js(victim, f"T.of('close').filter(e => e[1] !== '{attacker_id}').length") == 0
    assert other_id in js(victim, "T.peers()")
    assert js(victim, "T.swarms.main.getLoopback().info.id") == victim_id
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("peerbrowser") and r.name != "peerbrowser.js"
    ]
    # the victim still works
    call(other, f"T.socket('{victim_id}').write('still fine')")
    qtbot.waitUntil(lambda: js(victim, "T.of('message').length") == 1, timeout=LOAD_TIMEOUT_MS)


# The page's own side of QWebChannel's protocol, sent raw on qt.webChannelTransport:
# every method the channel publishes on the bridge (by index, with wrong arguments),
# property writes, signal (dis)connections, unknown objects and message types, and
# messages that are not JSON at all. deleteLater is left out here: it has its own
# test (test_a_page_that_deletes_its_bridge_object_cuts_off_only_itself). The page
# gets them ready (``window.rawCount``); ``raw_attack`` sends them one at a time.
RAW_ATTACK = """(() => {
  const t = qt.webChannelTransport;
  window.rawCount = 0;
  const prev = t.onmessage;
  t.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type !== 10 || !data.data || !data.data.peersocket) return;
    t.onmessage = prev;
    const meta = data.data.peersocket;
    const o = 'peersocket';
    const weird = [[], [1], [null], [{}], ['x'], [[1, 2]], ['x', 'y', 'z'], [1e308], ['['.repeat(5000)]];
    const raw = [];
    for (const [name, index] of meta.methods) {
      if (name.startsWith('deleteLater')) continue;
      for (const args of weird) raw.push({ type: 6, object: o, method: index, args, id: 90000 + raw.length });
    }
    for (const [index] of meta.properties) {
      for (const value of [1, null, {}, 'x'.repeat(100000), [[[]]]]) raw.push({ type: 9, object: o, property: index, value });
    }
    for (const index of [...Object.values(meta.signals).map((s) => s[1]), 9999, -1]) {
      raw.push({ type: 7, object: o, signal: index }, { type: 8, object: o, signal: index });
    }
    raw.push({ type: 6, object: 'nobody', method: 0, args: [], id: 1 }, { type: 6, object: o, method: 99999, args: [], id: 2 },
      { type: 6, object: o, method: 'send', args: ['[]'], id: 3 }, { type: 9, object: o, property: 99999, value: 1 },
      { type: 99 }, { type: 3 }, { type: 4 }, {}, [], 42);
    const texts = raw.map((m) => JSON.stringify(m));
    texts.push('not json', '{', '', 'null', '"x"', '['.repeat(100000));
    window.rawSend = (i) => { t.send(texts[i]); return true; };
    window.rawCount = texts.length;
  };
  t.send(JSON.stringify({ type: 3, id: 'init' }));
  return true;
})()"""


def raw_attack(js: Any, qtbot: Any, page: Any) -> int:
    """Send RAW_ATTACK's messages from ``page``, one at a time (each after the page's
    answer to the last ``js`` call, so after the bridge received the message before):
    a page within the channel's flow control, however wrong what it sends. Back to
    back, past what it may have in flight, it would be cut off (the tests above)
    before most of them reached the bridge. Returns how many were sent."""
    assert js(page, RAW_ATTACK) is True
    qtbot.waitUntil(lambda: bool(js(page, "window.rawCount")), timeout=LOAD_TIMEOUT_MS)
    count = js(page, "window.rawCount")
    for i in range(count):
        assert js(page, f"window.rawSend({i})") is True
    return int(count)


def test_raw_channel_messages_to_every_published_member_touch_nobody_else(
    open_page, call, js, qtbot, caplog, core, browser
):
    attacker, victim, other = open_page("alpha"), open_page("beta"), open_page("gamma")
    call(attacker, "T.join('room')")
    victim_id = call(victim, "T.join('room')")["self"]
    other_id = call(other, "T.join('room')")["self"]
    qtbot.waitUntil(lambda: js(victim, "T.peers().length") == 2, timeout=LOAD_TIMEOUT_MS)
    assert raw_attack(js, qtbot, attacker) > 50  # every member was tried
    # the attacker's page and bridge survive; the others never noticed
    call(other, f"T.socket('{victim_id}').write('still fine')")
    qtbot.waitUntil(lambda: js(victim, "T.of('message').length") == 1, timeout=LOAD_TIMEOUT_MS)
    assert js(victim, "T.of('close').length") == 0 and other_id in js(victim, "T.peers()")
    assert js(attacker, "T.peers().length") == 2  # its own API still works
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("peerbrowser") and r.name != "peerbrowser.js"
    ]
    browser.close_tab_object(attacker)
    qtbot.waitUntil(lambda: ("peerapp://alpha", 0) not in core.presences, timeout=LOAD_TIMEOUT_MS)


def test_a_page_that_says_hello_again_itself_still_gets_its_answers(open_page, call):
    """A page may forge its own ``hello`` (a new document, for the bridge): the bridge's
    batch counts start again while the page's channel goes on counting. The page keeps
    getting answers (it only dropped its own swarms), rather than stalling after two
    batches."""
    page = open_page("alpha")
    call(page, "T.join('room')")
    page.bridge.send(json.dumps([["hello", "forged-by-the-page"]]))
    for i in range(2 * wire.EVENT_BATCHES_IN_FLIGHT + 2):
        assert call(page, f"T.join('room{i}', 'r{i}')")["self"]


def nice_of(pid: int) -> int:
    """The niceness of ``pid``'s main thread."""
    return os.getpriority(os.PRIO_PROCESS, pid)


def flood_channel(js: Any, page: Any, calls: int) -> None:
    """``page`` calls the bridge's ``send`` itself, ``calls`` times back to back (empty
    batches), as qwebchannel.js makes the call: no flow control at all."""
    js(
        page,
        "new QWebChannel(qt.webChannelTransport, (ch) => {"
        f" for (let i = 0; i < {calls}; i++) ch.objects.peersocket.send('[]'); }}); true",
    )


def test_a_page_flooding_the_channel_itself_is_cut_off_until_it_loads_again(
    open_page, call, js, qtbot, monkeypatch
):
    """A page that calls the bridge's channel itself, past what peersocket.js ever has
    in flight, is cut off (each message would cost QWebChannel time on the browser's
    main thread, every page's time): its peers see it leave, the page's console says
    why, its renderer runs at the lowest CPU priority meanwhile (the other page's does
    not), and once the page loads again PeerSocket works for it again."""
    monkeypatch.setattr(bridge_inbox, "BATCH_RATE", 20.0)  # a small budget, spent fast
    monkeypatch.setattr(bridge_inbox, "BATCH_BURST", 20.0)
    flooder, peer = open_page("alpha"), open_page("beta")
    call(flooder, "T.join('room')")
    flooder_id = call(flooder, "T.swarms.main.getLoopback().info.id")
    call(peer, "T.join('room')")
    qtbot.waitUntil(lambda: js(peer, "T.peers().length") == 1, timeout=LOAD_TIMEOUT_MS)
    pid, peer_pid = flooder.page.renderProcessPid(), peer.page.renderProcessPid()
    assert pid != peer_pid  # (two sites: two renderers)
    nice, peer_nice = nice_of(pid), nice_of(peer_pid)
    flood_channel(js, flooder, 200)
    qtbot.waitUntil(lambda: flooder.page.webChannel() is None, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: js(peer, f"T.of('close').filter(e => e[1] === '{flooder_id}').length") == 1,
        timeout=LOAD_TIMEOUT_MS,
    )
    if sys.platform.startswith("linux"):
        assert nice_of(pid) == renderer.LOWERED_NICE and nice_of(peer_pid) == peer_nice
    js(flooder, "window.__before_reload = true; location.reload(); true")
    qtbot.waitUntil(lambda: flooder.page.webChannel() is not None, timeout=LOAD_TIMEOUT_MS)
    if sys.platform.startswith("linux") and os.geteuid() == 0:  # (see bridge/renderer.py)
        assert nice_of(pid) == nice
    qtbot.waitUntil(  # the new document: the old one answers until the reload commits
        lambda: (
            js(flooder, "!window.__before_reload && document.readyState === 'complete' && !!window.T") is True
        ),
        timeout=LOAD_TIMEOUT_MS,
    )
    call(flooder, "T.join('room')")
    qtbot.waitUntil(lambda: js(peer, "T.peers().length") == 1, timeout=LOAD_TIMEOUT_MS)


def test_a_page_flooding_the_channel_is_cut_off_before_its_batches_run_one_by_one(open_page, call, js, qtbot):
    """With the default budget: a page that calls the channel back to back gets no
    inline turn for each call (it is busy), so its calls pile up unrun and it is cut
    off within a few batches past what it may have in flight, instead of having
    hundreds run one by one as they arrive while every other page's calls wait behind
    them in Chromium's queue (bench.isolation's spam phase: stalls of 0.2-1.1 s before).
    Those of its calls that do run one by one (on a loaded machine, calls come further
    apart) never say they read the run counts sent back: past the allowance, one of
    them cuts it off before it runs."""
    flooder, peer = open_page("alpha"), open_page("beta")
    call(flooder, "T.join('room')")
    call(peer, "T.join('room')")
    qtbot.waitUntil(lambda: js(peer, "T.peers().length") == 1, timeout=LOAD_TIMEOUT_MS)
    before = flooder.bridge.batches_in
    flood_channel(js, flooder, 2000)
    qtbot.waitUntil(lambda: flooder.page.webChannel() is None, timeout=LOAD_TIMEOUT_MS)
    assert flooder.bridge.batches_in - before <= 4 * wire.PAGE_BATCHES_IN_FLIGHT


def test_a_page_over_its_budget_of_channel_messages_is_slowed_not_cut_off(
    open_page, call, js, qtbot, monkeypatch
):
    """peersocket.js keeps to the bridge's pace: a page that sends more batches than
    its budget (each write in a task of its own) waits for the budget to refill, and
    every message arrives, in order; the page is never cut off. (A task of its own:
    a MessageChannel message; setTimeout is clamped to a second in a background tab.)"""
    monkeypatch.setattr(bridge_inbox, "BATCH_RATE", 50.0)
    monkeypatch.setattr(bridge_inbox, "BATCH_BURST", 2.0)  # the join alone spends it
    writer, reader = open_page("alpha"), open_page("beta")
    call(writer, "T.join('room')")
    reader_id = call(reader, "T.join('room')")["self"]
    qtbot.waitUntil(lambda: js(writer, "T.peers().length") == 1, timeout=LOAD_TIMEOUT_MS)
    call(
        writer,
        f"(async () => {{ const s = T.socket('{reader_id}');"
        " for (let i = 0; i < 120; i++) { await s.write(i); await new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = r; c.port2.postMessage(0); }); }"
        " })()",
    )
    qtbot.waitUntil(lambda: js(reader, "T.of('message').length") == 120, timeout=4 * LOAD_TIMEOUT_MS)
    assert js(reader, "T.of('message').map(e => e[2])") == list(range(120))
    assert writer.page.webChannel() is not None
    assert writer.bridge.withheld_total > 0  # it did go past its budget, and waited
