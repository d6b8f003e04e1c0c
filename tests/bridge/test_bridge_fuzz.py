"""A hostile page calling the bridge object directly: every call gets a clear
answer, nothing raises on the Python side, and no other page sees any effect."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.browser.conftest import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.browser

OPS = ["identity", "join", "leave", "write", "session", "close", "hello", "bogus", ""]
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
            if op[0] in {"identity", "join", "leave", "write", "session", "close"}
            and type(op[1]) is int
            and op[1] >= 0
        ]
        qtbot.waitUntil(
            lambda: set(well_formed) <= set(answers(events, well_formed)), timeout=LOAD_TIMEOUT_MS
        )
        for item in (i for b in events for i in json.loads(b)):
            if item[0] == "r" and not item[2]:
                err = item[3]
                assert err["code"].startswith("ERR_") and err["message"] and err["name"]
            if item[0] == "E":
                assert item[1]["code"].startswith("ERR_") and item[1]["message"]

    attack()
    # not JSON, not a list, a huge batch: refused as a whole, with a reason
    for bad in ["{", "42", json.dumps({"a": 1}), "[" * 100000, json.dumps([["write"]] * 3)]:
        events.clear()
        bridge.send(bad)
        qtbot.waitUntil(lambda: bool(events), timeout=LOAD_TIMEOUT_MS)
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
