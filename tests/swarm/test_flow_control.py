"""Flow control: a writer that outpaces its reader is held back, per socket."""

import pytest

from swarm import limits
from swarm.errors import PeerSocketError
from swarm.events import CLOSE_PROTOCOL, Drain
from tests.swarm.core_helpers import Messages, SessionData, SocketClosed, turns, until

ORIGINS = ["https://a.example", "https://b.example"]
CHUNK = 256 * 1024


def drains(tab, peer):
    return [e.inflight for e in tab.of(Drain) if e.socket.id_hex == peer]


@pytest.mark.parametrize("where", ["same device", "two devices"])
async def test_unread_bytes_hold_the_writer_back_until_the_reader_consumes(net, where):
    d1 = await net()
    d2 = d1 if where == "same device" else await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room", consume=False)
    fast = d2.tab(ORIGINS[1], 1, "room")  # another reader on the same writer presence
    await until(lambda: writer.peers() == {reader.id, fast.id})
    sock = writer.handle.require_socket(reader.id)
    n = limits.MAX_INFLIGHT // CHUNK
    for _ in range(n):
        writer.write(reader.id, b"x" * CHUNK)
    # the reader's page is handed a window of them; the rest wait in its core
    await until(lambda: len(reader.messages()) == limits.WINDOW // CHUNK)
    await until(lambda: sock.inflight == n * CHUNK)
    await turns()
    assert len(reader.messages()) == limits.WINDOW // CHUNK and drains(writer, reader.id) == []
    with pytest.raises(PeerSocketError) as err:
        writer.write(reader.id, b"x" * CHUNK)
    assert err.value.code == "ERR_BUFFER_FULL" and err.value.name == "OperationError"
    # the other socket of the same writer is not held back (writing as a page does:
    # only while the window has room)
    fast_sock = writer.handle.require_socket(fast.id)
    for _ in range(n * 2):
        await until(lambda: fast_sock.inflight + CHUNK <= limits.WINDOW)
        writer.write(fast.id, b"y" * CHUNK)
    await until(lambda: len(fast.messages()) == n * 2)
    await until(lambda: writer.handle.require_socket(fast.id).inflight == 0)
    reader.consume = True  # it reads from now on: what waited in its core follows
    reader.consume_all()
    await until(lambda: drains(writer, reader.id)[-1:] == [0])
    assert sock.inflight == 0 and len(reader.messages()) == n
    writer.write(reader.id, b"after")  # room again
    await until(lambda: reader.messages()[-1:] == [b"after"])


async def test_credit_waits_for_every_tab_of_the_reading_presence(net):
    dev = await net()
    writer = dev.tab(ORIGINS[0], 0, "room")
    tab1 = dev.tab(ORIGINS[1], 0, "room", consume=False)
    tab2 = dev.tab(ORIGINS[1], 0, "room", consume=False)
    await until(lambda: writer.peers() == {tab1.id})
    writer.write(tab1.id, b"z" * 1000)
    await until(lambda: len(tab1.messages()) == 1 and len(tab2.messages()) == 1)
    tab1.consume_all()
    await turns()
    assert drains(writer, tab1.id) == []
    tab2.core.close_handle(tab2.handle)  # a tab going away consumes nothing more: it no longer counts
    await until(lambda: drains(writer, tab1.id) == [0])


async def test_messages_to_a_presence_with_no_tab_are_credited_at_once(net):
    d1 = await net()
    d2 = await net(grace=60)
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room", consume=False)
    await until(lambda: writer.peers() == {reader.id})
    reader.core.close_handle(reader.handle)  # in its grace period: still a peer, nobody reading
    writer.write(reader.id, b"q" * 5000)
    await until(lambda: drains(writer, reader.id) == [0])


async def test_loopback_writes_are_flow_controlled_by_the_other_tabs(net):
    dev = await net()
    t1 = dev.tab(ORIGINS[0], 0, "room")
    t2 = dev.tab(ORIGINS[0], 0, "room", consume=False)
    t1.write(t1.id, b"l" * 4000)
    await until(lambda: len(t2.messages()) == 1)
    await turns()
    assert t1.handle.loopback.inflight == 4000
    t2.consume_all()
    await until(lambda: t1.handle.loopback.inflight == 0)
    await until(lambda: [e.inflight for e in t1.of(Drain)] == [0])


@pytest.mark.parametrize("size", [limits.MAX_MESSAGE, 1000], ids=["MESSAGE frames", "MESSAGES frames"])
async def test_a_device_that_ignores_flow_control_loses_its_link(net, size):
    d1, d2, d3 = await net(), await net(), await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room", consume=False)
    other = d2.tab(ORIGINS[1], 1, "room")
    third = d3.tab(ORIGINS[0], 5, "room")
    await until(lambda: writer.peers() == {reader.id, other.id, third.id})
    # writer's device bypasses its own core and keeps sending
    link = d1.core.links[d2.engine.key]
    topic = writer.handle.membership.topic
    me, them = bytes.fromhex(writer.id), bytes.fromhex(reader.id)
    assert link.protocol.version == 2
    for _ in range(limits.MAX_HELD // size + 1):
        link.protocol.send_message(topic, me, them, b"f" * size)
    d1.core._links.pump(link)
    await until(lambda: any(e.code == CLOSE_PROTOCOL for e in reader.of(SocketClosed)))
    assert d1.engine.key not in d2.core.links
    assert third.id in reader.peers()  # other links untouched
    # the page was handed what fits its window (and the run of messages that crosses it),
    # never the rest: that waited in the core and went with the link
    runs = reader.of(Messages)
    handed = sum(run.size for run in runs)
    assert handed - runs[-1].size < limits.WINDOW <= handed and not d2.core._events


@pytest.mark.parametrize("where", ["same device", "two devices"])
async def test_a_page_that_does_not_read_is_handed_a_window_and_the_rest_follows_in_order(net, where):
    """Past ``limits.WINDOW`` unread bytes of one socket, its messages wait in the core,
    and its session data and close wait behind them: the page sees them all, in order,
    as it reads."""
    d1 = await net()
    d2 = d1 if where == "same device" else await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room", consume=False)
    await until(lambda: writer.peers() == {reader.id})
    sock = writer.handle.require_socket(reader.id)
    n = limits.WINDOW // CHUNK + 3
    for i in range(n):  # as a page writes: the window, and one message past it
        writer.write(reader.id, bytes([i]) * CHUNK)
    await until(lambda: sock.inflight == n * CHUNK)
    for i in range(50):  # values replaced while they wait: only the newest is kept
        writer.core.set_session_data(writer.handle, b"value %d" % i)
        await turns(2)
    writer.core.set_session_data(writer.handle, b"after the messages")
    await until(lambda: len(reader.messages()) == limits.WINDOW // CHUNK)
    await turns()
    assert reader.of(SessionData) == [] and len(reader.messages()) == limits.WINDOW // CHUNK

    def seen() -> list:
        return [
            item
            for e in reader.events
            if getattr(e, "socket", None) is not None and e.socket.id_hex == writer.id
            for item in ([p[0] for p in e.payloads] if isinstance(e, Messages) else [type(e).__name__])
        ]

    while len(reader.messages()) < n:  # one message read at a time makes room for one
        before = len(reader.messages())
        reader.consume_all()
        await until(lambda before=before: len(reader.messages()) > before, "the next message")
    await until(lambda: reader.of(SessionData) != [])
    assert seen()[1:] == [*range(n), "SessionData"]
    assert [e.data for e in reader.of(SessionData)] == [b"after the messages"]
    assert not d2.core._events


async def test_a_socket_that_closes_hands_over_what_waited_before_its_close(net):
    d1, d2 = await net(), await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room", consume=False)
    await until(lambda: writer.peers() == {reader.id})
    sock = writer.handle.require_socket(reader.id)
    n = limits.WINDOW // CHUNK + 2
    for i in range(n):
        writer.write(reader.id, bytes([i]) * CHUNK)
    await until(lambda: sock.inflight == n * CHUNK)
    await until(lambda: len(reader.messages()) == limits.WINDOW // CHUNK)
    writer.core.close_handle(writer.handle)  # the writer leaves: the socket closes cleanly
    await until(lambda: reader.of(SocketClosed) != [])
    assert [m[0] for m in reader.messages()] == list(range(n))  # all of them, then the close
    assert isinstance(reader.events[-1], SocketClosed) and not d2.core._events


async def test_a_device_its_transport_cut_for_overrunning_is_closed_as_a_protocol_break(net):
    """The sidecar cuts a connection whose peer sent far more than the core read
    (``ERR_PEER_OVERRUN``): the peer ignored its windows, so its sockets close with 1002,
    and what it sent past a page's window (and what the link had not read) is dropped."""
    d1, d2, d3 = await net(), await net(), await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room", consume=False)
    third = d3.tab(ORIGINS[0], 5, "room")
    await until(lambda: reader.peers() == {writer.id, third.id})
    link = d1.core.links[d2.engine.key]
    topic = writer.handle.membership.topic
    me, them = bytes.fromhex(writer.id), bytes.fromhex(reader.id)
    for _ in range(4):  # past the window, not yet past what the core would cut for
        link.protocol.send_message(topic, me, them, b"o" * limits.WINDOW)
    d1.core._links.pump(link)
    sock = reader.handle.require_socket(writer.id)
    await until(lambda: sock.held == 4 * limits.WINDOW, "the bytes read by the reader's core")
    assert len(reader.messages()) == 1  # the window; the rest waits in the core
    released: list[int] = []
    d2.core._links.trimmer.released = released.append  # type: ignore[method-assign]
    cut = d2.core.links[d1.engine.key]
    cut.connection_lost("ERR_PEER_OVERRUN", "the peer sent 34 MiB unread")
    await until(lambda: reader.of(SocketClosed) != [])
    [closed] = reader.of(SocketClosed)
    assert closed.code == CLOSE_PROTOCOL and "ERR_PEER_OVERRUN" in closed.reason
    assert len(reader.messages()) == 1 and not d2.core._events
    assert third.id in reader.peers() and d3.engine.key in d2.core.links  # others untouched
    # what it carried goes back to the system (swarm/trim.py)
    assert released == [cut.received] and cut.received > 4 * limits.WINDOW


async def test_a_link_whose_bytes_the_pages_read_asks_for_a_trim_when_it_closes(net):
    """Bytes that passed through to a page that read them leave glibc's heap as
    fragmented as bytes that waited: the close of a link that carried a lot asks for
    a trim either way, however little it held at the end."""
    d1, d2 = await net(), await net()
    writer = d1.tab(ORIGINS[0], 0, "room")
    reader = d2.tab(ORIGINS[1], 0, "room")  # reads everything
    await until(lambda: writer.peers() == {reader.id})
    sock = writer.handle.require_socket(reader.id)
    n = 6 * limits.WINDOW // CHUNK
    for i in range(n):
        writer.write(reader.id, bytes([i % 256]) * CHUNK)
        await until(lambda: sock.inflight <= limits.WINDOW // 2, "credit back")
    await until(lambda: len(reader.messages()) == n)
    link = d2.core.links[d1.engine.key]
    assert reader.handle.require_socket(writer.id).held == 0
    released: list[int] = []
    d2.core._links.trimmer.released = released.append  # type: ignore[method-assign]
    link.connection_lost("ERR_CONNECTION_CLOSED", "")
    await until(lambda: reader.of(SocketClosed) != [])
    assert released == [link.received] and link.received > n * CHUNK
