"""The multiplexing protocol spoken on one link between two devices, sans I/O.

Bytes in (:meth:`LinkProtocol.receive_data`), commands in (``add_topic``,
``join``, ``send_message``...), bytes out (:meth:`LinkProtocol.data_to_send`),
events out (:meth:`LinkProtocol.events_received`). Nothing here touches a
socket, a clock or a loop; the wire format is specified in docs/PROTOCOL.md.

What a link guarantees:

* each side learns only the topics both sides know: a topic is announced as
  a BLAKE2b hash keyed with the link key, which both hello nonces make fresh
  for every link;
* every presence id is proven on the link by an ed25519 signature over the
  link key and the sender's nonce, so it cannot be replayed on another link
  nor reflected back to its sender;
* every length, count and string read is bounded; any violation closes the
  link with a GOODBYE frame and a ``LinkClosed`` event. ``receive_data``
  never raises;
* what the peer sends about its membership and session data is held to a
  budget per second (``swarm/budget.py``): the time comes in with the bytes
  (``receive_data(data, now)``). A frame over budget is kept, not read: the
  protocol stops reading (a ``ReadingPaused`` event says until when) and goes on
  at :meth:`LinkProtocol.resume_reading`; a peer that runs out again soon after
  is closed with ``ERR_RATE_LIMIT``.
"""

from __future__ import annotations

import enum
import itertools
import secrets
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nacl.encoding import RawEncoder
from nacl.exceptions import BadSignatureError
from nacl.hash import blake2b
from nacl.signing import VerifyKey

from swarm import limits
from swarm.budget import LinkBudget, Verdict
from swarm.errors import PeerSocketError
from swarm.framing import FrameDecoder, FrameError, encode_frame

#: The protocol versions this side speaks. HELLO carries them; a link speaks the
#: highest one both sides share (docs/PROTOCOL.md, "Versions").
VERSIONS = (1, 2)
VERSION = max(VERSIONS)
MAX_VERSIONS = 8
NONCE_LEN = 32
KEY_LEN = 32
SIG_LEN = 64
MAX_NUMBER = 2**32 - 1

LINK_CONTEXT = b"peersocket-link-v1"
PROOF_CONTEXT = b"peersocket-presence-v1"


#: The close code of a link whose transport went without a GOODBYE.
LINK_LOST = "ERR_LINK_LOST"


class Frame(enum.IntEnum):
    HELLO = 0  # [0, versions, nonce, ...]: versions an int or an increasing array
    TOPIC = 1  # [1, tnum, tag]
    UNTOPIC = 2  # [2, tnum]
    PRESENCE = 3  # [3, pnum, id, signature]
    UNPRESENCE = 4  # [4, pnum]
    JOIN = 5  # [5, tnum, pnum, session_data | nil]
    LEAVE = 6  # [6, tnum, pnum]
    SESSION = 7  # [7, tnum, pnum, session_data | nil]
    MESSAGE = 8  # [8, tnum, from_pnum, to_pnum, payload]
    CLOSE = 9  # [9, tnum, from_pnum, to_pnum, code, reason]
    GOODBYE = 10  # [10, code, reason]
    CREDIT = 11  # [11, tnum, from_pnum, to_pnum, bytes]
    MESSAGES = 12  # [12, tnum, from_pnum, to_pnum, [payload, ...]]: version 2


class LinkState(enum.Enum):
    HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSED = "closed"


# --- events ------------------------------------------------------------------


@dataclass(slots=True)
class LinkOpened:
    pass


@dataclass(slots=True)
class PeerJoined:
    topic: bytes
    peer_id: bytes
    session_data: bytes | None


@dataclass(slots=True)
class PeerLeft:
    topic: bytes
    peer_id: bytes


@dataclass(slots=True)
class PeerSessionData:
    topic: bytes
    peer_id: bytes
    session_data: bytes | None


@dataclass(slots=True)
class PeerMessage:
    topic: bytes
    peer_id: bytes
    to_id: bytes
    payload: bytes


@dataclass(slots=True)
class PeerMessages:
    """Several messages on one socket, in order (one MESSAGES frame, version 2)."""

    topic: bytes
    peer_id: bytes
    to_id: bytes
    payloads: list[bytes]


@dataclass(slots=True)
class PeerClosedSocket:
    topic: bytes
    peer_id: bytes
    to_id: bytes
    code: int
    reason: str


@dataclass(slots=True)
class PeerCredit:
    """The peer consumed ``nbytes`` of what ``to_id`` sent to ``peer_id``."""

    topic: bytes
    peer_id: bytes
    to_id: bytes
    nbytes: int


@dataclass(slots=True)
class LinkClosed:
    code: str
    reason: str
    by_peer: bool


@dataclass(slots=True)
class ReadingPaused:
    """The peer ran out of its ``budget``, or (``paced``) sends its frames faster than
    this side reads them (``LinkBudget(paced=True)``): nothing more is read from it
    until :meth:`LinkProtocol.resume_reading` is called, at ``until`` (or later)."""

    budget: str
    until: float
    #: Only paced (``limits.MEMBERSHIP_PACE``): within its budget, read a little later.
    paced: bool = False


Event = (
    LinkOpened
    | PeerJoined
    | PeerLeft
    | PeerSessionData
    | PeerMessage
    | PeerMessages
    | PeerClosedSocket
    | PeerCredit
    | LinkClosed
    | ReadingPaused
)

Signer = Callable[[bytes], bytes]


class ProtocolViolation(Exception):
    """Raised inside the parser; turned into a GOODBYE, never leaves this module."""


@dataclass
class _LocalPresence:
    sign: Signer
    pnum: int | None = None  # given with its PRESENCE frame, on the first shared topic
    topics: dict[bytes, bytes | None] = field(default_factory=dict)  # topic -> session data


class LinkProtocol:
    """One side of one link. Create it, send ``data_to_send()``, feed what arrives."""

    def __init__(
        self,
        nonce: bytes | None = None,
        budget: LinkBudget | None = None,
        versions: tuple[int, ...] = VERSIONS,
    ) -> None:
        """``budget``: what the peer may send per second; a fresh one by default.
        ``versions``: the protocol versions this side offers (a subset of ``VERSIONS``:
        tests offer 1 alone, to speak as an older peer does)."""
        if not versions or not set(versions) <= set(VERSIONS) or list(versions) != sorted(set(versions)):
            raise ValueError(f"versions must be increasing ones of {VERSIONS}, not {versions}")
        self.versions = versions
        self.state = LinkState.HANDSHAKE
        self.nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_LEN)
        self.link_key: bytes | None = None
        self.peer_nonce: bytes | None = None
        #: The version both sides speak, once the peer's HELLO came.
        self.version: int | None = None
        #: The versions the peer said it speaks in its HELLO.
        self.peer_versions: tuple[int, ...] = ()
        self.close_code: str | None = None
        self.close_reason: str | None = None
        # (version 2 raises the array bound for MESSAGES' payloads; maps stay at 8)
        self._decoder = FrameDecoder(limits.MAX_FRAME, max_array=8, max_str=limits.MAX_REASON_LEN, max_map=8)
        self._out: list[bytes] = []
        # version 2: the messages of one socket written one after the other, not queued as
        # a frame yet (the route, its payloads, their bytes); they go as one MESSAGES frame
        # before any other frame and at data_to_send()
        self._run_route: tuple[int, int, int] | None = None
        self._run: list[bytes] = []
        self._run_bytes = 0
        # the (topic, from, to) that route is for, while nothing that could change the
        # route happened (the peer's frames read, a frame of ours queued): no lookup then
        self._run_key: tuple[bytes, bytes, bytes] | None = None
        # (tnum, pnum) of the SESSION frame that is the last one in _out, if it is one
        self._last_session: tuple[int, int] | None = None
        self._events: list[Event] = []
        # budgets: the time the caller last gave, and a frame kept while reading is paused
        self.budget = budget if budget is not None else LinkBudget()
        self._now = 0.0
        self._paused_on: str | None = None  # the budget that ran out, while paused
        self._paced = False  # paused only by the pace at which this side reads (not the budget)
        self._held: tuple[Any, int] | None = None  # that frame: (value, size)
        # local side: numbers are given in the order their TOPIC / PRESENCE frames go out,
        # from 0, never twice on this link
        self._next_tnum = 0
        self._next_pnum = 0
        self._topics: dict[bytes, int] = {}  # topic -> our tnum
        self._tags: dict[bytes, bytes] = {}  # our tag -> topic (once the key is known)
        self._presences: dict[bytes, _LocalPresence] = {}
        self._pnum_to_id: dict[int, bytes] = {}
        # peer side, mirrored exactly as the peer announced it
        self._peer_topics: dict[int, bytes] = {}  # peer tnum -> tag
        self._peer_tag_to_tnum: dict[bytes, int] = {}
        self._peer_presences: dict[int, bytes] = {}  # peer pnum -> id
        self._peer_id_to_pnum: dict[bytes, int] = {}
        self._peer_joins: dict[int, dict[int, bytes | None]] = {}  # tnum -> pnum -> session
        self._peer_join_count = 0
        # the highest numbers the peer announced: a number never grows back, so a reused
        # one is refused without remembering every number ever seen
        self._peer_last_tnum = -1
        self._peer_last_pnum = -1
        # topics both sides know: our topic -> peer tnum, and back
        self._shared: dict[bytes, int] = {}
        self._shared_by_tnum: dict[int, bytes] = {}
        # a side that speaks version 1 only sends exactly [0, 1, nonce]
        self._send([Frame.HELLO, versions[0] if len(versions) == 1 else list(versions), self.nonce])

    # --- I/O side --------------------------------------------------------------

    def data_to_send(self) -> bytes:
        if self._run_route is not None:
            self._end_run()
        out = b"".join(self._out)
        self._out.clear()
        self._last_session = None
        return out

    def events_received(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    @property
    def is_closed(self) -> bool:
        return self.state is LinkState.CLOSED

    @property
    def buffered(self) -> int:
        """Bytes received and not read yet (part of a frame, or waiting while paused)."""
        return self._decoder.buffered + (self._held[1] if self._held is not None else 0)

    @property
    def frame_needed(self) -> int:
        """Bytes still missing from a frame only partly received (0 if none)."""
        return self._decoder.needed

    @property
    def reading_paused(self) -> bool:
        """A budget ran out (or the pace): bytes are kept, not read, until
        :meth:`resume_reading`."""
        return self._paused_on is not None

    def receive_data(self, data: bytes, now: float | None = None) -> None:
        """Read what arrived at ``now`` (seconds on the caller's monotonic clock; None:
        no time passed since the last call). While reading is paused, keep it."""
        if now is not None:
            self._now = now
        if self.state is LinkState.CLOSED or not data:
            return
        self._run_key = None  # what the peer says may change the run's route
        self._decoder.push(data)
        if self._paused_on is None:
            self._read()

    def resume_reading(self, now: float) -> None:
        """Read on after a :class:`ReadingPaused`, if the budget has refilled by ``now``
        (else another ``ReadingPaused`` says until when)."""
        self._now = now
        budget = self._paused_on
        if budget is None or self.state is LinkState.CLOSED:
            return
        assert self._held is not None
        cost = _budget_cost(self._held[0], self._held[1])
        amount = cost[1] if cost is not None else 0
        if self._paced:
            ready = self.budget.may_read(budget, amount, now)
            until = now if ready else self.budget.read_at(budget, amount, now)
        else:
            until = self.budget.resume_at(budget, amount, now)
        if until > now:
            self._events.append(ReadingPaused(budget, until, paced=self._paced))
            return
        self._paused_on = None
        self._paced = False
        self._read()

    def _read(self) -> None:
        next_frame, handle = self._decoder.next_frame, self._handle
        try:
            item, self._held = self._held, None
            if item is None:
                item = next_frame()
            while item is not None:
                if not handle(item) or self.state is LinkState.CLOSED:
                    return
                item = next_frame()
        except FrameError as exc:
            self._fail(str(exc))
        except ProtocolViolation as exc:
            self._fail(str(exc))

    def _charge(self, item: tuple[Any, int]) -> bool:
        """Charge a membership or session frame to the peer's budget; False when it is
        over it (then reading is paused with the frame kept, or the link closed)."""
        cost = _budget_cost(*item)
        if cost is None:
            return True
        verdict = self.budget.charge(cost[0], cost[1], self._now)
        if verdict is Verdict.OK:
            return True
        self._over_budget(verdict, cost[0], cost[1], item)
        return False

    def _over_budget(self, verdict: Verdict, budget: str, cost: int, item: tuple[Any, int]) -> None:
        if verdict is Verdict.WAIT:
            self._held = item
            self._paused_on = budget
            self._paced = True
            until = self.budget.read_at(budget, cost, self._now)
            self._events.append(ReadingPaused(budget, until, paced=True))
            return
        if verdict is Verdict.CUT:
            self.close(
                "ERR_RATE_LIMIT",
                f"over its {budget} budget twice within {limits.BUDGET_REPEAT:g} s: "
                + LinkBudget.describe(budget),
            )
            return
        self._held = item
        self._paused_on = budget
        self._events.append(ReadingPaused(budget, self.budget.resume_at(budget, cost, self._now)))

    def connection_lost(self, reason: str = "the connection was lost", code: str = LINK_LOST) -> None:
        """The transport is gone. ``code``: LINK_LOST (it went), or the transport's
        code when this device cut it for what the peer did (``swarm.engine.PEER_OVERRUN``)."""
        if self.state is LinkState.CLOSED:
            return
        self._closed(code, reason, by_peer=code == LINK_LOST)

    # --- commands ----------------------------------------------------------------

    def add_topic(self, topic: bytes) -> None:
        if topic in self._topics:
            return
        self._require_not_closed()
        tnum = self._next_tnum
        if tnum > MAX_NUMBER:
            self._exhausted("topic")
            return
        self._next_tnum += 1
        self._topics[topic] = tnum
        if self.state is LinkState.OPEN:
            self._announce_topic(topic, tnum)

    def remove_topic(self, topic: bytes) -> None:
        tnum = self._topics.pop(topic, None)
        if tnum is None or self.state is LinkState.CLOSED:
            return
        for presence in self._presences.values():
            presence.topics.pop(topic, None)
        if self.state is LinkState.OPEN:
            self._tags = {t: tp for t, tp in self._tags.items() if tp != topic}
            self._send([Frame.UNTOPIC, tnum])
            self._unshare(topic)

    def join(self, topic: bytes, presence_id: bytes, sign: Signer, session: bytes | None) -> None:
        if self.state is LinkState.CLOSED:
            return  # closed by add_topic() itself (numbers exhausted), or before
        if topic not in self._topics:
            raise ValueError("join() before add_topic()")
        presence = self._presences.get(presence_id)
        if presence is None:
            presence = _LocalPresence(sign)
            self._presences[presence_id] = presence
        if topic in presence.topics:
            return
        presence.topics[topic] = session
        if topic in self._shared:
            self._send_join(topic, presence_id, presence)

    def leave(self, topic: bytes, presence_id: bytes) -> None:
        presence = self._presences.get(presence_id)
        if presence is None or topic not in presence.topics or self.state is LinkState.CLOSED:
            return
        del presence.topics[topic]
        if topic in self._shared and presence.pnum is not None:
            self._send([Frame.LEAVE, self._topics[topic], presence.pnum])

    def forget_presence(self, presence_id: bytes) -> None:
        presence = self._presences.pop(presence_id, None)
        if presence is None or self.state is LinkState.CLOSED:
            return
        if presence.pnum is not None:
            del self._pnum_to_id[presence.pnum]
            self._send([Frame.UNPRESENCE, presence.pnum])

    def set_session(self, topic: bytes, presence_id: bytes, session: bytes | None) -> None:
        presence = self._presences.get(presence_id)
        if presence is None or topic not in presence.topics or self.state is LinkState.CLOSED:
            return
        presence.topics[topic] = session
        if topic in self._shared and presence.pnum is not None:
            if self._run_route is not None:
                self._end_run()  # (so the last frame in _out is a SESSION only if it was)
            key = (self._topics[topic], presence.pnum)
            frame = encode_frame([Frame.SESSION, *key, session])
            if self._last_session == key:
                # the previous value has not gone out and nothing was queued after it:
                # send only the newest (a page setting its session data in a loop would
                # otherwise queue every intermediate value for every peer device)
                self._out[-1] = frame
            else:
                self._out.append(frame)
                self._last_session = key

    def send_message(self, topic: bytes, from_id: bytes, to_id: bytes, payload: bytes) -> bool:
        """Queue a message; False when the peer presence is not reachable here."""
        key = self._run_key
        # the same socket as the message before, nothing read since: the same route
        cached = key is not None and key[0] is topic and key[1] is from_id and key[2] is to_id
        route = self._run_route if cached else self._route(topic, from_id, to_id)
        if route is None:
            return False
        size = len(payload)
        if (
            route == self._run_route
            and len(self._run) < limits.MAX_MESSAGES_PER_FRAME
            and self._run_bytes + size <= limits.MESSAGES_FRAME_BYTES
        ):
            self._run.append(payload)
            self._run_bytes += size
            if not cached:
                self._run_key = (topic, from_id, to_id)
            return True
        if self._run_route is not None:
            self._end_run()
        if self.version is not None and self.version >= 2 and size < limits.MESSAGES_FRAME_BYTES:
            self._run_route, self._run, self._run_bytes = route, [payload], size
            self._run_key = (topic, from_id, to_id)
        else:
            self._send([Frame.MESSAGE, *route, payload])
        return True

    def send_messages(self, topic: bytes, from_id: bytes, to_id: bytes, payloads: Sequence[bytes]) -> bool:
        """Queue messages of one socket, in order, as :meth:`send_message` would one
        after the other (one route lookup for all); False, and none queued, when the peer
        presence is not reachable here."""
        if len(payloads) == 1:  # (a round trip's write: the shorter way)
            return self.send_message(topic, from_id, to_id, payloads[0])
        if not payloads:  # (nothing to remember: the open run may be another socket's)
            return self._route(topic, from_id, to_id) is not None
        key = self._run_key
        cached = key is not None and key[0] is topic and key[1] is from_id and key[2] is to_id
        route = self._run_route if cached else self._route(topic, from_id, to_id)
        if route is None:
            return False
        most, frame_bytes = limits.MAX_MESSAGES_PER_FRAME, limits.MESSAGES_FRAME_BYTES
        if self.version is None or self.version < 2:  # no MESSAGES frames
            for payload in payloads:
                self._send([Frame.MESSAGE, *route, payload])
            return True
        # ends[k]: the bytes of payloads[:k + 1]; what fits in a run is found by bisection
        ends = list(itertools.accumulate(map(len, payloads)))
        start, count, done = 0, len(payloads), 0  # done: the bytes of payloads[:start]
        while start < count:
            if self._run_route != route:
                if self._run_route is not None:
                    self._end_run()  # another socket's
                if ends[start] - done >= frame_bytes:  # too large for a run: alone
                    self._send([Frame.MESSAGE, *route, payloads[start]])
                    done = ends[start]
                    start += 1
                    continue
                self._run_route, self._run, self._run_bytes = route, [], 0
            run = self._run
            stop = bisect_right(
                ends, done + frame_bytes - self._run_bytes, start, min(count, start + most - len(run))
            )
            if stop == start:  # the next one does not fit: this run is full
                self._end_run()
                continue
            run.extend(payloads[start:stop])
            self._run_bytes += ends[stop - 1] - done
            done, start = ends[stop - 1], stop
        if self._run_route is not None:  # the last one's run is open: remember its socket
            self._run_key = (topic, from_id, to_id)
        return True

    def close_socket(self, topic: bytes, from_id: bytes, to_id: bytes, code: int, reason: str) -> bool:
        route = self._route(topic, from_id, to_id)
        if route is None:
            return False
        self._send([Frame.CLOSE, *route, code, _clip(reason, limits.MAX_REASON_LEN)])
        return True

    def credit(self, topic: bytes, from_id: bytes, to_id: bytes, nbytes: int) -> bool:
        """Tell the peer that ``from_id`` consumed ``nbytes`` of what ``to_id`` sent it."""
        route = self._route(topic, from_id, to_id)
        if route is None or not 0 < nbytes <= MAX_NUMBER:
            return False
        self._send([Frame.CREDIT, *route, nbytes])
        return True

    def close(self, code: str = "ERR_LINK_CLOSED", reason: str = "closed") -> None:
        if self.state is LinkState.CLOSED:
            return
        self._send([Frame.GOODBYE, _clip(code, limits.MAX_CODE_LEN), _clip(reason, limits.MAX_REASON_LEN)])
        self._closed(code, reason, by_peer=False)

    # --- queries -------------------------------------------------------------------

    def shared_topics(self) -> set[bytes]:
        return set(self._shared)

    def shares(self, topic: bytes) -> bool:
        return topic in self._shared

    def peers_in(self, topic: bytes) -> dict[bytes, bytes | None]:
        """Peer presences announced (and not yet gone) in a shared topic, with their session data."""
        tnum = self._shared.get(topic)
        if tnum is None:
            return {}
        return {self._peer_presences[p]: s for p, s in self._peer_joins.get(tnum, {}).items()}

    # --- internals: sending ------------------------------------------------------------

    def _send(self, frame: list[Any]) -> None:
        if self._run_route is not None:
            self._end_run()
        self._out.append(encode_frame(frame))
        self._last_session = None  # a later frame: every value before it is kept

    def _end_run(self) -> None:
        """Queue the messages written one after the other on one socket: one MESSAGE
        frame for one, a MESSAGES frame for more."""
        route, run = self._run_route, self._run
        assert route is not None
        self._run_route, self._run, self._run_bytes, self._run_key = None, [], 0, None
        if len(run) == 1:
            self._out.append(encode_frame([Frame.MESSAGE, *route, run[0]]))
        else:
            self._out.append(encode_frame([Frame.MESSAGES, *route, run]))
        self._last_session = None

    def _require_not_closed(self) -> None:
        if self.state is LinkState.CLOSED:
            raise PeerSocketError("ERR_LINK_CLOSED", f"the link is {self.state.value}")

    def _tag(self, topic: bytes) -> bytes:
        assert self.link_key is not None
        tag: bytes = blake2b(topic, digest_size=32, key=self.link_key, encoder=RawEncoder)
        return tag

    def _announce_topic(self, topic: bytes, tnum: int) -> None:
        tag = self._tag(topic)
        self._tags[tag] = topic
        self._send([Frame.TOPIC, tnum, tag])
        peer_tnum = self._peer_tag_to_tnum.get(tag)
        if peer_tnum is not None:
            self._share(topic, peer_tnum)

    def _proof_message(self, presence_id: bytes, nonce: bytes) -> bytes:
        assert self.link_key is not None
        return PROOF_CONTEXT + self.link_key + nonce + presence_id

    def _send_join(self, topic: bytes, presence_id: bytes, presence: _LocalPresence) -> None:
        if presence.pnum is None:
            # proven on the first topic it shares with the peer, never before: a device
            # that shares no topic with us learns none of our presences
            if self._next_pnum > MAX_NUMBER:
                self._exhausted("presence")
                return
            presence.pnum = self._next_pnum
            self._next_pnum += 1
            self._pnum_to_id[presence.pnum] = presence_id
            signature = presence.sign(self._proof_message(presence_id, self.nonce))
            self._send([Frame.PRESENCE, presence.pnum, presence_id, signature])
        self._send([Frame.JOIN, self._topics[topic], presence.pnum, presence.topics[topic]])

    def _route(self, topic: bytes, from_id: bytes, to_id: bytes) -> tuple[int, int, int] | None:
        if self.state is not LinkState.OPEN:
            return None
        peer_tnum = self._shared.get(topic)
        presence = self._presences.get(from_id)
        peer_pnum = self._peer_id_to_pnum.get(to_id)
        if peer_tnum is None or presence is None or presence.pnum is None or peer_pnum is None:
            return None
        if topic not in presence.topics or peer_pnum not in self._peer_joins.get(peer_tnum, {}):
            return None
        return self._topics[topic], presence.pnum, peer_pnum

    # --- internals: sharing -------------------------------------------------------------

    def _share(self, topic: bytes, peer_tnum: int) -> None:
        self._shared[topic] = peer_tnum
        self._shared_by_tnum[peer_tnum] = topic
        for presence_id, presence in list(self._presences.items()):
            if topic in presence.topics and not self.is_closed:
                self._send_join(topic, presence_id, presence)

    def _unshare(self, topic: bytes) -> None:
        """Either side withdrew the topic: forget the peer's joins in it."""
        peer_tnum = self._shared.pop(topic, None)
        if peer_tnum is None:
            return
        del self._shared_by_tnum[peer_tnum]
        joins = self._peer_joins.pop(peer_tnum, {})
        self._peer_join_count -= len(joins)
        for pnum in joins:
            self._events.append(PeerLeft(topic, self._peer_presences[pnum]))

    # --- internals: receiving -------------------------------------------------------------

    def _handle(self, item: tuple[Any, int]) -> bool:
        """Act on one frame (value, size); False when it was kept for later (a budget ran
        out: reading is paused) or closed the link for its rate."""
        value = item[0]
        if not isinstance(value, list) or not value or type(value[0]) is not int:
            raise ProtocolViolation("a frame must be a msgpack array starting with its type")
        kind = value[0]
        if self.state is LinkState.HANDSHAKE:
            if kind != Frame.HELLO:
                if kind == Frame.GOODBYE:
                    self._on_goodbye(value)
                    return True
                raise ProtocolViolation(f"expected HELLO, got frame type {kind}")
            self._on_hello(value)
            return True
        if kind in _BUDGETED and not self._charge(item):
            return False
        handler = self._handlers.get(kind)
        if handler is None:
            raise ProtocolViolation(f"unknown or unexpected frame type {kind}")
        handler(self, value)
        return True

    def _on_hello(self, f: list[Any]) -> None:
        if len(f) < 3:
            raise ProtocolViolation(f"HELLO frame must have at least 3 fields, not {len(f)}")
        # fields after the nonce are for later versions: version 1 ignores them
        versions, nonce = _versions(f[1]), f[2]
        _bytes(nonce, NONCE_LEN, "HELLO nonce")
        self.peer_versions = versions
        common = set(versions).intersection(self.versions)
        if not common:
            mine = ", ".join(map(str, self.versions))
            theirs = ", ".join(map(str, versions))
            self.close(
                "ERR_VERSION",
                f"no protocol version in common: this side speaks {mine}, the peer {theirs}",
            )
            return
        if nonce == self.nonce:
            raise ProtocolViolation("the peer echoed our own hello nonce")
        self.version = max(common)
        if self.version >= 2:
            self._decoder.max_array = limits.MAX_MESSAGES_PER_FRAME  # MESSAGES' payloads
        self.peer_nonce = nonce
        lo, hi = sorted((self.nonce, nonce))
        self.link_key = blake2b(LINK_CONTEXT + lo + hi, digest_size=KEY_LEN, encoder=RawEncoder)
        self.state = LinkState.OPEN
        self._events.append(LinkOpened())
        for topic, tnum in self._topics.items():
            self._announce_topic(topic, tnum)

    def _on_topic(self, f: list[Any]) -> None:
        _arity(f, 3, "TOPIC")
        tnum, tag = _number(f[1], "TOPIC tnum"), f[2]
        _bytes(tag, 32, "TOPIC tag")
        if tnum <= self._peer_last_tnum:
            raise ProtocolViolation(
                f"TOPIC {tnum} reuses a number: topic numbers only increase on a link "
                f"(the last was {self._peer_last_tnum})"
            )
        if tag in self._peer_tag_to_tnum:
            raise ProtocolViolation("the same topic announced under two numbers")
        if len(self._peer_topics) >= limits.MAX_TOPICS_PER_LINK:
            raise ProtocolViolation(f"more than {limits.MAX_TOPICS_PER_LINK} topics announced")
        self._peer_last_tnum = tnum
        self._peer_topics[tnum] = tag
        self._peer_tag_to_tnum[tag] = tnum
        topic = self._tags.get(tag)
        if topic is not None:
            self._share(topic, tnum)

    def _on_untopic(self, f: list[Any]) -> None:
        _arity(f, 2, "UNTOPIC")
        tnum = self._peer_tnum(f[1], "UNTOPIC")
        tag = self._peer_topics.pop(tnum)
        del self._peer_tag_to_tnum[tag]
        topic = self._shared_by_tnum.get(tnum)
        if topic is not None:
            self._unshare(topic)
        else:
            self._peer_join_count -= len(self._peer_joins.pop(tnum, {}))

    def _on_presence(self, f: list[Any]) -> None:
        _arity(f, 4, "PRESENCE")
        pnum, presence_id, signature = _number(f[1], "PRESENCE pnum"), f[2], f[3]
        _bytes(presence_id, 32, "PRESENCE id")
        _bytes(signature, SIG_LEN, "PRESENCE signature")
        if pnum <= self._peer_last_pnum:
            raise ProtocolViolation(
                f"PRESENCE {pnum} reuses a number: presence numbers only increase on a link "
                f"(the last was {self._peer_last_pnum})"
            )
        if presence_id in self._peer_id_to_pnum:
            raise ProtocolViolation("the same presence announced under two numbers")
        if presence_id in self._presences:
            raise ProtocolViolation("the peer claims one of our own presences")
        if len(self._peer_presences) >= limits.MAX_PRESENCES_PER_LINK:
            raise ProtocolViolation(f"more than {limits.MAX_PRESENCES_PER_LINK} presences")
        assert self.peer_nonce is not None
        try:
            VerifyKey(presence_id).verify(self._proof_message(presence_id, self.peer_nonce), signature)
        except (BadSignatureError, ValueError, TypeError):
            raise ProtocolViolation("a presence proof does not verify for this link") from None
        self._peer_last_pnum = pnum
        self._peer_presences[pnum] = presence_id
        self._peer_id_to_pnum[presence_id] = pnum

    def _on_unpresence(self, f: list[Any]) -> None:
        _arity(f, 2, "UNPRESENCE")
        pnum = self._peer_pnum(f[1], "UNPRESENCE")
        for tnum, joins in self._peer_joins.items():
            if pnum in joins:
                del joins[pnum]
                self._peer_join_count -= 1
                topic = self._shared_by_tnum.get(tnum)
                if topic is not None:
                    self._events.append(PeerLeft(topic, self._peer_presences[pnum]))
        presence_id = self._peer_presences.pop(pnum)
        del self._peer_id_to_pnum[presence_id]

    def _on_join(self, f: list[Any]) -> None:
        _arity(f, 4, "JOIN")
        tnum = self._peer_tnum(f[1], "JOIN")
        pnum = self._peer_pnum(f[2], "JOIN")
        session = _session(f[3])
        topic = self._shared_by_tnum.get(tnum)
        if topic is None:
            return  # we withdrew the topic while this was in flight
        joins = self._peer_joins.setdefault(tnum, {})
        if pnum in joins:
            joins[pnum] = session
            return  # a repeat after re-sharing; nothing new
        if self._peer_join_count >= limits.MAX_JOINS_PER_LINK:
            raise ProtocolViolation(f"more than {limits.MAX_JOINS_PER_LINK} joins")
        joins[pnum] = session
        self._peer_join_count += 1
        self._events.append(PeerJoined(topic, self._peer_presences[pnum], session))

    def _on_leave(self, f: list[Any]) -> None:
        _arity(f, 3, "LEAVE")
        tnum = self._peer_tnum(f[1], "LEAVE")
        pnum = self._peer_pnum(f[2], "LEAVE")
        topic = self._shared_by_tnum.get(tnum)
        joins = self._peer_joins.get(tnum, {})
        if topic is None:
            return
        if pnum not in joins:
            raise ProtocolViolation("LEAVE for a presence that has not joined")
        del joins[pnum]
        self._peer_join_count -= 1
        self._events.append(PeerLeft(topic, self._peer_presences[pnum]))

    def _on_session(self, f: list[Any]) -> None:
        _arity(f, 4, "SESSION")
        tnum = self._peer_tnum(f[1], "SESSION")
        pnum = self._peer_pnum(f[2], "SESSION")
        session = _session(f[3])
        topic = self._shared_by_tnum.get(tnum)
        if topic is None:
            return
        joins = self._peer_joins.get(tnum, {})
        if pnum not in joins:
            raise ProtocolViolation("SESSION for a presence that has not joined")
        joins[pnum] = session
        self._events.append(PeerSessionData(topic, self._peer_presences[pnum], session))

    def _socket_frame(self, f: list[Any], name: str) -> tuple[bytes, bytes, bytes] | None:
        tnum = self._peer_tnum(f[1], name)
        pnum = self._peer_pnum(f[2], name)
        to_pnum = _number(f[3], f"{name} to")
        if to_pnum >= self._next_pnum:
            raise ProtocolViolation(f"{name} to a presence number we never announced")
        topic = self._shared_by_tnum.get(tnum)
        if topic is None:
            return None  # we withdrew the topic while this was in flight
        if pnum not in self._peer_joins.get(tnum, {}):
            raise ProtocolViolation(f"{name} from a presence that has not joined")
        to_id = self._pnum_to_id.get(to_pnum)
        if to_id is None or topic not in self._presences[to_id].topics:
            return None  # our presence left while this was in flight
        return topic, self._peer_presences[pnum], to_id

    def _on_message(self, f: list[Any]) -> None:
        _arity(f, 5, "MESSAGE")
        payload = f[4]
        if type(payload) is not bytes:
            raise ProtocolViolation("MESSAGE payload must be binary")
        if len(payload) > limits.MAX_MESSAGE:
            raise ProtocolViolation(f"MESSAGE payload over {limits.MAX_MESSAGE} bytes")
        route = self._socket_frame(f, "MESSAGE")
        if route is not None:
            self._events.append(PeerMessage(*route, payload))

    def _on_messages(self, f: list[Any]) -> None:
        if self.version is None or self.version < 2:
            raise ProtocolViolation(f"unknown or unexpected frame type {Frame.MESSAGES} in version 1")
        _arity(f, 5, "MESSAGES")
        payloads = f[4]
        if type(payloads) is not list or not 2 <= len(payloads) <= limits.MAX_MESSAGES_PER_FRAME:
            raise ProtocolViolation(
                f"MESSAGES payloads must be an array of 2 to {limits.MAX_MESSAGES_PER_FRAME} messages"
            )
        for payload in payloads:
            if type(payload) is not bytes:
                raise ProtocolViolation("MESSAGES payloads must be binary")
        # (each is under the frame's bound, itself under MAX_MESSAGE + 4 KiB: check it)
        if max(map(len, payloads)) > limits.MAX_MESSAGE:
            raise ProtocolViolation(f"MESSAGES payload over {limits.MAX_MESSAGE} bytes")
        route = self._socket_frame(f, "MESSAGES")
        if route is not None:
            self._events.append(PeerMessages(*route, payloads))

    def _on_close(self, f: list[Any]) -> None:
        _arity(f, 6, "CLOSE")
        code, reason = f[4], f[5]
        if type(code) is not int or not 0 <= code <= 4999:
            raise ProtocolViolation("CLOSE code must be an integer from 0 to 4999")
        _text(reason, limits.MAX_REASON_LEN, "CLOSE reason")
        route = self._socket_frame(f, "CLOSE")
        if route is not None:
            self._events.append(PeerClosedSocket(*route, code, reason))

    def _on_credit(self, f: list[Any]) -> None:
        _arity(f, 5, "CREDIT")
        nbytes = _number(f[4], "CREDIT bytes")
        if nbytes == 0:
            raise ProtocolViolation("CREDIT of 0 bytes")
        route = self._socket_frame(f, "CREDIT")
        if route is not None:
            self._events.append(PeerCredit(*route, nbytes))

    def _on_goodbye(self, f: list[Any]) -> None:
        _arity(f, 3, "GOODBYE")
        code, reason = f[1], f[2]
        _text(code, limits.MAX_CODE_LEN, "GOODBYE code")
        _text(reason, limits.MAX_REASON_LEN, "GOODBYE reason")
        self._closed(code, reason, by_peer=True)

    _handlers: ClassVar[dict[int, Callable[[LinkProtocol, list[Any]], None]]] = {
        Frame.TOPIC: _on_topic,
        Frame.UNTOPIC: _on_untopic,
        Frame.PRESENCE: _on_presence,
        Frame.UNPRESENCE: _on_unpresence,
        Frame.JOIN: _on_join,
        Frame.LEAVE: _on_leave,
        Frame.SESSION: _on_session,
        Frame.MESSAGE: _on_message,
        Frame.CLOSE: _on_close,
        Frame.GOODBYE: _on_goodbye,
        Frame.CREDIT: _on_credit,
        Frame.MESSAGES: _on_messages,
    }

    def _peer_tnum(self, value: Any, name: str) -> int:
        tnum = _number(value, f"{name} tnum")
        if tnum not in self._peer_topics:
            raise ProtocolViolation(f"{name} names topic {tnum}, which was not announced")
        return tnum

    def _peer_pnum(self, value: Any, name: str) -> int:
        pnum = _number(value, f"{name} pnum")
        if pnum not in self._peer_presences:
            raise ProtocolViolation(f"{name} names presence {pnum}, which was not proven")
        return pnum

    # --- internals: closing ---------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        self.close("ERR_PROTOCOL", reason)

    def _exhausted(self, what: str) -> None:
        """This side has given every number below 2**32 on this link: close it (the
        devices link again, numbering from 0)."""
        self.close("ERR_LINK_EXHAUSTED", f"every {what} number of this link is used")

    def _closed(self, code: str, reason: str, by_peer: bool) -> None:
        self.state = LinkState.CLOSED
        self._run_key = None
        self._paused_on = self._held = None
        self.close_code, self.close_reason = code, reason
        self._events.append(LinkClosed(code, reason, by_peer))


# --- duplicate links ------------------------------------------------------------------------


def keeps_newer_link(local_key: bytes, remote_key: bytes, old_initiator: bool, new_initiator: bool) -> bool:
    """Two links to one device: True when the newer one survives (docs/PROTOCOL.md,
    "Duplicate links"). Both sides reach the same answer from what each knows: the two
    device keys and which side dialled each link.

    Dialled by different sides (both dialled at once), the one dialled by the device with
    the greater key survives, as Hyperswarm keeps it. Dialled by the same side, the newer:
    a device dials again only once it lost the first."""
    if old_initiator == new_initiator:
        return True
    return (local_key if new_initiator else remote_key) > (local_key if old_initiator else remote_key)


# --- budgets ------------------------------------------------------------------------------

#: What each membership frame costs of the peer's membership budget.
_MEMBERSHIP_COST: dict[int, int] = {
    Frame.TOPIC: 1,
    Frame.UNTOPIC: 1,
    Frame.PRESENCE: limits.PRESENCE_COST,  # a signature to check
    Frame.UNPRESENCE: 1,
    Frame.JOIN: 1,
    Frame.LEAVE: 1,
}


_BUDGETED = frozenset((*_MEMBERSHIP_COST, Frame.SESSION))


def _budget_cost(value: Any, size: int) -> tuple[str, int] | None:
    """The budget a frame is charged to and its cost, or None (not budgeted). ``size``
    is the whole frame's, prefix included."""
    if type(value) is not list or not value:
        return None
    kind = value[0]
    if type(kind) is not int:
        return None
    if kind == Frame.SESSION:
        return LinkBudget.SESSION, max(size, limits.SESSION_MIN_COST)
    cost = _MEMBERSHIP_COST.get(kind)
    return (LinkBudget.MEMBERSHIP, cost) if cost is not None else None


# --- validators ---------------------------------------------------------------------------


def _arity(f: list[Any], n: int, name: str) -> None:
    if len(f) != n:
        raise ProtocolViolation(f"{name} frame must have {n} fields, not {len(f)}")


def _number(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_NUMBER:
        raise ProtocolViolation(f"{name} must be an integer from 0 to {MAX_NUMBER}")
    return value


def _versions(value: Any) -> tuple[int, ...]:
    """HELLO's versions: one integer, or an array of increasing ones (at most 8)."""
    items = [value] if type(value) is int else value
    if (
        type(items) is not list
        or not 0 < len(items) <= MAX_VERSIONS
        or any(type(v) is not int or not 0 < v <= MAX_NUMBER for v in items)
        or any(a >= b for a, b in itertools.pairwise(items))
    ):
        raise ProtocolViolation(
            "HELLO versions must be a version number from 1, or an array of up to "
            f"{MAX_VERSIONS} increasing ones"
        )
    return tuple(items)


def _bytes(value: Any, length: int, name: str) -> None:
    if type(value) is not bytes or len(value) != length:
        raise ProtocolViolation(f"{name} must be {length} bytes")


def _text(value: Any, max_len: int, name: str) -> None:
    # (the decoder already refuses any string over MAX_REASON_LEN bytes)
    if type(value) is not str or len(value.encode("utf-8")) > max_len:
        raise ProtocolViolation(f"{name} must be a string of at most {max_len} bytes of UTF-8")


def _clip(text: str, max_len: int) -> str:
    """``text`` as valid UTF-8 of at most ``max_len`` bytes, cut between characters."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_len and data.decode("utf-8") == text:
        return text
    return data[:max_len].decode("utf-8", "ignore")


def _session(value: Any) -> bytes | None:
    if value is None:
        return None
    if type(value) is not bytes or len(value) > limits.MAX_SESSION_DATA:
        raise ProtocolViolation(f"session data must be nil or at most {limits.MAX_SESSION_DATA} bytes")
    return value
