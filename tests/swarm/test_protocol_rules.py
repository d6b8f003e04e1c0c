"""The rules docs/PROTOCOL.md states, one by one, with bytes in and bytes out."""

from __future__ import annotations

import itertools
from hashlib import blake2b

import pytest

from swarm import limits
from swarm.framing import FrameDecoder, encode_frame
from swarm.protocol import (
    MAX_NUMBER,
    PROOF_CONTEXT,
    Frame,
    LinkClosed,
    LinkOpened,
    LinkProtocol,
    LinkState,
    PeerJoined,
    PeerLeft,
    keeps_newer_link,
)
from swarm.topics import SwarmKey, open_topic
from tests.swarm.protocol_helpers import Key, exchange, frame, fresh

T1, T2, T3 = open_topic("one"), open_topic("two"), open_topic("three")
PEER_NONCE = b"\x01" * 32


def frames(data: bytes) -> list[list]:
    """The frames in a byte string, decoded."""
    return FrameDecoder(limits.MAX_FRAME, max_array=8, max_str=limits.MAX_REASON_LEN).feed(data)


def kinds(data: bytes) -> list[Frame]:
    return [Frame(f[0]) for f in frames(data)]


def closed(p: LinkProtocol, code: str, text: str, events: list | None = None) -> LinkClosed:
    """``p`` closed the link itself with ``code``, said why, and queued the GOODBYE that says it."""
    events = [e for e in (p.events_received() if events is None else events) if isinstance(e, LinkClosed)]
    assert p.state is LinkState.CLOSED
    assert len(events) == 1 and events[0].code == code and not events[0].by_peer, events
    assert text in events[0].reason, events[0].reason
    assert p.data_to_send().endswith(encode_frame([Frame.GOODBYE, code, events[0].reason]))
    return events[0]


def proof(key: Key, p: LinkProtocol) -> bytes:
    """``key``'s proof on ``p``'s link, as the peer (whose nonce is PEER_NONCE) signs it."""
    return key.sign(PROOF_CONTEXT + p.link_key + PEER_NONCE + key.id)


# --- versions ------------------------------------------------------------------------------------


def test_a_side_that_speaks_version_1_only_sends_exactly_0_1_nonce():
    p = LinkProtocol(nonce=b"\x07" * 32, versions=(1,))
    assert p.data_to_send() == encode_frame([0, 1, b"\x07" * 32])


def test_peerbrowser_offers_versions_1_and_2():
    p = LinkProtocol(nonce=b"\x07" * 32)
    assert p.data_to_send() == encode_frame([0, [1, 2], b"\x07" * 32])


@pytest.mark.parametrize("versions", [1, [1], [1, 5, 9]])
def test_a_hello_that_lists_version_1_opens_a_version_1_link(versions):
    p = fresh(False)
    p.receive_data(frame(Frame.HELLO, versions, PEER_NONCE))
    assert p.events_received() == [LinkOpened()]
    assert p.version == 1
    assert p.peer_versions == ((versions,) if isinstance(versions, int) else tuple(versions))


@pytest.mark.parametrize("versions", [2, [1, 2], [2, 3], [1, 2, 7]])
def test_the_link_speaks_the_highest_version_both_sides_list(versions):
    p = fresh(False)
    p.receive_data(frame(Frame.HELLO, versions, PEER_NONCE))
    assert p.events_received() == [LinkOpened()]
    assert p.version == 2


def test_fields_after_the_nonce_are_ignored_so_a_later_version_may_add_some():
    p = fresh(False)
    p.add_topic(T1)
    p.receive_data(frame(Frame.HELLO, [1, 2, 3], PEER_NONCE, "a field of version 3", 7))
    assert p.events_received() == [LinkOpened()]
    assert kinds(p.data_to_send()) == [Frame.TOPIC]  # and the link speaks version 2


@pytest.mark.parametrize(
    ("mine", "versions", "theirs"),
    [((1, 2), [3], "3"), ((1, 2), [3, 4], "3, 4"), ((1,), 2, "2"), ((1,), [2, 3], "2, 3"), ((2,), 1, "1")],
)
def test_a_hello_sharing_no_version_is_refused_with_err_version(mine, versions, theirs):
    p = LinkProtocol(versions=mine)
    p.data_to_send()
    p.receive_data(frame(Frame.HELLO, versions, PEER_NONCE))
    spoken = ", ".join(map(str, mine))
    event = closed(
        p, "ERR_VERSION", f"no protocol version in common: this side speaks {spoken}, the peer {theirs}"
    )
    assert event.reason == f"no protocol version in common: this side speaks {spoken}, the peer {theirs}"
    assert p.link_key is None


@pytest.mark.parametrize("versions", [0, -1, [], [2, 1], [1, 1], "1", [1, "2"], True, 1.0, None, 2**32])
def test_malformed_versions_are_a_protocol_error(versions):
    p = fresh(False)
    p.receive_data(frame(Frame.HELLO, versions, PEER_NONCE))
    closed(p, "ERR_PROTOCOL", "HELLO versions must be")


# --- numbering -------------------------------------------------------------------------------------


def test_numbers_start_at_0_and_follow_the_order_the_frames_go_out():
    a, b = LinkProtocol(), LinkProtocol()
    k1, k2, k3 = Key(), Key(), Key()
    for t in (T1, T2, T3):
        a.add_topic(t)
    b.add_topic(T2)
    a.join(T1, k1.id, k1.sign, None)  # k1 joined first, but in a topic b does not know
    a.join(T2, k2.id, k2.sign, None)
    b.receive_data(a.data_to_send())
    a.receive_data(b.data_to_send())
    out = frames(a.data_to_send())
    assert [f[1] for f in out if f[0] == Frame.TOPIC] == [0, 1, 2]
    assert [(f[1], f[2]) for f in out if f[0] == Frame.PRESENCE] == [(0, k2.id)]
    b.add_topic(T1)
    a.receive_data(b.data_to_send())
    out = frames(a.data_to_send())
    assert [(f[1], f[2]) for f in out if f[0] == Frame.PRESENCE] == [(1, k1.id)]
    a.join(T3, k3.id, k3.sign, None)  # T3 is not shared: k3 gets no number yet
    assert a.data_to_send() == b""
    a.remove_topic(T3)
    a.add_topic(T3)  # a topic added again gets a new number, never its old one
    assert [f[1] for f in frames(a.data_to_send()) if f[0] == Frame.TOPIC] == [3]


def test_a_presence_left_and_back_gets_a_new_number():
    a, b = LinkProtocol(), LinkProtocol()
    k = Key()
    a.add_topic(T1)
    b.add_topic(T1)
    a.join(T1, k.id, k.sign, None)
    exchange(a, b)
    a.forget_presence(k.id)
    a.join(T1, k.id, k.sign, b"back")
    out = frames(a.data_to_send())
    assert [f[:2] for f in out] == [[Frame.UNPRESENCE, 0], [Frame.PRESENCE, 1], [Frame.JOIN, 0]]
    b.receive_data(encode_frame(out[0]) + encode_frame(out[1]) + encode_frame(out[2]))
    assert b.events_received() == [PeerLeft(T1, k.id), PeerJoined(T1, k.id, b"back")]


def test_a_presence_number_reused_after_unpresence_is_refused_and_its_join_never_seen():
    p = fresh(True)
    p.add_topic(T1)
    tag = frames(p.data_to_send())[0][2]
    first, second = Key(), Key()
    p.receive_data(frame(Frame.TOPIC, 0, tag))
    p.receive_data(frame(Frame.PRESENCE, 0, first.id, proof(first, p)) + frame(Frame.UNPRESENCE, 0))
    assert p.state is LinkState.OPEN
    p.events_received()
    p.data_to_send()
    # a new key under the number just withdrawn, with a valid proof, then its JOIN
    p.receive_data(frame(Frame.PRESENCE, 0, second.id, proof(second, p)) + frame(Frame.JOIN, 0, 0, None))
    events = p.events_received()
    assert not [e for e in events if isinstance(e, PeerJoined)]
    reason = "PRESENCE 0 reuses a number: presence numbers only increase on a link (the last was 0)"
    closed(p, "ERR_PROTOCOL", reason, events)


@pytest.mark.parametrize(("first", "then", "refused"), [(5, 3, True), (5, 5, True), (5, 9, False)])
def test_presence_numbers_must_increase_but_may_skip(first, then, refused):
    p = fresh(True)
    a, b = Key(), Key()
    p.receive_data(
        frame(Frame.PRESENCE, first, a.id, proof(a, p)) + frame(Frame.PRESENCE, then, b.id, proof(b, p))
    )
    if refused:
        closed(p, "ERR_PROTOCOL", f"PRESENCE {then} reuses a number")
    else:
        assert p.state is LinkState.OPEN and p.events_received() == []


def test_a_topic_number_reused_after_untopic_is_refused():
    p = fresh(True)
    p.receive_data(frame(Frame.TOPIC, 0, b"\x05" * 32) + frame(Frame.UNTOPIC, 0))
    assert p.state is LinkState.OPEN
    p.receive_data(frame(Frame.TOPIC, 0, b"\x06" * 32))
    closed(
        p, "ERR_PROTOCOL", "TOPIC 0 reuses a number: topic numbers only increase on a link (the last was 0)"
    )


def test_refusing_reuse_remembers_nothing_per_number_withdrawn():
    p = fresh(True)
    keys = [Key(), Key()]
    for n in range(2000):  # twice the 1,024 presences and topics a side may have at once
        k = keys[n % 2]
        p.receive_data(frame(Frame.PRESENCE, n, k.id, proof(k, p)) + frame(Frame.UNPRESENCE, n))
        p.receive_data(frame(Frame.TOPIC, n, n.to_bytes(32, "big")) + frame(Frame.UNTOPIC, n))
    assert p.state is LinkState.OPEN
    assert p._peer_presences == {} and p._peer_id_to_pnum == {}
    assert p._peer_topics == {} and p._peer_tag_to_tnum == {}
    assert (p._peer_last_pnum, p._peer_last_tnum) == (1999, 1999)


def test_a_side_that_used_every_number_closes_the_link():
    p = fresh(True)
    p._next_tnum = MAX_NUMBER
    p.add_topic(T1)
    assert [f[:2] for f in frames(p.data_to_send())] == [[Frame.TOPIC, MAX_NUMBER]]
    p.add_topic(T2)
    p.join(T2, Key().id, Key().sign, None)  # the core joins right after: nothing happens
    closed(p, "ERR_LINK_EXHAUSTED", "every topic number of this link is used")


# --- limits: the frame's own array counts -----------------------------------------------------------


def test_the_frames_own_array_counts_in_the_8_element_limit():
    eight = fresh(False)
    eight.receive_data(frame(Frame.HELLO, 1, PEER_NONCE, 4, 5, 6, 7, 8))
    assert eight.events_received() == [LinkOpened()]
    nine = fresh(False)
    nine.receive_data(frame(Frame.HELLO, 1, PEER_NONCE, 4, 5, 6, 7, 8, 9))
    closed(nine, "ERR_PROTOCOL", "9 exceeds max_array_len(8)")
    inner = fresh(False)
    inner.receive_data(frame(Frame.HELLO, list(range(1, 10)), PEER_NONCE))
    closed(inner, "ERR_PROTOCOL", "9 exceeds max_array_len(8)")


def test_strings_are_bounded_in_utf8_bytes_and_a_sender_cuts_between_characters():
    a, b, ka, kb = joined_pair()
    reason = "日本" * 100  # 200 characters, 600 bytes
    assert a.close_socket(T1, ka.id, kb.id, 1000, reason)
    sent = frames(a.data_to_send())[0]
    assert sent[5] == "日本" * 42 + "日" and len(sent[5].encode()) == 255  # whole characters only
    b.receive_data(encode_frame(sent))
    assert b.state is LinkState.OPEN and b.events_received()[0].reason == sent[5]
    b.receive_data(frame(Frame.CLOSE, 0, 0, 0, 1000, "é" * 128))  # 256 bytes: the most there is
    assert b.state is LinkState.OPEN
    b.receive_data(frame(Frame.CLOSE, 0, 0, 0, 1000, "é" * 128 + "x"))
    closed(b, "ERR_PROTOCOL", "257 exceeds max_str_len(256)")
    c, _, _, _ = joined_pair()
    c.receive_data(frame(Frame.GOODBYE, "É" * 33, ""))  # a code of 33 characters, 66 bytes
    closed(c, "ERR_PROTOCOL", "GOODBYE code must be a string of at most 64 bytes of UTF-8")


# --- GOODBYE -----------------------------------------------------------------------------------------


def test_goodbye_is_the_senders_last_frame_and_never_answered():
    a, b, ka, kb = joined_pair()
    a.close("ERR_DEVICE_CLOSING", "bye")
    assert not a.send_message(T1, ka.id, kb.id, b"late")
    a.set_session(T1, ka.id, b"late")
    a.leave(T1, ka.id)
    assert frames(a.data_to_send()) == [[Frame.GOODBYE, "ERR_DEVICE_CLOSING", "bye"]]
    b.receive_data(encode_frame([Frame.GOODBYE, "ERR_DEVICE_CLOSING", "bye"]) + frame(Frame.LEAVE, 0, 0))
    assert b.events_received() == [LinkClosed("ERR_DEVICE_CLOSING", "bye", by_peer=True)]
    assert b.data_to_send() == b""  # no GOODBYE back, nothing else
    b.receive_data(frame(Frame.MESSAGE, 0, 0, 0, b"x"))  # whatever comes after is ignored
    assert b.events_received() == [] and b.data_to_send() == b""


# --- topics: a tag for every topic on every link ---------------------------------------------------------


def test_a_side_sends_a_tag_for_each_of_its_topics_on_every_link_also_where_none_is_shared():
    a = fresh(False)
    for t in (T1, T2, T3):
        a.add_topic(t)
    assert a.data_to_send() == b""  # nothing before the peer's HELLO
    a.receive_data(frame(Frame.HELLO, 1, PEER_NONCE))
    key = a.link_key
    assert frames(a.data_to_send()) == [
        [Frame.TOPIC, n, blake2b(t, key=key, digest_size=32).digest()] for n, t in enumerate((T1, T2, T3))
    ]


# --- presences only where a topic is shared --------------------------------------------------------------


def test_presences_are_announced_only_on_links_that_share_a_topic():
    a, b = LinkProtocol(), LinkProtocol()
    ka, kb = Key(), Key()
    a.add_topic(T1)
    a.join(T1, ka.id, ka.sign, b"session")
    b.add_topic(T2)
    b.join(T2, kb.id, kb.sign, None)
    wire = []
    for _ in range(3):
        da, db = a.data_to_send(), b.data_to_send()
        wire += [da, db]
        b.receive_data(da)
        a.receive_data(db)
    sent = b"".join(wire)
    assert set(kinds(sent)) == {Frame.HELLO, Frame.TOPIC}
    assert ka.id not in sent and kb.id not in sent
    # once a topic is shared, the presences in it (only) are proven, then join
    b.add_topic(T1)
    a.receive_data(b.data_to_send())
    assert [f[0] for f in frames(a.data_to_send())] == [Frame.PRESENCE, Frame.JOIN]
    # and a presence that joins a topic the peer does not know stays unknown to it
    kc = Key()
    a.add_topic(T3)
    a.join(T3, kc.id, kc.sign, None)
    assert kc.id not in a.data_to_send()


# --- duplicate links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [(b"\x01" * 32, b"\x02" * 32), (b"\x02" * 32, b"\x01" * 32)])
@pytest.mark.parametrize(("first_by_a", "second_by_a"), list(itertools.product([True, False], repeat=2)))
def test_both_devices_keep_the_same_one_of_two_links(keys, first_by_a, second_by_a):
    key_a, key_b = keys

    def kept_by(me: bytes, peer: bytes, first_mine: bool, second_mine: bool, order: str) -> str:
        """Which link a device keeps, seeing them in ``order``."""
        if order == "first, second":
            return "second" if keeps_newer_link(me, peer, first_mine, second_mine) else "first"
        return "first" if keeps_newer_link(me, peer, second_mine, first_mine) else "second"

    by_a = kept_by(key_a, key_b, first_by_a, second_by_a, "first, second")
    by_b = kept_by(key_b, key_a, not first_by_a, not second_by_a, "first, second")
    assert by_a == by_b
    if first_by_a != second_by_a:
        # dialled at once: the one dialled by the greater key, in whatever order each saw them
        greater_dialled = "first" if first_by_a == (key_a > key_b) else "second"
        assert by_a == greater_dialled
        assert kept_by(key_b, key_a, not first_by_a, not second_by_a, "second, first") == by_a
    else:
        assert by_a == "second"  # the same device dialled again: the newer


# --- swarm ids are hashed as given -------------------------------------------------------------------------


def test_swarm_ids_are_not_normalised():
    composed, decomposed = "caf\u00e9", "cafe\u0301"  # the same text to a reader, NFC and NFD
    assert SwarmKey.open(decomposed).name == decomposed
    assert SwarmKey.open(composed).topic != SwarmKey.open(decomposed).topic
    assert open_topic(decomposed) == blake2b(b"peersocket-open-cafe\xcc\x81", digest_size=32).digest()


# --- helpers -----------------------------------------------------------------------------------------------


def joined_pair():
    a, b = LinkProtocol(), LinkProtocol()
    ka, kb = Key(), Key()
    a.add_topic(T1)
    b.add_topic(T1)
    a.join(T1, ka.id, ka.sign, None)
    b.join(T1, kb.id, kb.sign, None)
    exchange(a, b)
    return a, b, ka, kb
