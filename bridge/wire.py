"""The messages between ``js/peersocket.js`` and the bridge, parsed and checked.

Pure Python (no Qt): a page sends one JSON string per batch, an array of
operations; the bridge answers with one JSON string per batch of results and
events. Everything here treats the page as hostile: every field is checked,
and a bad one becomes an error the page can read, never an exception.

Page -> bridge, each op an array:

    ["hello", docToken]
    ["identity", req, n]                 PeerSocket.setDebugIdentity(n)
    ["join", req, swarmId | null]        PeerSocket.joinSwarm({id})
    ["leave", req, handle]               swarm.close()
    ["w", handle, peerId, b64]           socket.write(msg) (msg already msgpack): no
                                         reply; a refusal comes back as a "w" event
    ["W", handle, peerId, [b64, ...]]    several writes on one socket, in order: the same
                                         as that many "w" ops (1 to MAX_WRITES_PER_OP)
    ["session", req, handle, b64|null]   loopback.setSessionData(data)
    ["close", req, handle, peerId, reason]  socket.close()
    ["ack", [[handle, peerId, bytes], ...]] messages the page consumed (flow control)
    ["seen", n]                          the page has read the bridge's first n batches

Bridge -> page, each event an array:

    ["r", req, true, value] / ["r", req, false, {code, message, name}]
    ["p", n]                             the bridge has run the page's first n batches
    ["c", handle, socket]                connection ({id, host, port, loopback, session})
    ["m", handle, peerId, b64]           message
    ["M", handle, peerId, [b64, ...]]    several messages of one socket, in order: the
                                         same as that many "m" events (2 to MAX_RUN)
    ["s", handle, peerId, b64 | null]    session data
    ["x", handle, peerId, code, reason, wasClean]   socket closed
    ["d", handle, peerId, unread, writes]  the peer consumed data: `unread` bytes of the
                                         socket still unread, counting this page's
                                         first `writes` writes on it and none after
    ["w", handle, peerId, {code, message, name}]  a write refused (the socket closed
                                         before it was run, say)
    ["X", handle, code, reason]          swarm closed
    ["E", {code, message, name}]         a batch the bridge could not read

Both sides bound what is in flight: a page sends a batch only while fewer than
``PAGE_BATCHES_IN_FLIGHT`` of its batches wait to be run (``p`` says how many
ran), and the bridge sends one only while fewer than ``EVENT_BATCHES_IN_FLIGHT``
wait to be read (``seen``). What waits meanwhile waits where it can be coalesced.
A page's batch carries ``seen`` whenever the count changed, so the bridge knows
which ``p`` the page had read when it sent it; a batch more than
``PAGE_BATCHES_IN_FLIGHT`` past that count is not run, and the page loses its
channel until it loads again (``ERR_CHANNEL_FLOOD``).
"""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from swarm import limits
from swarm.errors import PeerSocketError

#: A batch larger than this is refused whole (a maximal message in base64 and more).
MAX_BATCH_CHARS = 8 * 1024 * 1024
MAX_OPS_PER_BATCH = 8192
#: Batches a page sends before the bridge says it ran them (js/peersocket/channel.js).
PAGE_BATCHES_IN_FLIGHT = 8
#: Event batches the bridge sends before the page says it read them.
EVENT_BATCHES_IN_FLIGHT = 2
#: Writes in one "W" op at most (a page's slice of a turn runs a whole op: bridge/page.py).
MAX_WRITES_PER_OP = 128
#: Messages in one "M" event at most (bridge/outbox.py).
MAX_RUN = 128
MAX_IDENTITY = 2**31 - 1
#: A document's token (``hello``), characters at most.
MAX_TOKEN = 64
MAX_ACKS = 10_000


@dataclass(slots=True)
class Op:
    name: str
    req: int | None
    args: tuple[Any, ...]


# name -> number of fields after the request id
ARITY = {"identity": 1, "join": 1, "leave": 1, "session": 2, "close": 3}


def parse_batch(batch: object) -> list[Op | BadOp]:
    """Parse one batch. A bad op becomes a :class:`BadOp` in its place (its error, and
    its request id when it had a usable one); a bad batch raises PeerSocketError."""
    if not isinstance(batch, str):
        raise PeerSocketError.invalid_argument("a batch must be a JSON string")
    if len(batch) > MAX_BATCH_CHARS:
        raise PeerSocketError.too_large("a batch", len(batch), MAX_BATCH_CHARS)
    try:
        ops = loads(batch)
    except (ValueError, RecursionError):
        raise PeerSocketError.invalid_argument("a batch must be valid JSON") from None
    if not isinstance(ops, list):
        raise PeerSocketError.invalid_argument("a batch must be a JSON array of operations")
    if len(ops) > MAX_OPS_PER_BATCH:
        raise PeerSocketError.too_many("operations in one batch", MAX_OPS_PER_BATCH)
    return [_parse_op(raw) for raw in ops]


@dataclass(frozen=True)
class BadOp:
    """An op that could not be read; ``req`` says which promise to reject, if any."""

    req: int | None
    error: PeerSocketError


def _bad(req: int | None, message: str) -> BadOp:
    return BadOp(req, PeerSocketError.invalid_argument(message))


#: How peersocket.js's first batch starts (JSON.stringify: no spaces): ``hello`` and
#: the document's token.
_HELLO_FIRST = re.compile(r'\[\["hello","([^"\\]{1,' + str(MAX_TOKEN) + r'})"\]')


def hello_token(batch: str) -> str | None:
    """The document token a batch starts with, as peersocket.js writes a document's
    first batch, without parsing it (None for any other batch: a ``hello`` written
    another way is only seen when the batch is parsed)."""
    match = _HELLO_FIRST.match(batch)
    return None if match is None else match[1]


def _parse_op(raw: object) -> Op | BadOp:
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], str):
        return _bad(None, "an operation must be an array starting with its name")
    name = raw[0]
    if name == "hello":
        if len(raw) != 2 or not isinstance(raw[1], str) or len(raw[1]) > MAX_TOKEN:
            return _bad(None, f"hello takes one document token of at most {MAX_TOKEN} characters")
        return Op(name, None, (raw[1],))
    if name == "ack":
        return _parse_ack(raw)
    if name == "w":
        if len(raw) != 4:
            return _bad(None, f"w takes a handle, a peer id and a message, got {len(raw) - 1} field(s)")
        return Op(name, None, (raw[1], raw[2], raw[3]))
    if name == "W":
        if len(raw) != 4 or type(raw[3]) is not list or not 0 < len(raw[3]) <= MAX_WRITES_PER_OP:
            return _bad(None, f"W takes a handle, a peer id and 1 to {MAX_WRITES_PER_OP} messages")
        return Op(name, None, (raw[1], raw[2], raw[3]))
    if name == "seen":
        if len(raw) != 2 or type(raw[1]) is not int or not 0 <= raw[1] <= 2**53:
            return _bad(None, "seen takes one count of batches")
        return Op(name, None, (raw[1],))
    if name not in ARITY:
        return _bad(None, f"unknown operation {name[:40]!r}")
    req = raw[1] if len(raw) > 1 else None
    if type(req) is not int or not 0 <= req <= 2**53:
        return _bad(None, f"{name}: the request id must be a non-negative integer")
    if len(raw) != 2 + ARITY[name]:
        return _bad(req, f"{name} takes {ARITY[name]} argument(s), got {len(raw) - 2}")
    return Op(name, req, tuple(raw[2:]))


def _parse_ack(raw: list[Any]) -> Op | BadOp:
    entries = raw[1] if len(raw) == 2 else None
    if not isinstance(entries, list) or len(entries) > MAX_ACKS:
        return _bad(None, f"ack takes one list of at most {MAX_ACKS} [handle, peerId, bytes]")
    acks = []
    for e in entries:
        if (
            not isinstance(e, list)
            or len(e) != 3
            or type(e[0]) is not int
            or not isinstance(e[1], str)
            or len(e[1]) != 64
            or type(e[2]) is not int
            or not 0 <= e[2] <= 2**31
        ):
            return _bad(None, "ack entries must be [handle, peerId, bytes]")
        acks.append((e[0], e[1].lower(), e[2]))
    return Op("ack", None, tuple(acks))


def handle_id(value: object) -> int:
    if type(value) is not int or value < 0:
        raise PeerSocketError.invalid_argument("a swarm handle must be a non-negative integer")
    return value


def peer_id(value: object) -> str:
    if not isinstance(value, str) or len(value) != 64:
        raise PeerSocketError.invalid_argument("a peer id must be 64 hex characters")
    return value.lower()


def identity(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_IDENTITY:
        raise PeerSocketError.invalid_argument(
            f"setDebugIdentity(n): n must be an integer from 0 to {MAX_IDENTITY}"
        )
    return value


def _b64_chars(limit: int) -> int:
    """The longest base64 text of at most ``limit`` bytes could be (padding, a newline)."""
    return (limit + 2) // 3 * 4 + 4


def payload(value: object, what: str, limit: int) -> bytes:
    if not isinstance(value, str):
        raise PeerSocketError.invalid_argument(f"{what} must be base64 text")
    if len(value) > _b64_chars(limit):
        raise PeerSocketError.too_large(what, len(value) * 3 // 4, limit)
    try:
        data = binascii.a2b_base64(value, strict_mode=True)  # (the alphabet, the padding)
    except (binascii.Error, ValueError):
        raise PeerSocketError.invalid_argument(f"{what} is not valid base64") from None
    if len(data) > limit:
        raise PeerSocketError.too_large(what, len(data), limit)
    return data


def message_payload(value: object) -> bytes:
    return payload(value, "the message", limits.MAX_MESSAGE)


def message_payloads(values: list[Any] | tuple[Any, ...]) -> list[bytes] | None:
    """Every one of ``values`` as :func:`message_payload` reads it, in one pass; None when
    one of them is not a message it takes (then read them one by one, for its error)."""
    try:
        if max(map(len, values), default=0) > _b64_chars(limits.MAX_MESSAGE):
            return None  # (a text this long is refused before it is decoded)
        data = [binascii.a2b_base64(value, strict_mode=True) for value in values]
    except (binascii.Error, ValueError, TypeError):  # not text, or not base64
        return None
    return data if max(map(len, data), default=0) <= limits.MAX_MESSAGE else None


def session_payload(value: object) -> bytes | None:
    if value is None:
        return None
    return payload(value, "the session data", limits.MAX_SESSION_DATA)


def reason(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PeerSocketError.invalid_argument("close(reason): reason must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > limits.MAX_REASON_LEN:
        raise PeerSocketError.reason_too_long(limits.MAX_REASON_LEN)
    return value


def b64(data: bytes | None) -> str | None:
    return None if data is None else binascii.b2a_base64(data, newline=False).decode("ascii")


def b64_all(payloads: list[bytes]) -> list[str]:
    """:func:`b64` of each of ``payloads`` (a run of messages for a page), in one pass."""
    encode = binascii.b2a_base64
    return [encode(data, newline=False).decode("ascii") for data in payloads]


# Every message crosses here twice (read from one page's batch, written in another's):
# orjson does each in a fraction of the standard library's time (a tab's round trip
# is two of each). Where it refuses what the standard library reads (a lone UTF-16
# surrogate, which a JavaScript string may hold; a number past a double's range; more
# than 1024 levels of nesting) the standard library takes over, so a page may send and
# is sent what it could before. (It reads integers past 64 bits as floats: every
# integer field refuses those, as it refused such large integers.)


def loads(text: str) -> Any:
    """One batch from a page, as JSON reads it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps(events: list[list[Any]]) -> str:
    """One batch for a page: compact JSON text."""
    try:
        return orjson.dumps(events).decode()
    except TypeError:  # a lone surrogate (in a close reason a page gave, say)
        return json.dumps(events, separators=(",", ":"), ensure_ascii=False)
