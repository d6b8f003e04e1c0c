"""A socket's messages that follow each other reach a tab as one ``Messages`` event (a
run), from a tab of this device as from a peer's ``MESSAGES`` frame: in order, within a
frame's bounds, and never across anything else the socket carried."""

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from swarm import limits
from swarm.flow import runs_of
from tests.swarm.core_helpers import Messages, SessionData, until

ORIGINS = ["https://a.example", "https://b.example"]


async def pair(net):
    d = await net()
    writer, reader = d.tab(ORIGINS[0], 0, "room"), d.tab(ORIGINS[1], 0, "room")
    await until(lambda: writer.peers() == {reader.id} and reader.peers() == {writer.id})
    return writer, reader


async def test_writes_that_follow_each_other_reach_the_other_tab_as_one_run_in_order(net):
    writer, reader = await pair(net)
    payloads = [b"message %d" % i for i in range(100)]
    for payload in payloads:  # as the bridge runs a page's W op: one write after another
        writer.write(reader.id, payload)
    await until(lambda: len(reader.messages()) == len(payloads), "every message")
    runs = reader.of(Messages)
    assert [p for run in runs for p in run.payloads] == payloads
    assert len(runs) == 1 and runs[0].size == sum(map(len, payloads))


async def test_a_run_stays_within_a_messages_frames_bounds(net):
    writer, reader = await pair(net)
    small = [b"%d" % i for i in range(limits.MAX_MESSAGES_PER_FRAME + 10)]
    big = [bytes([i]) * (limits.MESSAGES_FRAME_BYTES // 3 + 1) for i in range(5)]
    for payload in small + big:
        writer.write(reader.id, payload)
    await until(lambda: len(reader.messages()) == len(small) + len(big), "every message")
    assert reader.messages() == small + big
    for run in reader.of(Messages):
        assert len(run.payloads) <= limits.MAX_MESSAGES_PER_FRAME
        assert run.size == sum(map(len, run.payloads))
        assert len(run.payloads) == 1 or run.size <= limits.MESSAGES_FRAME_BYTES


async def test_a_w_op_reaches_the_other_tab_in_runs_within_a_frames_bounds(net):
    """``write_many`` (a page's ``W`` op) to a tab of this device arrives in runs no
    larger than a peer's ``MESSAGES`` frames, and in runs, not message by message."""
    writer, reader = await pair(net)
    socket = writer.handle.require_socket(reader.id)
    first = [b"first"]
    small = [b"%d" % i for i in range(2 * limits.MAX_MESSAGES_PER_FRAME + 10)]
    big = [bytes([i]) * (limits.MESSAGES_FRAME_BYTES // 3 + 1) for i in range(5)]
    huge = [b"h" * limits.MESSAGES_FRAME_BYTES]
    writer.write(reader.id, first[0])
    assert writer.core.write_many(writer.handle, socket, small + big + huge) == []
    everything = first + small + big + huge
    await until(lambda: len(reader.messages()) == len(everything), "every message")
    assert reader.messages() == everything
    runs = reader.of(Messages)
    for run in runs:
        assert len(run.payloads) <= limits.MAX_MESSAGES_PER_FRAME
        assert run.size == sum(map(len, run.payloads))
        assert len(run.payloads) == 1 or run.size <= limits.MESSAGES_FRAME_BYTES
    assert len(runs) <= 7  # the first; 522 small in 3 runs (with 2 big); 3 big in 2; the huge


async def test_a_run_never_spans_session_data_between_the_writes(net):
    writer, reader = await pair(net)
    writer.write(reader.id, b"one")
    writer.write(reader.id, b"two")
    writer.core.set_session_data(writer.handle, b"between")
    writer.write(reader.id, b"three")
    await until(lambda: len(reader.messages()) == 3, "the messages")
    await until(lambda: bool(reader.of(SessionData)), "the session data")
    about_writer = [e for e in reader.events if isinstance(e, (Messages, SessionData))]
    assert [
        (type(e).__name__, list(e.payloads) if isinstance(e, Messages) else e.data) for e in about_writer
    ] == [
        ("Messages", [b"one", b"two"]),
        ("SessionData", b"between"),
        ("Messages", [b"three"]),
    ]


async def test_each_tab_of_a_presence_gets_the_whole_run(net):
    d = await net()
    writer = d.tab(ORIGINS[0], 0, "room")
    readers = [d.tab(ORIGINS[1], 0, "room"), d.tab(ORIGINS[1], 0, "room")]  # one presence, two tabs
    await until(lambda: all(r.peers() == {writer.id} for r in readers) and len(writer.peers()) == 1)
    payloads = [b"m%d" % i for i in range(20)]
    for payload in payloads:
        writer.write(readers[0].id, payload)
    await until(lambda: all(r.messages() == payloads for r in readers), "both tabs' messages")


_sizes = st.sampled_from([0, 1, 3, limits.MESSAGES_FRAME_BYTES // 2, limits.MESSAGES_FRAME_BYTES + 1])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 600).flatmap(lambda n: st.lists(_sizes, min_size=n, max_size=n)))
@example([1] * (limits.MAX_MESSAGES_PER_FRAME + 1))  # one past a run's count
@example([limits.MESSAGES_FRAME_BYTES // 2] * 2 + [1])  # one byte past a run's bytes
@example([1] * 600)
def test_runs_of_a_w_op_keep_its_order_and_a_frame_s_bounds_and_are_as_few_as_those_allow(sizes):
    payloads = [bytes([i % 256]) * n for i, n in enumerate(sizes)]
    runs = [list(run) for run in runs_of(payloads)]
    assert [p for run in runs for p in run] == payloads
    for run in runs:
        assert len(run) <= limits.MAX_MESSAGES_PER_FRAME
        assert len(run) == 1 or sum(map(len, run)) <= limits.MESSAGES_FRAME_BYTES
    for run, after in itertools.pairwise(runs):  # each run ends only where the next would not fit
        assert len(run) == limits.MAX_MESSAGES_PER_FRAME or sum(map(len, run)) + len(after[0]) > (
            limits.MESSAGES_FRAME_BYTES
        )
