"""docs/PROTOCOL.md's rules about links as a device keeps them: which of two links to
one device survives, and who ends the stream after GOODBYE. Two swarm cores joined by
hand-made transports that record every byte written and every close."""

from __future__ import annotations

import asyncio

import pytest

from swarm.core import SwarmCore
from swarm.events import CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL
from swarm.framing import encode_frame
from swarm.protocol import Frame
from swarm.topics import SwarmKey
from tests.swarm.core_helpers import Connection, SocketClosed, Tab, until
from tests.swarm.test_protocol_rules import frames

SMALL, LARGE = b"\x11" * 32, b"\xee" * 32


class Pipe:
    """One end of an in-process stream: records writes and closes, delivers on a later turn."""

    def __init__(self, local_key: bytes, remote_key: bytes, initiator: bool) -> None:
        self.local_key, self.remote_key, self.initiator = local_key, remote_key, initiator
        self.remote_address = None
        self.peer: Pipe | None = None
        self.sink = None
        self.written: list[bytes] = []
        self.closed = False
        self.log: list[str] = []  # "write" / "close", in order
        self.paused = False
        self.held: list[bytes] = []  # what arrived while paused

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close()"
        self.written.append(data)
        self.log.append("write")
        if self.peer is not None:
            asyncio.get_running_loop().call_soon(self.peer._receive, data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.log.append("close")
        if self.peer is not None:
            asyncio.get_running_loop().call_soon(self.peer._lost)

    def pause_reading(self) -> None:
        """Hold what arrives (a link's full inbox; a budget, which no test here reaches)."""
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False
        asyncio.get_running_loop().call_soon(self._release)

    def _release(self) -> None:
        held, self.held = self.held, []
        for data in held:
            self._receive(data)

    def _receive(self, data: bytes) -> None:
        if self.paused:
            self.held.append(data)
        elif not self.closed and self.sink is not None:
            self.sink.data_received(data)

    def _lost(self) -> None:
        if not self.closed:
            self.closed = True
            self.sink.connection_lost("ERR_LINK_LOST", "closed by the peer")

    def sent(self) -> list[list]:
        return frames(b"".join(self.written))


class Dev:
    def __init__(self, key: bytes) -> None:
        self.key = key
        self.core = SwarmCore(grace=0)


def dial(caller: Dev, callee: Dev) -> tuple[Pipe, Pipe]:
    """A link dialled by ``caller``: both ends attached, the caller's first."""
    mine = Pipe(caller.key, callee.key, initiator=True)
    theirs = Pipe(callee.key, caller.key, initiator=False)
    mine.peer, theirs.peer = theirs, mine
    mine.sink = caller.core.attach(mine)
    theirs.sink = callee.core.attach(theirs)
    return mine, theirs


@pytest.fixture
async def pair():
    a, b = Dev(SMALL), Dev(LARGE)
    yield a, b
    await a.core.close()
    await b.core.close()


def tabs(a: Dev, b: Dev) -> tuple[Tab, Tab]:
    key = SwarmKey.open("room")
    return Tab(a, "https://a.example", 0, key), Tab(b, "https://b.example", 0, key)  # type: ignore[arg-type]


def goodbyes(pipe: Pipe) -> list[list]:
    return [f for f in pipe.sent() if f[0] == Frame.GOODBYE]


def link(caller: Dev, callee: Dev, small: Dev) -> tuple[Pipe, Pipe]:
    """A link dialled by ``caller``, as (the smaller key's end, the greater key's end)."""
    ends = dial(caller, callee)
    return ends if caller is small else (ends[1], ends[0])


@pytest.mark.parametrize(
    ("first_by", "second_by", "kept"),
    [
        ("small", "large", "second"),  # dialled at once by both: the greater key's survives
        ("large", "small", "first"),
        ("small", "small", "second"),  # the same device dialled again: the newer survives
        ("large", "large", "second"),
    ],
)
async def test_of_two_links_both_devices_keep_the_same_one(pair, first_by, second_by, kept):
    small, large = pair
    devs = {"small": (small, large), "large": (large, small)}
    ta, tb = tabs(small, large)
    first = link(*devs[first_by], small)
    await until(lambda: ta.peers() == {tb.id} and tb.peers() == {ta.id}, "linked")
    second = link(*devs[second_by], small)
    survivor, dropped = (first, second) if kept == "first" else (second, first)
    await until(lambda: dropped[0].closed and dropped[1].closed, "the duplicate closed")
    assert small.core.links[LARGE].transport is survivor[0]
    assert large.core.links[SMALL].transport is survivor[1]
    assert not survivor[0].closed and not survivor[1].closed
    # whoever noticed first said why
    said = goodbyes(dropped[0]) + goodbyes(dropped[1])
    assert said and all(g[1] == "ERR_DUPLICATE_LINK" for g in said)
    if kept == "first":
        assert ta.of(SocketClosed) == [] and tb.of(SocketClosed) == []  # the pages saw nothing
    else:
        # the sockets over the link dropped closed, and opened again over the one kept
        for t in (ta, tb):
            await until(lambda t=t: len(t.of(Connection)) == 2 and len(t.peers()) == 1, "met again")
            assert [e.code for e in t.of(SocketClosed)] == [CLOSE_ABNORMAL]
    ta.write(tb.id, b"over the link kept")
    await until(lambda: tb.messages(ta.id) == [b"over the link kept"], "a message")
    assert not survivor[0].closed and not survivor[1].closed


async def test_after_a_goodbye_it_receives_a_device_writes_nothing_and_ends_the_stream(pair):
    a, b = pair
    ta, tb = tabs(a, b)
    mine, _ = dial(a, b)
    await until(lambda: ta.peers() == {tb.id}, "linked")
    mine.peer = None  # what follows comes from the test, not from b
    mine.log.clear()
    mine.sink.data_received(encode_frame([Frame.GOODBYE, "ERR_DEVICE_CLOSING", "bye"]))
    await until(lambda: "close" in mine.log, "the stream ended")  # read on the core's next turn
    assert mine.log == ["close"]  # ended as it was read, with no answer
    await until(lambda: ta.peers() == set(), "the socket closed")
    assert [e.code for e in ta.of(SocketClosed)] == [CLOSE_GOING_AWAY]


async def test_a_device_that_says_goodbye_ends_the_stream_after_it(pair):
    a, b = pair
    ta, tb = tabs(a, b)
    mine, _ = dial(a, b)
    await until(lambda: ta.peers() == {tb.id}, "linked")
    mine.peer = None
    mine.log.clear()
    mine.written.clear()
    mine.sink.data_received((5).to_bytes(4, "big") + b"\xc1" * 5)  # not msgpack
    await until(lambda: "close" in mine.log, "the stream ended")
    assert mine.log == ["write", "close"]
    assert [g[1] for g in goodbyes(mine)] == ["ERR_PROTOCOL"] and mine.sent()[-1][0] == Frame.GOODBYE
    await until(lambda: ta.peers() == set(), "the socket closed")
    assert [e.code for e in ta.of(SocketClosed)] == [CLOSE_PROTOCOL]
