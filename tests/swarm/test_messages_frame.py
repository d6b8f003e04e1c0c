"""Protocol version 2: a socket's messages written one after the other go as one
MESSAGES frame (docs/PROTOCOL.md), read exactly as that many MESSAGE frames would be:
in order, once, and only on a link both sides opened in version 2."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import limits
from swarm.framing import FrameDecoder
from swarm.protocol import (
    Frame,
    LinkClosed,
    LinkProtocol,
    LinkState,
    PeerClosedSocket,
    PeerCredit,
    PeerMessage,
    PeerMessages,
    PeerSessionData,
)
from swarm.topics import open_topic
from tests.swarm.protocol_helpers import Key, exchange, frame, message_payloads

T1, T2 = open_topic("room-1"), open_topic("room-2")


def pair(a_versions: tuple[int, ...] = (1, 2), b_versions: tuple[int, ...] = (1, 2)):
    """Two sides joined in T1 and T2, one presence each."""
    a, b = LinkProtocol(versions=a_versions), LinkProtocol(versions=b_versions)
    ka, kb = Key(), Key()
    for side, key in ((a, ka), (b, kb)):
        for topic in (T1, T2):
            side.add_topic(topic)
            side.join(topic, key.id, key.sign, None)
    exchange(a, b)
    return a, b, ka, kb


def frames(data: bytes) -> list[list]:
    return FrameDecoder(limits.MAX_FRAME, max_array=limits.MAX_MESSAGES_PER_FRAME).feed(data)


def test_two_version_2_sides_speak_version_2_and_one_of_version_1_makes_it_version_1():
    assert pair()[0].version == 2
    a, b, _, _ = pair(b_versions=(1,))
    assert a.version == b.version == 1


def test_a_sockets_messages_of_one_turn_go_as_one_frame_and_arrive_in_order_once():
    a, b, ka, kb = pair()
    sent = [bytes([i]) * i for i in range(50)]
    for p in sent:
        assert a.send_message(T1, ka.id, kb.id, p)
    data = a.data_to_send()
    assert [f[0] for f in frames(data)] == [Frame.MESSAGES]
    b.receive_data(data)
    assert b.events_received() == [PeerMessages(T1, ka.id, kb.id, sent)]


def test_a_version_1_link_sends_one_message_frame_each():
    a, b, ka, kb = pair(b_versions=(1,))
    for i in range(5):
        assert a.send_message(T1, ka.id, kb.id, bytes([i]))
    data = a.data_to_send()
    assert [f[0] for f in frames(data)] == [Frame.MESSAGE] * 5
    b.receive_data(data)
    assert b.events_received() == [PeerMessage(T1, ka.id, kb.id, bytes([i])) for i in range(5)]


def test_a_message_alone_goes_as_a_message_frame():
    a, b, ka, kb = pair()
    a.send_message(T1, ka.id, kb.id, b"one")
    assert frames(a.data_to_send()) == [[Frame.MESSAGE, 0, 0, 0, b"one"]]


def test_every_other_frame_ends_the_run_so_the_order_on_the_link_is_the_order_written():
    """Messages, then a credit, a session value, messages to another socket, a close:
    each frame goes where it was written, and the receiver sees exactly that order."""
    a, b, ka, kb = pair()
    a.send_message(T1, ka.id, kb.id, b"m1")
    a.send_message(T1, ka.id, kb.id, b"m2")
    a.credit(T1, ka.id, kb.id, 10)
    a.send_message(T1, ka.id, kb.id, b"m3")
    a.set_session(T1, ka.id, b"state")
    a.send_message(T2, ka.id, kb.id, b"other socket 1")
    a.send_message(T2, ka.id, kb.id, b"other socket 2")
    a.send_message(T1, ka.id, kb.id, b"m4")
    a.send_message(T1, ka.id, kb.id, b"m5")
    a.close_socket(T1, ka.id, kb.id, 1000, "done")
    data = a.data_to_send()
    kinds = [f[0] for f in frames(data)]
    assert kinds == [
        Frame.MESSAGES,
        Frame.CREDIT,
        Frame.MESSAGE,
        Frame.SESSION,
        Frame.MESSAGES,
        Frame.MESSAGES,
        Frame.CLOSE,
    ]
    b.receive_data(data)
    assert b.events_received() == [
        PeerMessages(T1, ka.id, kb.id, [b"m1", b"m2"]),
        PeerCredit(T1, ka.id, kb.id, 10),
        PeerMessage(T1, ka.id, kb.id, b"m3"),
        PeerSessionData(T1, ka.id, b"state"),
        PeerMessages(T2, ka.id, kb.id, [b"other socket 1", b"other socket 2"]),
        PeerMessages(T1, ka.id, kb.id, [b"m4", b"m5"]),
        PeerClosedSocket(T1, ka.id, kb.id, 1000, "done"),
    ]


def test_a_run_ends_at_256_messages_and_at_32_kib_and_a_large_message_goes_alone():
    a, b, ka, kb = pair()
    small = [i.to_bytes(2, "big") for i in range(600)]
    for p in small:
        a.send_message(T1, ka.id, kb.id, p)
    sizes = [len(f[4]) for f in frames(a.data_to_send())]
    assert sizes == [256, 256, 88]

    big = [bytes([i]) * 10_000 for i in range(7)]  # three fit in 32 KiB, not four
    for p in big:
        a.send_message(T1, ka.id, kb.id, p)
    a.send_message(T1, ka.id, kb.id, b"x" * limits.MESSAGES_FRAME_BYTES)  # alone
    a.send_message(T1, ka.id, kb.id, b"after")
    a.send_message(T1, ka.id, kb.id, b"after, too")
    data = a.data_to_send()
    shapes = [(f[0], len(f[4]) if f[0] == Frame.MESSAGES else 1) for f in frames(data)]
    assert shapes == [
        (Frame.MESSAGES, 3),
        (Frame.MESSAGES, 3),
        (Frame.MESSAGE, 1),
        (Frame.MESSAGE, 1),
        (Frame.MESSAGES, 2),
    ]
    b.receive_data(data)
    assert message_payloads(b.events_received()) == [
        *big,
        b"x" * limits.MESSAGES_FRAME_BYTES,
        b"after",
        b"after, too",
    ]


def test_a_message_to_a_peer_that_left_meanwhile_is_refused_and_the_run_before_it_kept():
    """What the peer says between two writes (here: its presence left) is read before
    the next write is routed: that write is refused, the ones before still go."""
    a, b, ka, kb = pair()
    a.send_message(T1, ka.id, kb.id, b"before")
    a.send_message(T1, ka.id, kb.id, b"before, too")
    b.leave(T1, kb.id)
    a.receive_data(b.data_to_send())
    assert not a.send_message(T1, ka.id, kb.id, b"after the leave")
    b.receive_data(a.data_to_send())
    assert message_payloads(b.events_received()) == []  # b's presence left T1: dropped silently
    assert a.send_message(T2, ka.id, kb.id, b"the other topic still goes")
    b.receive_data(a.data_to_send())
    assert message_payloads(b.events_received()) == [b"the other topic still goes"]


def test_a_goodbye_after_messages_comes_after_them():
    a, b, ka, kb = pair()
    a.send_message(T1, ka.id, kb.id, b"1")
    a.send_message(T1, ka.id, kb.id, b"2")
    a.close("ERR_DEVICE_CLOSING", "bye")
    b.receive_data(a.data_to_send())
    events = b.events_received()
    assert events[0] == PeerMessages(T1, ka.id, kb.id, [b"1", b"2"])
    assert isinstance(events[1], LinkClosed) and events[1].by_peer


# --- what a receiver refuses -------------------------------------------------------------------


def victim(versions: tuple[int, ...] = (1, 2)) -> tuple[LinkProtocol, LinkProtocol, Key, Key]:
    """``b`` joined with a real peer ``a``; bad frames are fed to ``b`` by hand."""
    a, b, ka, kb = pair(b_versions=versions)
    b.data_to_send()
    return a, b, ka, kb


BAD_MESSAGES = {
    "one payload": frame(Frame.MESSAGES, 0, 0, 0, [b"x"]),
    "no payload": frame(Frame.MESSAGES, 0, 0, 0, []),
    "257 payloads": frame(Frame.MESSAGES, 0, 0, 0, [b"x"] * (limits.MAX_MESSAGES_PER_FRAME + 1)),
    "payloads not an array": frame(Frame.MESSAGES, 0, 0, 0, b"xy"),
    "a str payload": frame(Frame.MESSAGES, 0, 0, 0, [b"x", "y"]),
    "a nil payload": frame(Frame.MESSAGES, 0, 0, 0, [b"x", None]),
    "arity": frame(Frame.MESSAGES, 0, 0, 0, [b"x", b"y"], 7),
    "unproven sender": frame(Frame.MESSAGES, 0, 9, 0, [b"x", b"y"]),
    "unknown topic": frame(Frame.MESSAGES, 7, 0, 0, [b"x", b"y"]),
    "to a presence never announced": frame(Frame.MESSAGES, 0, 0, 5, [b"x", b"y"]),
    "a map of 9 keys": frame(Frame.MESSAGES, 0, 0, 0, [b"x", {str(i): i for i in range(9)}]),
}


@pytest.mark.parametrize("name", sorted(BAD_MESSAGES))
def test_a_malformed_messages_frame_closes_the_link_and_delivers_none_of_it(name):
    _, b, _, _ = victim()
    b.receive_data(BAD_MESSAGES[name])
    events = b.events_received()
    assert b.state is LinkState.CLOSED, name
    assert [type(e) for e in events] == [LinkClosed], events
    assert events[0].code == "ERR_PROTOCOL" and events[0].reason


def test_messages_on_a_version_1_link_is_an_unknown_frame_type():
    _, b, _, _ = victim(versions=(1,))
    assert b.version == 1
    b.receive_data(frame(Frame.MESSAGES, 0, 0, 0, [b"x", b"y"]))
    events = b.events_received()
    assert [type(e) for e in events] == [LinkClosed]
    assert "frame type 12" in events[0].reason


def test_messages_for_a_topic_withdrawn_meanwhile_are_dropped_silently():
    a, b, ka, kb = victim()
    a.send_message(T1, ka.id, kb.id, b"1")
    a.send_message(T1, ka.id, kb.id, b"2")
    in_flight = a.data_to_send()
    b.remove_topic(T1)
    b.receive_data(in_flight)
    assert b.state is LinkState.OPEN and message_payloads(b.events_received()) == []


def test_a_messages_frame_carries_as_much_as_the_frame_allows():
    """256 payloads of up to 4 MiB in total (the frame body's bound) are read."""
    _, b, ka, _ = victim()
    each = (limits.MAX_FRAME - 1024) // limits.MAX_MESSAGES_PER_FRAME
    many = [bytes([i % 256]) * each for i in range(limits.MAX_MESSAGES_PER_FRAME)]
    b.receive_data(frame(Frame.MESSAGES, 0, 0, 0, many))
    (event,) = b.events_received()
    assert isinstance(event, PeerMessages) and event.payloads == many and event.peer_id == ka.id


# a socket's messages: many small ones (a run's 256), or sizes at a run's 32 KiB (two
# halves fill one exactly, one byte more does not; a message of 32 KiB goes alone)
_half = limits.MESSAGES_FRAME_BYTES // 2
_bytes_bound = st.sampled_from([0, 1, _half - 1, _half, _half + 1, 2 * _half - 1, 2 * _half, 2 * _half + 1])
_messages = st.one_of(
    st.lists(st.integers(0, 3), min_size=1, max_size=700)
    | st.lists(st.integers(0, 3), min_size=250, max_size=700),
    st.lists(_bytes_bound, min_size=1, max_size=12),
)


def runs_as_specified(groups: list[tuple[bytes, list[bytes]]], version: int) -> list[tuple[int, list[bytes]]]:
    """docs/PROTOCOL.md's rule, written plainly: a socket's messages that follow each
    other share a MESSAGES frame while it stays within 256 messages and 32 KiB; a message
    of 32 KiB or more goes alone, as every message does in version 1."""
    out: list[tuple[int, list[bytes]]] = []
    last, run, size = None, [], 0
    for topic, payloads in groups:
        for p in payloads:
            fits = (
                last == topic
                and run
                and len(run) < limits.MAX_MESSAGES_PER_FRAME
                and size + len(p) <= limits.MESSAGES_FRAME_BYTES
            )
            if fits:
                run.append(p)
                size += len(p)
                continue
            if run:
                out.append((Frame.MESSAGES if len(run) > 1 else Frame.MESSAGE, run))
                run, last = [], None
            if version >= 2 and len(p) < limits.MESSAGES_FRAME_BYTES:
                last, run, size = topic, [p], len(p)
            else:
                out.append((Frame.MESSAGE, [p]))
    if run:
        out.append((Frame.MESSAGES if len(run) > 1 else Frame.MESSAGE, run))
    return out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([T1, T2]), _messages), max_size=6),
    st.sampled_from([(1, 2), (1,)]),
    st.booleans(),
)
def test_messages_written_together_go_in_the_frames_the_protocol_says(groups, versions, together):
    """A page's ``W`` op (``send_messages``: several messages of one socket at once) and
    the same messages one by one (``send_message``) put the runs docs/PROTOCOL.md
    describes on the link, and the peer reads every message once, in order."""
    a, b, ka, kb = pair(b_versions=versions)
    written = [
        (topic, [bytes([n % 256]) * size for size in sizes]) for n, (topic, sizes) in enumerate(groups)
    ]
    for topic, payloads in written:
        if together:
            assert a.send_messages(topic, ka.id, kb.id, payloads)
        else:
            for p in payloads:
                assert a.send_message(topic, ka.id, kb.id, p)
    data = a.data_to_send()
    got = [(f[0], f[4] if f[0] == Frame.MESSAGES else [f[4]]) for f in frames(data)]
    assert got == runs_as_specified(written, max(versions))
    b.receive_data(data)
    assert message_payloads(b.events_received()) == [p for _, payloads in written for p in payloads]


def test_messages_to_a_presence_not_reachable_are_not_queued():
    a, _, ka, _ = pair()
    assert not a.send_messages(T1, ka.id, Key().id, [b"x", b"y"])
    assert a.data_to_send() == b""


def test_no_messages_written_together_leave_the_open_run_to_its_own_socket():
    a, b, ka, kb = pair()
    assert a.send_message(T1, ka.id, kb.id, b"m1")  # a run of T1's socket is open
    assert a.send_messages(T2, ka.id, kb.id, [])
    assert a.send_message(T2, ka.id, kb.id, b"other socket")
    b.receive_data(a.data_to_send())
    assert b.events_received() == [
        PeerMessage(T1, ka.id, kb.id, b"m1"),
        PeerMessage(T2, ka.id, kb.id, b"other socket"),
    ]
