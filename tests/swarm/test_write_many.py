"""``SwarmCore.write_many``: a page's ``W`` op, several writes on one socket at once,
means what as many ``write`` calls one after the other would: every message that is
not refused arrives once, in order, the refused ones are said with their place and what
the peer then had unread, and the socket's counts are the same."""

import pytest

from swarm import limits
from swarm.errors import PeerSocketError
from tests.swarm.core_helpers import until

ORIGINS = ["https://a.example", "https://b.example"]
WHERE = ["two devices", "same device"]


async def pair(net, where):
    d1 = await net()
    d2 = d1 if where == "same device" else await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room")
    await until(lambda: writer.peers() == {reader.id} and reader.peers() == {writer.id})
    return writer, reader, writer.handle.require_socket(reader.id)


@pytest.mark.parametrize("where", WHERE)
async def test_messages_written_together_arrive_once_in_order_and_count_as_single_writes(net, where):
    writer, reader, socket = await pair(net, where)
    payloads = [b"message %d" % i for i in range(300)]
    assert writer.core.write_many(writer.handle, socket, payloads[:128]) == []
    for payload in payloads[128:200]:
        writer.write(reader.id, payload)
    assert writer.core.write_many(writer.handle, socket, payloads[200:]) == []
    assert socket.sent == 300 and socket.bytes_sent == sum(map(len, payloads))
    await until(lambda: len(reader.messages()) == 300, "every message")
    assert reader.messages() == payloads
    await until(lambda: socket.inflight == 0, "the reader's credit")


@pytest.mark.parametrize("where", WHERE)
async def test_a_refused_write_is_said_with_its_place_and_the_others_go(net, where):
    writer, reader, socket = await pair(net, where)
    big = b"x" * (limits.MAX_MESSAGE + 1)
    payloads = [b"one", b"two", big, b"four"]
    refused = writer.core.write_many(writer.handle, socket, payloads)
    assert [(r.at, r.error.code) for r in refused] == [(2, "ERR_TOO_LARGE")]
    assert refused[0].inflight == len(b"one") + len(b"two")  # what was unread as it was refused
    await until(lambda: len(reader.messages()) == 3, "the others")
    assert reader.messages() == [b"one", b"two", b"four"]
    assert socket.sent == 3


@pytest.mark.parametrize("where", WHERE)
async def test_writes_past_the_unread_bound_are_refused_each_and_the_earlier_ones_go(net, where):
    writer, reader, socket = await pair(net, where)
    reader.consume = False  # the reader's page reads nothing: the bytes stay unread
    chunk = b"c" * limits.MAX_MESSAGE
    fit = limits.MAX_INFLIGHT // len(chunk)  # writes that fit under the bound
    refused = writer.core.write_many(writer.handle, socket, [chunk] * (fit + 2))
    assert [(r.at, r.error.code, r.inflight) for r in refused] == [
        (fit, "ERR_BUFFER_FULL", fit * len(chunk)),
        (fit + 1, "ERR_BUFFER_FULL", fit * len(chunk)),
    ]
    assert socket.inflight == fit * len(chunk) and socket.sent == fit


@pytest.mark.parametrize("where", WHERE)
async def test_a_closed_socket_refuses_the_whole_op_and_sends_nothing(net, where):
    writer, reader, socket = await pair(net, where)
    writer.core.close_socket(writer.handle, socket, "bye")
    await until(lambda: socket.state != "open", "the socket's close")
    with pytest.raises(PeerSocketError) as err:
        writer.core.write_many(writer.handle, socket, [b"late", b"later"])
    assert err.value.code == "ERR_SOCKET_CLOSED"
    assert socket.sent == 0
