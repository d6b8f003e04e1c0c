import asyncio
import itertools

import pytest

from swarm import limits
from swarm.errors import PeerSocketError
from swarm.events import CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_PROTOCOL
from swarm.memory import MemoryTransport
from swarm.protocol import LinkState
from swarm.topics import SwarmKey
from tests.swarm.core_helpers import (
    Connection,
    Messages,
    SessionData,
    SocketClosed,
    SwarmClosed,
    turns,
    until,
    until_changed,
    until_heard,
)

ORIGINS = ["https://a.example", "https://b.example"]


async def mesh(net, swarm="room", devices=3, identities=2):
    devs = [await net() for _ in range(devices)]
    tabs = [d.tab(o, i, swarm) for d in devs for o in ORIGINS for i in range(identities)]
    return devs, tabs


async def test_three_devices_two_origins_two_identities_form_exactly_the_full_mesh(net):
    devs, tabs = await mesh(net)
    ids = {t.id for t in tabs}
    assert len(ids) == 12
    for t in tabs:
        await until(lambda t=t: t.peers() == ids - {t.id}, f"{t.id[:8]} meshed")
    await turns()
    for t in tabs:
        conns = [e.socket.id_hex for e in t.of(Connection)]
        assert sorted(conns) == sorted(ids - {t.id})  # exactly one connection per peer
    assert net.network.link_count() == 3  # one link per pair of devices, all presences on it


async def test_origin_swarms_stay_apart(net):
    devs, tabs = await mesh(net, swarm=None)
    for t in tabs:
        same_origin = {u.id for u in tabs if u.handle.presence.origin == t.handle.presence.origin}
        await until(lambda t=t, s=same_origin: t.peers() == s - {t.id})
    await turns()
    for t in tabs:
        origin = t.handle.presence.origin
        for e in t.of(Connection):
            peer = next(u for u in tabs if u.id == e.socket.id_hex)
            assert peer.handle.presence.origin == origin


async def test_presences_on_one_device_connect_without_the_network(net):
    dev = await net()
    a = dev.tab(ORIGINS[0], 0, "room")
    b = dev.tab(ORIGINS[1], 0, "room")
    c = dev.tab(ORIGINS[0], 1, "room")
    await until(lambda: a.peers() == {b.id, c.id} and b.peers() == {a.id, c.id})
    assert net.network.link_count() == 0
    a.write(b.id, b"hi")
    await until(lambda: b.messages(a.id) == [b"hi"])
    assert all(s.address is None for s in a.handle.sockets())


async def test_messages_arrive_exactly_once_and_in_order_on_every_socket(net):
    devs, tabs = await mesh(net, devices=2, identities=1)
    for t in tabs:
        await until(lambda t=t: len(t.peers()) == 3)
    for sender, receiver in itertools.permutations(tabs, 2):
        for i in range(20):
            sender.write(receiver.id, f"{sender.id[:4]}-{i}".encode())
    for sender, receiver in itertools.permutations(tabs, 2):
        want = [f"{sender.id[:4]}-{i}".encode() for i in range(20)]
        await until(lambda r=receiver, s=sender, w=want: r.messages(s.id) == w)
    await turns()
    for sender, receiver in itertools.permutations(tabs, 2):
        assert len(receiver.messages(sender.id)) == 20


async def test_remote_sockets_know_the_device_address(net):
    d1, d2 = await net(), await net()
    a, b = d1.tab(ORIGINS[0], 0, "room"), d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id})
    sock = a.handle.get_socket(b.id)
    assert sock.address == ("memory", d2.engine.port)


async def test_session_data_reaches_every_peer_once_and_late_joiners_see_it(net):
    d1, d2 = await net(), await net()
    a = d1.tab(ORIGINS[0], 0, "room")
    b = d2.tab(ORIGINS[0], 0, "room")
    c = d1.tab(ORIGINS[1], 0, "room")
    await until(lambda: a.peers() == {b.id, c.id})
    a.core.set_session_data(a.handle, b"alice")
    for t in (b, c):
        await until(lambda t=t: [e.data for e in t.of(SessionData)] == [b"alice"])
        assert t.handle.get_socket(a.id).session_data == b"alice"
    late = d2.tab(ORIGINS[1], 5, "room")
    await until(lambda: a.id in late.peers())
    assert late.handle.get_socket(a.id).session_data == b"alice"
    assert late.of(SessionData) == []  # known on connect, no event needed
    await turns()
    assert len(b.of(SessionData)) == 1


async def test_tabs_of_one_presence_share_sockets_and_hear_the_same_events(net):
    d1, d2 = await net(), await net()
    tab1 = d1.tab(ORIGINS[0], 0, "room")
    peer = d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: tab1.peers() == {peer.id})
    tab2 = d1.tab(ORIGINS[0], 0, "room")  # a second tab of the same presence
    assert tab2.id == tab1.id
    assert tab2.peers() == {peer.id}  # existing sockets are there at once, to replay
    assert tab2.handle.get_socket(peer.id) is tab1.handle.get_socket(peer.id)
    peer.write(tab1.id, b"to both tabs")
    await until(lambda: tab1.messages() == [b"to both tabs"] and tab2.messages() == [b"to both tabs"])


async def test_loopback_write_reaches_the_other_tabs_of_the_presence_only(net):
    dev = await net()
    t1 = dev.tab(ORIGINS[0], 0, "room")
    t2 = dev.tab(ORIGINS[0], 0, "room")
    t3 = dev.tab(ORIGINS[0], 0, "room")
    other = dev.tab(ORIGINS[0], 1, "room")
    t1.write(t1.id, b"coordinate")
    await until(lambda: t2.messages() == [b"coordinate"] and t3.messages() == [b"coordinate"])
    await turns()
    assert t1.messages() == [] and other.messages() == []


async def test_loopback_session_data_is_seen_by_other_tabs(net):
    dev = await net()
    t1 = dev.tab(ORIGINS[0], 0, "room")
    t2 = dev.tab(ORIGINS[0], 0, "room")
    t1.core.set_session_data(t1.handle, b"me")
    await until(lambda: [e.data for e in t2.of(SessionData)] == [b"me"])
    assert t2.handle.loopback.session_data == b"me"
    assert t1.of(SessionData) == []


async def test_leaving_closes_exactly_that_presences_sockets(net):
    devs, tabs = await mesh(net, devices=2, identities=1)
    for t in tabs:
        await until(lambda t=t: len(t.peers()) == 3)
    leaver, *rest = tabs
    leaver.core.close_handle(leaver.handle)
    await until(lambda: all(leaver.id not in t.peers() for t in rest))
    for t in rest:
        closes = t.of(SocketClosed)
        assert [c.socket.id_hex for c in closes] == [leaver.id]
        assert closes[0].code == CLOSE_GOING_AWAY and closes[0].was_clean
        assert len(t.peers()) == 2
    assert leaver.of(SwarmClosed) and leaver.handle.sockets() == []
    assert leaver.handle.presence not in devs[0].core.presences.values()


async def test_last_presence_leaving_a_topic_leaves_it_on_the_engine(net):
    d1, d2 = await net(), await net()
    a, b = d1.tab(ORIGINS[0], 0, "room"), d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id})
    assert d1.engine.topics == {a.handle.key.topic}
    a.core.close_handle(a.handle)
    await until(lambda: b.peers() == set())
    assert d1.engine.topics == set() and d1.core.topics == {}


async def test_grace_period_keeps_peers_across_a_reload(net):
    d1 = await net(grace=60)
    d2 = await net()
    a, b = d1.tab(ORIGINS[0], 0, "room"), d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id})
    a.core.close_handle(a.handle)  # the page reloads...
    again = d1.tab(ORIGINS[0], 0, "room")  # ...and joins again
    assert again.id == a.id and again.peers() == {b.id}
    await turns()
    assert b.of(SocketClosed) == []


async def test_grace_expiry_leaves_and_forgets_the_presence_keys(net):
    d1 = await net(grace=0.01)
    d2 = await net()
    a, b = d1.tab(ORIGINS[0], 0, "room"), d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id})
    first_id = a.id
    a.core.close_handle(a.handle)
    assert b.peers() == {first_id}  # still there during the grace period
    await until_changed(d1.core, lambda: d1.core.presences == {}, "grace expired")
    await until(lambda: not b.peers())
    again = d1.tab(ORIGINS[0], 0, "room")
    assert again.id != first_id  # a fresh key pair: ids are no tracking cookie
    await until(lambda: b.peers() == {again.id})


async def test_socket_close_reaches_the_peer_and_every_tab_and_stays_closed(net):
    d1, d2 = await net(), await net()
    a1 = d1.tab(ORIGINS[0], 0, "room")
    a2 = d1.tab(ORIGINS[0], 0, "room")
    b = d2.tab(ORIGINS[0], 0, "room")
    local = d1.tab(ORIGINS[1], 0, "room")
    await until(lambda: a1.peers() == {b.id, local.id} and local.peers() == {a1.id, b.id})
    a1.core.close_socket(a1.handle, a1.handle.require_socket(b.id), "done")
    a1.core.close_socket(a1.handle, a1.handle.require_socket(local.id), "done")
    for t in (a1, a2):
        await until(lambda t=t: len(t.of(SocketClosed)) == 2)
        assert {c.code for c in t.of(SocketClosed)} == {CLOSE_NORMAL}
    await until(lambda: [c.socket.id_hex for c in b.of(SocketClosed)] == [a1.id])
    await until(lambda: [c.socket.id_hex for c in local.of(SocketClosed)] == [a1.id])
    assert b.of(SocketClosed)[0].reason == "done"
    with pytest.raises(PeerSocketError) as err:
        a1.write(b.id, b"x")
    assert err.value.code == "ERR_SOCKET_CLOSED"
    assert b.peers() == {local.id}  # other sockets untouched


async def test_a_lost_link_closes_only_the_sockets_over_it(net):
    d1, d2, d3 = await net(), await net(), await net()
    a = d1.tab(ORIGINS[0], 0, "room")
    b = d2.tab(ORIGINS[0], 0, "room")
    c = d3.tab(ORIGINS[0], 0, "room")
    near = d1.tab(ORIGINS[1], 0, "room")
    await until(lambda: a.peers() == {b.id, c.id, near.id})
    net.network.cut(d1.engine, d2.engine)
    await until(lambda: b.id not in a.peers())
    closes = a.of(SocketClosed)
    assert [(x.socket.id_hex, x.code, x.was_clean) for x in closes] == [(b.id, CLOSE_ABNORMAL, False)]
    assert a.peers() == {c.id, near.id}
    a.write(c.id, b"still here")
    await until(lambda: c.messages(a.id) == [b"still here"])


async def test_many_topics_and_presences_ride_one_link_per_device_pair(net):
    d1, d2 = await net(), await net()
    tabs = [d.tab(o, i, f"room-{r}") for d in (d1, d2) for o in ORIGINS for i in range(3) for r in range(4)]
    for t in tabs:
        await until(lambda t=t: len(t.peers()) == 11)
    assert net.network.link_count() == 1
    (link,) = d1.core.links.values()
    assert len(link.protocol.shared_topics()) == 4


async def test_garbage_from_a_device_closes_its_link_only(net):
    d1, d2, d3 = await net(), await net(), await net()
    a = d1.tab(ORIGINS[0], 0, "room")
    b = d2.tab(ORIGINS[0], 0, "room")
    c = d3.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id, c.id})
    link = d1.core.links[d2.engine.key]
    link.data_received((5).to_bytes(4, "big") + b"\xc1" * 5)
    await until(lambda: a.peers() == {c.id})
    assert a.of(SocketClosed)[0].code == CLOSE_PROTOCOL
    assert d2.engine.key not in d1.core.links
    a.write(c.id, b"fine")
    await until(lambda: c.messages(a.id) == [b"fine"])


async def test_a_silent_device_is_dropped_after_the_handshake_timeout(net):
    d1 = await net()
    d1.core.handshake_timeout = 0.01
    silent = MemoryTransport(net.network, d1.engine, b"s" * 32, None, False)
    sink = d1.core.attach(silent)
    await until_changed(d1.core, lambda: silent.closed, "handshake timeout")
    assert sink.protocol.close_code == "ERR_HANDSHAKE_TIMEOUT"
    assert d1.core.links == {}


async def test_errors_have_codes_and_change_nothing(net):
    dev = await net()
    a = dev.tab(ORIGINS[0], 0, "room")
    b = dev.tab(ORIGINS[1], 0, "room")
    await until(lambda: a.peers() == {b.id})
    sock = a.handle.require_socket(b.id)
    cases = [
        (lambda: a.core.write(a.handle, sock, b"x" * (limits.MAX_MESSAGE + 1)), "ERR_TOO_LARGE"),
        (lambda: a.core.set_session_data(a.handle, b"x" * (limits.MAX_SESSION_DATA + 1)), "ERR_TOO_LARGE"),
        (lambda: a.core.close_socket(a.handle, a.handle.loopback), "ERR_LOOPBACK_CLOSE"),
        (lambda: a.handle.require_socket("00" * 32), "ERR_NO_SUCH_SOCKET"),
        (lambda: a.handle.require_socket("not hex"), "ERR_NO_SUCH_SOCKET"),
        (lambda: a.core.write(a.handle, b.handle.loopback, b"x"), "ERR_INVALID_ARGUMENT"),
    ]
    for call, code in cases:
        with pytest.raises(PeerSocketError) as err:
            call()
        assert err.value.code == code
    await turns()
    assert b.messages() == [] and b.of(SessionData) == []
    a.core.close_handle(a.handle)
    with pytest.raises(PeerSocketError) as err:
        a.core.write(a.handle, sock, b"x")
    assert err.value.code == "ERR_SWARM_CLOSED"


async def test_a_failing_listener_does_not_stop_other_tabs(net):
    dev = await net()
    a = dev.tab(ORIGINS[0], 0, "room")
    bad = dev.tab(ORIGINS[1], 0, "room")
    good = dev.tab(ORIGINS[1], 1, "room")

    def boom(handle, event):
        raise RuntimeError("listener bug")

    bad.core._events.listen(bad.handle, boom)
    await until(lambda: a.id in good.peers())
    a.write(good.id, b"ok")
    a.write(bad.id, b"ok")
    await until(lambda: good.messages(a.id) == [b"ok"])


async def test_closing_the_core_releases_everything(net):
    devs, tabs = await mesh(net, devices=2, identities=1)
    for t in tabs:
        await until(lambda t=t: len(t.peers()) == 3)
    await devs[0].core.close()
    await devs[0].core.close()  # idempotent
    for t in tabs[:2]:
        assert t.of(SwarmClosed) and t.handle.closed
    for t in tabs[2:]:
        await until(lambda t=t: len(t.peers()) == 1)
        assert {c.code for c in t.of(SocketClosed)} == {CLOSE_GOING_AWAY}
    assert devs[0].core.presences == {} and devs[0].core.links == {}
    with pytest.raises(PeerSocketError) as err:
        devs[0].tab(ORIGINS[0], 0, "room")
    assert err.value.code == "ERR_CORE_CLOSED"


async def test_a_thousand_join_write_close_cycles_leave_nothing_behind(net):
    d1, d2 = await net(), await net()
    peer = d2.tab(ORIGINS[1], 0, "room")
    tasks_before = len(asyncio.all_tasks())
    observers_before = len(d1.core._observers)
    # (each cycle is several membership frames, more than d2 reads at once: it reads
    # them at its pace, on the loop's clock)
    for i in range(1000):
        heard = len(peer.of(Connection))
        t = d1.tab(ORIGINS[0], i % 3, "room")
        await until_heard(t, lambda t=t: t.peers() == {peer.id}, "the peer's socket")
        # the peer heard of it too (else a socket that closes before its connection
        # reached the page vanishes, with its message, as docs/API.md says)
        await until_heard(peer, lambda heard=heard: len(peer.of(Connection)) > heard, "the new socket")
        t.write(peer.id, b"x")
        t.core.close_handle(t.handle)
    await until_heard(peer, lambda: len(peer.messages()) == 1000 and peer.peers() == set(), "every message")
    await turns()
    assert d1.core.presences == {} and d1.core.topics == {} and d1.core._handles == {}
    assert d1.core._owned == {}
    assert not d1.core._events and not d1.core._links._dirty
    assert d1.core._events._listeners == {}  # none kept for a closed handle
    (link,) = d1.core.links.values()
    assert link.protocol.shared_topics() == set()
    assert link.protocol._presences == {} and link.protocol._pnum_to_id == {}
    (remote,) = d2.core.links.values()
    assert remote.protocol._peer_presences == {} and remote.protocol._peer_join_count == 0
    assert len(peer.handle.membership.sockets) == 0 and peer.handle.membership.closed_peers == set()
    assert len(asyncio.all_tasks()) == tasks_before  # no task left running per cycle
    assert len(d1.core._observers) == observers_before  # no listener left registered


async def test_a_device_back_under_a_new_key_replaces_its_half_open_link(net):
    d1, d2 = await net(), await net()
    a, b = d1.tab(ORIGINS[0], 0, "room"), d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id} and b.peers() == {a.id})
    stale = net.network.restart(d1.engine)  # d2 does not notice the old link die
    await until(lambda: len(b.of(Connection)) == 2 and len(a.of(Connection)) == 2)
    assert [(c.socket.id_hex, c.code) for c in b.of(SocketClosed)] == [(a.id, CLOSE_ABNORMAL)]
    assert b.peers() == {a.id} and a.peers() == {b.id}
    a.write(b.id, b"over the new link")
    await until(lambda: b.messages(a.id) == [b"over the new link"])
    for t in stale:  # the old link finally times out: nothing more for the pages
        t._lost("ERR_LINK_LOST", "timed out")
    await turns()
    assert len(b.of(SocketClosed)) == 1 and b.peers() == {a.id}
    b.write(a.id, b"still fine")
    await until(lambda: a.messages(b.id) == [b"still fine"])


def _refused(call) -> PeerSocketError:
    with pytest.raises(PeerSocketError) as info:
        call()
    assert info.value.code == "ERR_TOO_MANY" and info.value.name == "RangeError"
    return info.value


async def test_an_origin_joining_too_many_swarms_is_refused_and_nothing_else_changes(net):
    d = await net()
    hog, fair = ORIGINS
    tabs = [d.tab(hog, 0, f"room-{i}") for i in range(limits.MAX_SWARMS_PER_ORIGIN)]
    before = (set(d.core.topics), len(d.core._handles))
    err = _refused(lambda: d.tab(hog, 1, "one-more"))  # another identity: still the origin's
    assert hog in err.message and str(limits.MAX_SWARMS_PER_ORIGIN) in err.message
    assert (set(d.core.topics), len(d.core._handles)) == before
    assert (hog, 1) not in d.core.presences  # a refused join leaves no presence behind
    d.tab(hog, 1, "room-0")  # a swarm it is in already: fine, for another identity too
    d.tab(fair, 0, "one-more")  # another origin is not held back
    tabs[1].core.close_handle(tabs[1].handle)  # leaving a swarm makes room again
    room_1 = tabs[1].handle.membership.topic
    await until(lambda: room_1 not in d.core.presences[(hog, 0)].memberships)
    d.tab(hog, 0, "one-more")


async def test_an_origin_with_too_many_identities_is_refused(net):
    d = await net()
    for i in range(limits.MAX_IDENTITIES_PER_ORIGIN):
        d.tab(ORIGINS[0], i, "room")
    _refused(lambda: d.tab(ORIGINS[0], limits.MAX_IDENTITIES_PER_ORIGIN, "room"))
    d.tab(ORIGINS[1], 0, "room")


async def test_the_device_never_announces_more_topics_than_its_peers_accept(net):
    """Many origins joining many swarms stop at the per-link bound of the protocol, so
    the peer device never cuts the link, and sockets over it keep working."""
    d1, d2 = await net(), await net()
    a, b = d1.tab(ORIGINS[0], 0, "room"), d2.tab(ORIGINS[0], 0, "room")
    await until(lambda: a.peers() == {b.id})
    per_origin = limits.MAX_SWARMS_PER_ORIGIN
    n = 0
    while len(d1.core.topics) < limits.MAX_TOPICS_PER_DEVICE:
        d1.tab(f"https://site{n // per_origin}.example", 0, f"swarm-{n}")
        n += 1
    err = _refused(lambda: d1.tab("https://late.example", 0, "one-more"))
    assert "on this device" in err.message
    d1.tab("https://late.example", 0, "room")  # a swarm the device is in already: fine
    await turns()
    (link,) = d1.core.links.values()
    assert link.protocol.state is LinkState.OPEN
    a.write(b.id, b"still linked")
    await until(lambda: b.messages(a.id) == [b"still linked"])


async def test_one_page_holding_too_many_swarm_objects_is_refused(net):
    """Every swarm object is a listener each event of its swarm goes to: a page that
    joins the same swarm over and over is stopped before it slows every page down."""
    d = await net()
    page = object()  # the owner, as the bridge's document is
    key = SwarmKey.open("room")
    handles = [
        d.core.join(ORIGINS[0], 0, key, page, lambda h, e: None) for _ in range(limits.MAX_HANDLES_PER_OWNER)
    ]
    err = _refused(lambda: d.core.join(ORIGINS[0], 0, key, page, lambda h, e: None))
    assert "this page" in err.message
    d.core.join(ORIGINS[0], 0, key, object(), lambda h, e: None)  # another page: fine
    d.core.close_handle(handles[0])
    d.core.join(ORIGINS[0], 0, key, page, lambda h, e: None)  # room again


async def test_session_updates_not_yet_dispatched_reach_a_page_as_the_newest_only(net):
    """However many session values arrive in one turn (a peer setting its session data
    in a loop), a page gets one event with the newest; a message between two values
    keeps its place."""
    d = await net()
    a, b = d.tab(ORIGINS[0], 0, "room"), d.tab(ORIGINS[0], 1, "room")
    await until(lambda: b.peers() == {a.id})
    for i in range(1000):
        a.core.set_session_data(a.handle, b"%d" % i)
    await until(lambda: bool(b.of(SessionData)))
    await turns()
    assert [e.data for e in b.of(SessionData)] == [b"999"]
    a.core.set_session_data(a.handle, b"before")
    a.write(b.id, b"hello")
    a.core.set_session_data(a.handle, b"after")
    await until(lambda: len(b.of(SessionData)) == 3)
    tail = [e for e in b.events if isinstance(e, (SessionData, Messages))][-3:]
    assert [(type(e).__name__, getattr(e, "data", None) or list(e.payloads)) for e in tail] == [
        ("SessionData", b"before"),
        ("Messages", [b"hello"]),
        ("SessionData", b"after"),
    ]
    assert d.core._events._session_cells == {}
