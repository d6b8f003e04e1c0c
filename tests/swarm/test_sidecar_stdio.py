"""The Hyperswarm engine's stdio with its sidecar, without a sidecar: what goes to its
stdin leaves in the core turn that queued it, and what comes from its stdout is acted on
as the bytes arrive, in order, once the run is set up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from swarm.hyperswarm import HyperswarmEngine, SidecarTransport, StdoutFrames
from swarm.sidecar_frames import FrameDecoder, FrameError, encode_frame
from swarm.sidecar_writer import ACK_ALONE, FrameWriter
from swarm.turns import Turns


class FakeTransport:
    def get_write_buffer_size(self) -> int:
        return 0


class FakeStdin:
    """Stands in for the sidecar's stdin (an asyncio StreamWriter): records the writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.transport = FakeTransport()
        self.written = asyncio.Event()  # set by the first write

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.written.set()

    def is_closing(self) -> bool:
        return False

    def frames(self) -> list[list[Any]]:
        return FrameDecoder().feed(b"".join(self.writes))


class Writes:
    """A source whose slice writes to two connections and ends one."""

    def __init__(self, writer: FrameWriter) -> None:
        self.writer = writer

    def run_slice(self) -> bool:
        self.writer.write(1, b"he")
        self.writer.write(1, b"llo")
        self.writer.write(2, b"x")
        self.writer.control("end", 2)
        return False


async def settle(t: Turns) -> None:
    """Until no turn is scheduled (a condition, with a hang guard)."""
    loop = asyncio.get_running_loop()
    for _ in range(1000):
        done = loop.create_future()
        loop.call_soon(done.set_result, None)
        await done
        if not t._scheduled:
            return
    raise AssertionError("turns never settled")


def writer_on(turns: Turns | None) -> tuple[FrameWriter, FakeStdin]:
    writer = FrameWriter()
    if turns is not None:
        writer.defer = turns.at_end
    stdin = FakeStdin()
    writer.attach(stdin)  # type: ignore[arg-type]
    return writer, stdin


async def test_what_a_core_turn_writes_leaves_in_that_turn_in_order() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(lambda: loop, inline=True)
    writer, stdin = writer_on(turns)
    turns.ready(Writes(writer))  # an idle core runs the turn here and now
    # no trip through the loop: the stdin write happened inside the turn, once
    assert len(stdin.writes) == 1
    assert stdin.frames() == [["write", 1, b"hello"], ["write", 2, b"x"], ["end", 2]]


async def test_without_a_turn_to_join_the_frames_wait_for_the_loop() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(lambda: loop, inline=True)
    writer, stdin = writer_on(turns)
    writer.control("join", b"t" * 32)
    writer.ack(1, 10)
    assert stdin.writes == []  # outside a turn: gathered until the next one
    await settle(turns)
    assert stdin.frames() == [["ack", 1, 10], ["join", b"t" * 32]]  # acknowledgements first


async def test_a_writer_without_a_core_turn_still_flushes_on_the_loop() -> None:
    writer, stdin = writer_on(None)
    writer.write(3, b"abc")
    assert stdin.writes == []
    await asyncio.wait_for(stdin.written.wait(), 10)  # a hang guard only
    assert stdin.frames() == [["write", 3, b"abc"]]


# --- from the sidecar ------------------------------------------------------------------------


def stdout_frames() -> tuple[StdoutFrames, list[list[Any]]]:
    seen: list[list[Any]] = []

    def dispatch(frame: list[Any]) -> bool:
        seen.append(frame)
        return frame[0] == "ready"

    return StdoutFrames(dispatch, asyncio.get_running_loop().create_future()), seen


async def test_frames_are_acted_on_as_their_last_byte_arrives_in_order() -> None:
    frames, seen = stdout_frames()
    frames.arm()
    stream = (
        encode_frame("data", 1, b"a" * 100) + encode_frame("ready", b"k", {}) + encode_frame("data", 1, b"b")
    )
    cut = len(encode_frame("data", 1, b"a" * 100)) - 3
    frames.feed(stream[:cut])
    assert seen == []  # the first frame is not complete yet
    frames.feed(stream[cut:])
    assert seen == [["data", 1, b"a" * 100], ["ready", b"k", {}], ["data", 1, b"b"]]
    assert frames.ready and not frames.done.done()
    frames.eof()
    assert frames.done.done() and frames.error is None


async def test_bytes_before_the_run_is_set_up_wait_for_it_in_order() -> None:
    frames, seen = stdout_frames()
    frames.feed(encode_frame("log", "info", "one"))
    frames.feed(encode_frame("log", "info", "two"))
    assert seen == []
    frames.arm()
    frames.feed(encode_frame("log", "info", "three"))
    assert [f[2] for f in seen] == ["one", "two", "three"]


async def test_a_bad_frame_ends_the_run_and_nothing_after_it_is_acted_on() -> None:
    frames, seen = stdout_frames()
    frames.arm()
    frames.feed(encode_frame("log", "info", "before"))
    frames.feed(encode_frame(42))  # not [type, ...]
    frames.feed(encode_frame("log", "info", "after"))
    assert [f[2] for f in seen] == ["before"]
    assert frames.done.done()
    assert isinstance(frames.error, FrameError)


async def test_a_failure_acting_on_a_frame_ends_the_run_with_it() -> None:
    def dispatch(frame: list[Any]) -> bool:
        raise RuntimeError("bug")

    frames = StdoutFrames(dispatch, asyncio.get_running_loop().create_future())
    frames.arm()
    frames.feed(encode_frame("log", "info", "x"))
    assert frames.done.done()
    with pytest.raises(RuntimeError):
        raise frames.error  # type: ignore[misc]


# --- the engine between the two -------------------------------------------------------------


class EchoLink:
    """The core's side of one connection: an idle core runs a turn for what arrives at
    once, and its slice answers it (unless ``answers`` is off)."""

    def __init__(self, turns: Turns, engine: HyperswarmEngine, transport: SidecarTransport) -> None:
        self.turns, self.engine, self.transport = turns, engine, transport
        self.inbox: list[bytes] = []
        self.answers = True

    def data_received(self, data: bytes) -> None:
        self.inbox.append(data)
        self.turns.ready(self)

    def connection_lost(self, code: str, reason: str) -> None:
        pass

    def run_slice(self) -> bool:
        while self.inbox:
            data = self.inbox.pop(0)
            if self.answers:
                self.transport.write(b"re:" + data)
        return False


def engine_with_link(turns: Turns) -> tuple[HyperswarmEngine, SidecarTransport, EchoLink, FakeStdin]:
    engine = HyperswarmEngine()
    engine._out.defer = turns.at_end
    stdin = FakeStdin()
    engine._out.attach(stdin)  # type: ignore[arg-type]
    transport = SidecarTransport(engine, 7, b"k" * 32, None, True, engine._generation)
    link = EchoLink(turns, engine, transport)
    engine._links[7] = (transport, link)
    return engine, transport, link, stdin


async def test_an_answer_and_the_acknowledgement_of_what_it_answers_leave_in_one_write() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(lambda: loop, inline=True)
    engine, _transport, _link, stdin = engine_with_link(turns)
    engine._on_data(7, b"ping")
    # the sidecar is woken once for both: one write, the acknowledgement first
    assert len(stdin.writes) == 1
    assert stdin.frames() == [["ack", 7, 4], ["write", 7, b"re:ping"]]
    await settle(turns)
    assert len(stdin.writes) == 1  # nothing was left to write on its own


async def test_bytes_held_while_the_core_pauses_are_acknowledged_when_it_takes_them() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(lambda: loop, inline=True)
    engine, transport, link, stdin = engine_with_link(turns)
    transport.pause_reading()
    engine._on_data(7, b"a")
    engine._on_data(7, b"b")
    await settle(turns)
    assert stdin.writes == []  # neither taken nor acknowledged: the sidecar stops reading
    transport.resume_reading()
    await settle(turns)
    assert stdin.frames() == [["ack", 7, 1], ["write", 7, b"re:a"], ["ack", 7, 1], ["write", 7, b"re:b"]]


async def test_bytes_that_need_no_answer_are_acknowledged_with_the_next_frames() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(lambda: loop, inline=True)
    engine, transport, link, stdin = engine_with_link(turns)
    link.answers = False
    engine._on_data(7, b"one")
    engine._on_data(7, b"two")
    await settle(turns)
    assert stdin.writes == []  # the sidecar is not woken for an acknowledgement alone
    transport.write(b"later")
    await settle(turns)
    assert len(stdin.writes) == 1
    assert stdin.frames() == [["ack", 7, 6], ["write", 7, b"later"]]


async def test_acknowledgements_owed_past_a_quarter_mib_go_on_their_own() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(lambda: loop, inline=True)
    engine, _transport, link, stdin = engine_with_link(turns)
    link.answers = False
    chunk = b"x" * (64 * 1024)
    for _ in range(ACK_ALONE // len(chunk) - 1):
        engine._on_data(7, chunk)
    await settle(turns)
    assert stdin.writes == []
    engine._on_data(7, chunk)  # now ACK_ALONE are owed: the sidecar hears at once
    await settle(turns)
    assert stdin.frames() == [["ack", 7, ACK_ALONE]]
    engine._on_data(7, b"z")
    await settle(turns)
    assert stdin.frames() == [["ack", 7, ACK_ALONE]]  # and counting starts again
