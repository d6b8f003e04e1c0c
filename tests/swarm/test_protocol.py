import pytest

from swarm import limits
from swarm.framing import encode_frame
from swarm.protocol import (
    PROOF_CONTEXT,
    Frame,
    LinkClosed,
    LinkOpened,
    LinkProtocol,
    LinkState,
    PeerClosedSocket,
    PeerCredit,
    PeerJoined,
    PeerLeft,
    PeerMessage,
    PeerMessages,
    PeerSessionData,
)
from swarm.topics import open_topic
from tests.swarm.protocol_helpers import Key, exchange, frame, hello, opened_pair

T1, T2, T3 = open_topic("one"), open_topic("two"), open_topic("three")


def closed_with(side: LinkProtocol, events, text: str):
    assert side.state is LinkState.CLOSED
    closes = [e for e in events if isinstance(e, LinkClosed)]
    assert len(closes) == 1 and closes[0].code == "ERR_PROTOCOL", closes
    assert text in closes[0].reason, closes[0].reason
    return closes[0]


# --- handshake -------------------------------------------------------------------------------


def test_handshake_opens_both_sides_with_one_link_key():
    a, b = LinkProtocol(), LinkProtocol()
    ea, eb = exchange(a, b)
    assert ea == [LinkOpened()] and eb == [LinkOpened()]
    assert a.state is b.state is LinkState.OPEN
    assert a.link_key == b.link_key and len(a.link_key) == 32


def test_every_link_has_a_fresh_key():
    a1, _ = opened_pair()
    a2, _ = opened_pair()
    assert a1.link_key != a2.link_key


def test_a_frame_before_hello_closes_the_link():
    p = LinkProtocol()
    p.receive_data(frame(Frame.TOPIC, 0, b"\x00" * 32))
    closed_with(p, p.events_received(), "expected HELLO")
    assert p.data_to_send().endswith(encode_frame([Frame.GOODBYE, "ERR_PROTOCOL", p.close_reason]))


def test_an_echoed_nonce_closes_the_link():
    # (versions: tests/swarm/test_protocol_rules.py)
    p = LinkProtocol()
    p.receive_data(frame(Frame.HELLO, 1, p.nonce))
    closed_with(p, p.events_received(), "echoed")


def test_a_second_hello_closes_the_link():
    p = LinkProtocol()
    p.receive_data(hello() + hello(b"\x02" * 32))
    closed_with(p, p.events_received(), "unexpected frame type 0")


# --- topics: only shared ones are learnt -----------------------------------------------------


def test_each_side_learns_only_the_topics_both_know():
    a, b = LinkProtocol(), LinkProtocol()
    for t in (T1, T2):
        a.add_topic(t)
    for t in (T2, T3):
        b.add_topic(t)
    wire = []
    while True:
        da, db = a.data_to_send(), b.data_to_send()
        if not da and not db:
            break
        wire += [da, db]
        b.receive_data(da)
        a.receive_data(db)
    assert a.shared_topics() == b.shared_topics() == {T2}
    stream = b"".join(wire)
    for topic in (T1, T2, T3):
        assert topic not in stream  # topics never travel in the clear


def test_topic_announced_later_is_matched_then():
    a, b = opened_pair()
    a.add_topic(T1)
    exchange(a, b)
    assert a.shared_topics() == set()
    b.add_topic(T1)
    exchange(a, b)
    assert a.shared_topics() == b.shared_topics() == {T1}


# --- presences, joins, messages ----------------------------------------------------------------


def joined_pair():
    a, b = opened_pair()
    ka, kb = Key(), Key()
    a.add_topic(T1)
    b.add_topic(T1)
    a.join(T1, ka.id, ka.sign, b"alice")
    b.join(T1, kb.id, kb.sign, None)
    ea, eb = exchange(a, b)
    return a, b, ka, kb, ea, eb


def test_joined_presences_are_announced_with_their_session_data():
    a, b, ka, kb, ea, eb = joined_pair()
    assert ea == [PeerJoined(T1, kb.id, None)]
    assert eb == [PeerJoined(T1, ka.id, b"alice")]
    assert a.peers_in(T1) == {kb.id: None}


def test_messages_cross_in_order_and_exactly_once():
    a, b, ka, kb, _, _ = joined_pair()
    for i in range(50):
        assert a.send_message(T1, ka.id, kb.id, bytes([i]) * i)
    _, eb = exchange(a, b)
    # (on a version-2 link, as one MESSAGES frame: tests/swarm/test_messages_frame.py)
    assert eb == [PeerMessages(T1, ka.id, kb.id, [bytes([i]) * i for i in range(50)])]


def test_message_to_an_unknown_peer_is_refused_locally():
    a, b, ka, kb, _, _ = joined_pair()
    assert not a.send_message(T1, ka.id, Key().id, b"x")
    assert not a.send_message(T2, ka.id, kb.id, b"x")


def test_session_data_updates_cross():
    a, b, ka, kb, _, _ = joined_pair()
    a.set_session(T1, ka.id, b"new")
    _, eb = exchange(a, b)
    a.set_session(T1, ka.id, None)
    _, eb2 = exchange(a, b)
    assert eb + eb2 == [PeerSessionData(T1, ka.id, b"new"), PeerSessionData(T1, ka.id, None)]


def test_session_updates_not_yet_sent_collapse_to_the_newest_unless_something_came_between():
    a, b, ka, kb, _, _ = joined_pair()
    for i in range(1000):  # a page setting its session data in a loop
        a.set_session(T1, ka.id, b"%d" % i)
    _, eb = exchange(a, b)
    assert eb == [PeerSessionData(T1, ka.id, b"999")]  # one frame, the newest value
    a.set_session(T1, ka.id, b"before")
    assert a.send_message(T1, ka.id, kb.id, b"hello")
    a.set_session(T1, ka.id, b"after")
    _, eb = exchange(a, b)
    # the message keeps its place between the two values
    assert eb == [
        PeerSessionData(T1, ka.id, b"before"),
        PeerMessage(T1, ka.id, kb.id, b"hello"),
        PeerSessionData(T1, ka.id, b"after"),
    ]


def test_close_socket_reaches_the_peer():
    a, b, ka, kb, _, _ = joined_pair()
    assert a.close_socket(T1, ka.id, kb.id, 1000, "bye")
    _, eb = exchange(a, b)
    assert eb == [PeerClosedSocket(T1, ka.id, kb.id, 1000, "bye")]


def test_leave_untopic_and_forget_presence_each_tell_the_peer():
    a, b, ka, kb, _, _ = joined_pair()
    a.leave(T1, ka.id)
    _, eb = exchange(a, b)
    assert eb == [PeerLeft(T1, ka.id)]
    a.join(T1, ka.id, ka.sign, None)
    _, eb = exchange(a, b)
    assert eb == [PeerJoined(T1, ka.id, None)]
    a.forget_presence(ka.id)
    _, eb = exchange(a, b)
    assert eb == [PeerLeft(T1, ka.id)]
    b.remove_topic(T1)
    ea, eb = exchange(a, b)
    assert eb == []  # ka was already gone
    assert ea == [PeerLeft(T1, kb.id)]
    assert a.shared_topics() == b.shared_topics() == set()


def test_retopic_after_withdrawal_rejoins_without_stale_peers():
    a, b, ka, kb, _, _ = joined_pair()
    b.remove_topic(T1)
    exchange(a, b)
    a.leave(T1, ka.id)  # while unshared: the peer must not keep a stale join
    b.add_topic(T1)
    b.join(T1, kb.id, kb.sign, None)
    ea, eb = exchange(a, b)
    assert ea == [PeerJoined(T1, kb.id, None)]
    assert eb == []


def test_goodbye_closes_cleanly():
    a, b = opened_pair()
    a.close("ERR_DEVICE_CLOSING", "bye")
    ea, eb = exchange(a, b)
    assert ea == [LinkClosed("ERR_DEVICE_CLOSING", "bye", by_peer=False)]
    assert eb == [LinkClosed("ERR_DEVICE_CLOSING", "bye", by_peer=True)]
    assert b.state is LinkState.CLOSED
    b.receive_data(b"anything")  # ignored after close
    assert b.events_received() == []


# --- presence proofs -------------------------------------------------------------------------------


def test_a_proof_replayed_from_another_link_is_rejected():
    # victim link 1 sees a's real proof; an attacker replays it on link 2
    a, b, ka, kb, _, _ = joined_pair()
    a2 = LinkProtocol()
    a2.add_topic(T1)
    a2.join(T1, ka.id, ka.sign, None)
    victim = LinkProtocol()
    victim.add_topic(T1)
    exchange(a2, victim)
    # the proof a2 produced for its link with victim:
    proof_for_victim = a2._proof_message(ka.id, a2.nonce)
    sig = ka.sign(proof_for_victim)
    # the attacker on a fresh link to the victim replays that signature
    attacker = LinkProtocol()
    fresh = LinkProtocol()
    fresh.receive_data(attacker.data_to_send())
    fresh.events_received()
    fresh.receive_data(frame(Frame.PRESENCE, 0, ka.id, sig))
    closed_with(fresh, fresh.events_received(), "does not verify")


def test_a_proof_signed_by_another_key_is_rejected():
    p = LinkProtocol()
    p.receive_data(hello())
    p.events_received()
    claimed, signer = Key(), Key()
    sig = signer.sign(PROOF_CONTEXT + p.link_key + b"\x01" * 32 + claimed.id)
    p.receive_data(frame(Frame.PRESENCE, 0, claimed.id, sig))
    closed_with(p, p.events_received(), "does not verify")


def test_our_own_proof_reflected_back_is_rejected():
    a, b, ka, kb, _, _ = joined_pair()
    # b reflects a's proof (signed with a's nonce) back as if it were b's presence
    sig = ka.sign(a._proof_message(ka.id, a.nonce))
    a.receive_data(frame(Frame.PRESENCE, 7, ka.id, sig))
    closed_with(a, a.events_received(), "our own presences")


def test_a_valid_proof_on_this_link_is_accepted():
    p = LinkProtocol()
    p.receive_data(hello())
    p.events_received()
    k = Key()
    p.receive_data(frame(Frame.PRESENCE, 0, k.id, k.sign(PROOF_CONTEXT + p.link_key + b"\x01" * 32 + k.id)))
    assert p.state is LinkState.OPEN and p.events_received() == []


# --- malformed input closes only this link, never raises ----------------------------------------------


def open_victim() -> LinkProtocol:
    p = LinkProtocol()
    p.receive_data(hello())
    p.events_received()
    p.data_to_send()
    return p


BAD_FRAMES = {
    "not an array": encode_frame({"a": 1}),
    "empty array": encode_frame([]),
    "unknown type": frame(99, 1),
    "arity": frame(Frame.TOPIC, 0),
    "negative number": frame(Frame.TOPIC, -1, b"\x00" * 32),
    "short tag": frame(Frame.TOPIC, 0, b"\x00" * 31),
    "tag as str": frame(Frame.TOPIC, 0, "x" * 32),
    "unknown topic": frame(Frame.JOIN, 5, 0, None),
    "unproven presence": frame(Frame.UNPRESENCE, 3),
    "oversize length": (limits.MAX_FRAME + 1).to_bytes(4, "big"),
    "empty frame": (0).to_bytes(4, "big"),
    "garbage": (4).to_bytes(4, "big") + b"\xc1\xc1\xc1\xc1",
    "huge string": (10).to_bytes(4, "big") + b"\xdb\xff\xff\xff\xff" + b"x" * 5,
    "ext type": (5).to_bytes(4, "big") + b"\x92\x02\xd4\x01\x00",
    "float number": frame(Frame.UNTOPIC, 1.0),
    "bool as number": frame(Frame.UNTOPIC, True),
    "goodbye code too long": frame(Frame.GOODBYE, "x" * 65, ""),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_malformed_frames_close_the_link_with_a_reason(name):
    p = open_victim()
    p.receive_data(BAD_FRAMES[name])
    events = p.events_received()
    assert p.state is LinkState.CLOSED, name
    assert [type(e) for e in events] == [LinkClosed]
    assert events[0].code == "ERR_PROTOCOL" and events[0].reason
    assert p.data_to_send().startswith(b"\x00")  # a GOODBYE frame was queued


def test_a_truncated_frame_waits_for_the_rest():
    p = open_victim()
    data = frame(Frame.TOPIC, 0, b"\x00" * 32)
    p.receive_data(data[:10])
    assert p.state is LinkState.OPEN and p.buffered == 10
    p.receive_data(data[10:])
    assert p.state is LinkState.OPEN and p.buffered == 0


def test_a_hundred_thousand_topic_announcements_are_cut_off_at_the_bound():
    p = open_victim()
    burst = b"".join(frame(Frame.TOPIC, i, i.to_bytes(32, "big")) for i in range(100_000))
    p.receive_data(burst)
    closed_with(p, p.events_received(), "topics announced")
    assert len(p._peer_topics) == limits.MAX_TOPICS_PER_LINK  # nothing kept past the bound


def test_oversize_message_payload_closes_the_link():
    a, b, ka, kb, _, _ = joined_pair()
    raw = frame(Frame.MESSAGE, 0, 0, 0, b"x" * (limits.MAX_MESSAGE + 1))
    b.receive_data(raw)
    closed_with(b, b.events_received(), "payload over")


def test_message_from_a_presence_that_has_not_joined_is_a_violation():
    a, b, ka, kb, _, _ = joined_pair()
    b.receive_data(frame(Frame.MESSAGE, 0, 9, 0, b"x"))
    closed_with(b, b.events_received(), "not proven")


def test_commands_after_close_raise_a_clear_error():
    p = open_victim()
    p.close()
    with pytest.raises(Exception, match="closed"):
        p.add_topic(T1)
    assert not p.send_message(T1, b"x" * 32, b"y" * 32, b"z")


def test_credit_reaches_the_peer():
    a, b, ka, kb, _, _ = joined_pair()
    assert a.credit(T1, ka.id, kb.id, 4096)
    assert not a.credit(T1, ka.id, kb.id, 0)
    _, eb = exchange(a, b)
    assert eb == [PeerCredit(T1, ka.id, kb.id, 4096)]


def test_a_zero_credit_is_a_violation():
    a, b, ka, kb, _, _ = joined_pair()
    b.receive_data(frame(Frame.CREDIT, 0, 0, 0, 0))
    closed_with(b, b.events_received(), "CREDIT of 0 bytes")
