"""A link reads what its device sent in slices (swarm/link.py): one device's flood
never holds the core for longer than a slice, nothing it sent is lost, repeated or
reordered, and a device that sends faster than the core reads is told to wait."""

from __future__ import annotations

import itertools

from swarm import limits
from swarm.framing import FrameDecoder, encode_frame
from swarm.link import Link
from swarm.protocol import Frame, LinkClosed, LinkOpened, LinkProtocol, PeerJoined
from swarm.topics import SwarmKey, open_topic
from tests.swarm.core_helpers import Tab, until
from tests.swarm.protocol_helpers import Key, message_payloads
from tests.swarm.test_link_rules import LARGE, SMALL, Dev, dial

T = open_topic("room")
SLICE = Link.SLICE_BYTES


class Transport:
    """The engine's side of one connection: records writes, closes, pauses, resumes."""

    def __init__(self, link: Link | None = None) -> None:
        self.remote_key, self.local_key = LARGE, SMALL
        self.remote_address = None
        self.initiator = True
        self.closed = False
        self.written: list[bytes] = []
        #: ("pause" | "resume", the link's unread bytes at that moment)
        self.calls: list[tuple[str, int]] = []
        self.link = link

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        assert self.link is not None
        self.calls.append(("pause", self.link.inbox_bytes))

    def resume_reading(self) -> None:
        assert self.link is not None and not self.closed, "resumed a closed transport"
        self.calls.append(("resume", self.link.inbox_bytes))


class Rig:
    """One link, its slices run by hand (as the core's turns would), a remote device
    (a LinkProtocol) on the other end, and a presence on each side of topic T.

    Like the core, its owner closes the transport when the protocol closes the link.
    The remote device speaks version 1 unless told otherwise: one frame per message,
    the finest grain a slice has to cut (version 2's MESSAGES frames are tested below)."""

    def __init__(
        self, transport: Transport | None = None, cost: float = 0.0, versions: tuple[int, ...] = (1,)
    ) -> None:
        """``cost``: seconds the core's clock moves on for each event the owner acts on
        (the work a frame makes; none by default: the clock stands still)."""
        self.transport = transport if transport is not None else Transport()
        self.events: list[object] = []
        self.ready = 0  # times the link said it has work for a slice
        self.inputs = 0  # times the owner was called to act on what was read
        self.cost = 0.0
        self.clock = 0.0
        self.link = Link(self.transport, self._on_input, lambda link: None, lambda: self.clock, self._ready)  # type: ignore[arg-type]
        if isinstance(self.transport, Transport):
            self.transport.link = self.link
        self.remote = LinkProtocol(versions=versions)
        self.here, self.there = Key(), Key()
        self.link.protocol.add_topic(T)
        self.link.protocol.join(T, self.here.id, self.here.sign, None)
        self.remote.add_topic(T)
        self.remote.join(T, self.there.id, self.there.sign, None)
        self.sync()
        assert any(isinstance(e, LinkOpened) for e in self.events)
        assert PeerJoined(T, self.there.id, None) in self.events
        self.events.clear()
        self.ready = 0
        self.inputs = 0
        self.cost = cost

    def _on_input(self, link: Link) -> None:
        events = link.protocol.events_received()
        self.inputs += 1
        self.clock += self.cost * len(events)
        self.events += events
        if any(isinstance(e, LinkClosed) for e in events):
            link.close_transport()

    def _ready(self, link: Link) -> None:
        self.ready += 1

    def sync(self) -> None:
        """Move bytes both ways until both sides are quiet."""
        while True:
            out, back = self.link.protocol.data_to_send(), self.remote.data_to_send()
            if not out and not back:
                return
            self.remote.receive_data(out)
            if back:
                self.link.data_received(back)
                self.run()

    def slice(self) -> tuple[bool, int]:
        """One slice: (more waiting, bytes it read)."""
        before = self.link.inbox_bytes
        more = self.link.run_slice()
        return more, before - self.link.inbox_bytes

    def run(self) -> int:
        """Slices until nothing waits; how many."""
        n = 0
        while True:
            n += 1
            more, _ = self.slice()
            if not more:
                return n

    def flood(self, payloads: list[bytes]) -> bytes:
        """The remote device's bytes for these messages, as one stream."""
        for p in payloads:
            assert self.remote.send_message(T, self.there.id, self.here.id, p)
        return self.remote.data_to_send()

    def messages(self) -> list[bytes]:
        return message_payloads(self.events)


def numbered(n: int, size: int = 100) -> list[bytes]:
    return [str(i).encode().rjust(size, b"-") for i in range(n)]


def test_many_frames_at_once_are_read_a_slice_at_a_time_in_order() -> None:
    """A device that sends a lot at once is read SLICE_BYTES per turn: the core gets
    back to the pages and the other devices between slices, and every message
    arrives, once, in the order it was sent."""
    rig = Rig()
    payloads = numbered(2000)
    data = rig.flood(payloads)
    rig.link.data_received(data)
    assert rig.ready == 1 and rig.events == []  # nothing is read where it arrives
    per_slice: list[int] = []
    while True:
        seen = len(rig.messages())
        more, read = rig.slice()
        per_slice.append(len(rig.messages()) - seen)
        if not more:
            break
        assert read == SLICE  # a full slice each time but the last
    assert len(per_slice) == -(-len(data) // SLICE)
    assert all(per_slice)  # every slice moved the stream on
    assert rig.messages() == payloads


def test_a_flood_of_messages_frames_is_read_a_frame_or_so_a_slice_in_order() -> None:
    """Version 2: a device's small messages come as MESSAGES frames of about 32 KiB
    (limits.MESSAGES_FRAME_BYTES). A slice reads SLICE_BYTES and the rest of the frame
    it ended in, so at most two frames' worth; every message arrives once, in order."""
    rig = Rig(versions=(1, 2))
    assert rig.link.protocol.version == 2
    payloads = numbered(5000)
    data = rig.flood(payloads)
    frames = len(FrameDecoder(limits.MAX_FRAME, max_array=limits.MAX_MESSAGES_PER_FRAME).feed(data))
    assert frames < len(payloads) // 100  # a few hundred messages a frame
    rig.link.data_received(data)
    slices = 0
    while True:
        more, read = rig.slice()
        slices += 1
        assert read <= SLICE + limits.MESSAGES_FRAME_BYTES + 1024
        if not more:
            break
    assert rig.messages() == payloads
    assert slices >= len(data) // (SLICE + limits.MESSAGES_FRAME_BYTES + 1024)


def test_a_slice_of_frames_that_cost_the_core_work_ends_when_its_time_is_up() -> None:
    """Small frames that each make the core work (a JOIN, a PRESENCE with its signature)
    are read a piece at a time, the core acting on each piece before the next, and the
    slice ends once SLICE_SECONDS passed: a flood of them holds the core for about that
    per turn, not for 32 KiB of them. The rest follows in later slices, in order."""
    cost = 2.0**-14  # seconds of core work per frame (61 µs; a power of two: sums are exact)
    rig = Rig(cost=cost)
    payloads = numbered(2000)
    data = rig.flood(payloads)
    per_piece = -(-Link.SLICE_PIECE // (len(data) // len(payloads)))  # frames a piece may hold
    rig.link.data_received(data)
    slices = 0
    while True:
        seen, started = len(rig.messages()), rig.clock
        more, read = rig.slice()
        slices += 1
        took = rig.clock - started
        assert len(rig.messages()) > seen  # every slice moves the stream on
        # it stopped at the first piece that ended past its time
        assert took < Link.SLICE_SECONDS + per_piece * cost
        assert read < SLICE
        if not more:
            break
        assert took >= Link.SLICE_SECONDS
    assert rig.messages() == payloads
    assert slices >= len(payloads) * cost / (Link.SLICE_SECONDS + per_piece * cost)
    assert rig.inputs > slices  # the core acted on every piece, not once per slice


def test_a_slice_of_frames_that_cost_nothing_reads_its_bytes_in_pieces() -> None:
    """With a clock that stands still, a slice reads SLICE_BYTES, a piece at a time."""
    rig = Rig()
    payloads = numbered(2000)
    rig.link.data_received(rig.flood(payloads))
    more, read = rig.slice()
    assert more and read == SLICE
    assert rig.inputs == SLICE // Link.SLICE_PIECE
    rig.run()
    assert rig.messages() == payloads


def test_chunks_arriving_one_by_one_are_read_in_order_across_slices() -> None:
    """Bytes arriving in many pieces, cut anywhere, while slices are being read in
    between, still make the same messages in the same order."""
    rig = Rig()
    payloads = numbered(500, 300)
    data = rig.flood(payloads)
    cuts = [0, 7, 4000, 4001, 50_000, 50_003, 99_999, 120_000, len(data)]
    for i, (start, end) in enumerate(itertools.pairwise(cuts)):
        rig.link.data_received(data[start:end])
        if i % 2:
            rig.slice()
    rig.run()
    assert rig.messages() == payloads


def test_a_frame_larger_than_a_slice_is_read_whole_once_started() -> None:
    """A large message costs two slices (the one that starts it, then the rest in one
    piece), not one per SLICE_BYTES: one frame is one piece of work."""
    rig = Rig()
    big = b"B" * (40 * SLICE)
    rig.link.data_received(rig.flood([b"small before", big, b"small after"]))
    more, read = rig.slice()
    assert more and read == SLICE and rig.messages() == [b"small before"]
    more, read = rig.slice()
    assert rig.messages() == [b"small before", big]
    assert read > SLICE  # the whole rest of the frame
    assert rig.link.protocol.frame_needed == 0
    rig.run()
    assert rig.messages() == [b"small before", big, b"small after"]


def test_a_device_that_sends_faster_than_the_core_reads_is_paused_and_resumed() -> None:
    """Past INBOX_HIGH bytes waiting, the link asks its transport to stop reading
    (the sidecar then stops reading that connection, and TCP-like backpressure reaches
    the sender); once under INBOX_LOW, to read on. Once each, and nothing is lost."""
    rig = Rig()
    transport = rig.transport
    assert isinstance(transport, Transport)
    payloads = numbered(13_000)  # about 1.4 MiB
    data = rig.flood(payloads)
    chunk = 64 * 1024
    for start in range(0, len(data), chunk):
        rig.link.data_received(data[start : start + chunk])
        if rig.link.inbox_bytes <= Link.INBOX_HIGH:
            assert transport.calls == []
    assert transport.calls[0][0] == "pause" and transport.calls[0][1] > Link.INBOX_HIGH
    assert [c for c, _ in transport.calls] == ["pause"]  # once, however much more came
    while rig.link.inbox_bytes >= Link.INBOX_LOW:
        assert [c for c, _ in transport.calls] == ["pause"]
        rig.slice()
    assert [c for c, _ in transport.calls] == ["pause", "resume"]
    assert transport.calls[1][1] < Link.INBOX_LOW
    rig.run()
    assert [c for c, _ in transport.calls] == ["pause", "resume"]
    assert rig.messages() == payloads


def test_what_arrived_before_the_connection_was_lost_is_still_read_then_the_link_closes() -> None:
    """The transport went away with bytes still unread: they were sent before it went,
    so their messages arrive, in order, and only then the link closes."""
    rig = Rig()
    payloads = numbered(2000)
    rig.link.data_received(rig.flood(payloads)[: 30 * SLICE])  # lots, ending mid-frame
    rig.link.connection_lost("ERR_LINK_LOST", "the peer went away")
    assert rig.events == []  # not before what came first
    rig.link.data_received(b"late bytes are not read")
    assert rig.run() > 1
    closes = [e for e in rig.events if isinstance(e, LinkClosed)]
    assert len(closes) == 1 and closes[0].code == "ERR_LINK_LOST" and rig.events[-1] is closes[0]
    got = rig.messages()
    assert got == payloads[: len(got)] and len(got) > 1000


def test_a_paused_transport_that_is_lost_is_not_resumed() -> None:
    rig = Rig()
    transport = rig.transport
    assert isinstance(transport, Transport)
    rig.link.data_received(rig.flood(numbered(13_000)))
    assert [c for c, _ in transport.calls] == ["pause"]
    rig.link.connection_lost("ERR_LINK_LOST", "gone")
    rig.run()  # Transport.resume_reading fails the test if called on a closed transport
    assert [c for c, _ in transport.calls] == ["pause"]


def test_a_link_closed_mid_inbox_drops_the_rest() -> None:
    """A device that breaks the protocol in the middle of a flood: what came before
    the bad frame is delivered, nothing after it is, the link closes once, its
    transport is closed, and no slice is spent on the bytes left over."""
    rig = Rig()
    before, after = numbered(300), numbered(3000)
    good = rig.flood(before)
    bad = encode_frame([Frame.MESSAGE, 77, 0, 0, b"to a topic never announced"])
    rest = rig.flood(after)
    rig.link.data_received(good + bad + rest[:SLICE])
    rig.link.data_received(rest[SLICE:])
    slices = rig.run()
    closes = [e for e in rig.events if isinstance(e, LinkClosed)]
    assert len(closes) == 1 and closes[0].code == "ERR_PROTOCOL"
    assert rig.messages() == before
    assert rig.events[-1] is closes[0]
    assert rig.transport.closed and rig.link.inbox_bytes == 0
    assert slices <= -(-len(good + bad) // SLICE)  # the rest was dropped, not read
    assert rig.link.run_slice() is False and rig.events[-1] is closes[0]


async def test_a_devices_flood_does_not_hold_up_the_pages_of_this_device() -> None:
    """Two tabs on this device keep talking while another device floods one of its
    tabs: their message arrives in the next turn, behind one slice of the flood, not
    behind all of it; and the flood arrives whole and in order."""
    remote, here = Dev(SMALL), Dev(LARGE)
    try:
        dial(remote, here)
        room = SwarmKey.open("room")
        sender = Tab(remote, "https://remote.example", 0, room)  # type: ignore[arg-type]
        flooded = Tab(here, "https://here.example", 0, room)  # type: ignore[arg-type]
        quiet = SwarmKey.open("quiet")
        a = Tab(here, "https://a.example", 0, quiet)  # type: ignore[arg-type]
        b = Tab(here, "https://b.example", 0, quiet)  # type: ignore[arg-type]
        await until(lambda: sender.peers() == {flooded.id} and a.peers() == {b.id} and b.peers() == {a.id})
        (link,) = here.core.links.values()
        payloads = numbered(2000, 1000)  # about 2 MiB: 60-odd slices
        for p in payloads:
            sender.write(flooded.id, p)
        await until(lambda: link.inbox_bytes > 0, "the flood reached this device")
        turns = here.core.turns.turns
        a.write(b.id, b"hello from the quiet tab")
        await until(lambda: b.messages() == [b"hello from the quiet tab"])
        assert here.core.turns.turns == turns + 1
        assert len(flooded.messages()) < len(payloads) // 10  # most of the flood still waits
        assert link.inbox_bytes > 0
        await until(lambda: len(flooded.messages()) == len(payloads), "the whole flood")
        assert flooded.messages() == payloads
        assert len(flooded.messages()) == len(payloads)
    finally:
        await remote.core.close()
        await here.core.close()
