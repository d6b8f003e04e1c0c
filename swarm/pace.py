"""How fast a page is told of connections, closes and session data, and what waits meanwhile.

A page (one document: a handle's ``owner``) hears at most
``limits.PAGE_EVENTS_PER_DEVICE_RATE`` ``connection`` + ``close`` events a second
about the presences of one device (a burst of ``limits.PAGE_EVENTS_PER_DEVICE_BURST``)
and at most ``limits.PAGE_EVENTS_PER_SECOND`` in any one second in all, and at most
``limits.PAGE_SESSION_BYTES_RATE`` bytes of ``session-data`` a second about one
device's presences: another device churning presences or replacing its session data
as fast as its budget lets it cannot flood a page.

An event that has to wait waits in a *lane*: one per handle and peer presence, which
from then on keeps that pair's events in order (a socket's messages after its
``Connection`` or a session value that waits, nothing after its ``SocketClosed``).
Lanes coalesce: a socket whose ``Connection`` is still waiting when it closes vanishes
with its messages (their bytes are given back through ``on_dropped``, so flow control
stays right), and consecutive ``SessionData`` or ``Drain`` of one socket keep only the
newest. So a lane holds at most the close of the socket the page knows, the
connection of the newest one and its newest session value: what waits is bounded by
the live membership, not by how much churn there was, and a page that is behind sees
the current state, not every step.

Pure: time is passed in; ``swarm/dispatch.py`` asks, delivers and wakes up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from swarm import limits
from swarm.budget import TokenBucket
from swarm.events import Connection, Drain, HandleEvent, Messages, SessionData, SocketClosed, SwarmClosed
from swarm.presence import Socket, SwarmHandle

#: A page's events wait at least this long between two releases (batches them).
MIN_WAKE = 0.02

LOCAL = b""  # the device key of sockets between presences of this device

Deliver = Callable[[SwarmHandle, HandleEvent], None]
Dropped = Callable[[SwarmHandle, Socket, int], None]


MEMBERS = "members"  # connections and closes: counted one each
SESSION = "session"  # session data: counted in bytes

#: The rate a page hears a device by: (device key, MEMBERS or SESSION)
Rate = tuple[bytes, str]


def rate_of(event: HandleEvent) -> str | None:
    """Which of a page's rates ``event`` counts against (None: none)."""
    kind = type(event)
    if kind is Connection or kind is SocketClosed:
        return MEMBERS
    if kind is SessionData:
        return SESSION
    return None


def paced(event: HandleEvent) -> bool:
    """Whether ``event`` counts against a page's rate: a peer socket's connection, close
    or session data."""
    return rate_of(event) is not None


def cost_of(event: HandleEvent) -> int:
    """What ``event`` takes from its rate's bucket."""
    if type(event) is SessionData:
        return max(limits.PAGE_SESSION_MIN_COST, len(event.data or b""))
    return 1


def rate_key(event: HandleEvent) -> Rate:
    """The rate ``event`` (a paced one) waits for: its device's, of its kind."""
    kind = rate_of(event)
    assert kind is not None, event
    return (device_of(event.socket), kind)  # type: ignore[union-attr]


def device_of(socket: Socket) -> bytes:
    link = socket.link
    return link.remote_key if link is not None else LOCAL


class Lane:
    """The events of one handle about one peer presence that wait, in order."""

    __slots__ = ("events", "handle", "key")

    def __init__(self, handle: SwarmHandle, key: tuple[int, bytes]) -> None:
        self.handle = handle
        self.key = key
        self.events: deque[HandleEvent] = deque()

    def add(self, event: HandleEvent, on_dropped: Dropped) -> None:
        """Queue ``event``, coalescing it with what waits."""
        events = self.events
        if type(event) is SocketClosed:
            if self.cancel(event.socket, on_dropped):
                return
        elif type(event) in (SessionData, Drain) and events:
            last = events[-1]
            if type(last) is type(event) and getattr(last, "socket", None) is getattr(event, "socket", None):
                events[-1] = event  # not delivered yet: only the newest goes
                return
        events.append(event)

    def cancel(self, socket: Socket, on_dropped: Dropped) -> bool:
        """``socket`` closed: if its ``Connection`` waits here, the page never heard of
        it, and it vanishes with everything it carried (True)."""
        if not any(type(e) is Connection and e.socket is socket for e in self.events):
            return False
        kept: deque[HandleEvent] = deque()
        for e in self.events:
            if getattr(e, "socket", None) is socket:
                if type(e) is Messages:
                    on_dropped(self.handle, socket, e.size)
            else:
                kept.append(e)
        self.events = kept
        return True


class _Window:
    """At most ``limit`` events in any ``span`` seconds."""

    __slots__ = ("_counts", "_sum", "limit", "span")

    def __init__(self, limit: int, span: float = 1.0) -> None:
        self.limit = limit
        self.span = span
        self._counts: deque[list[float]] = deque()  # [time, count]
        self._sum = 0

    def room(self, now: float) -> bool:
        counts = self._counts
        while counts and counts[0][0] <= now - self.span:
            self._sum -= int(counts.popleft()[1])
        return self._sum < self.limit

    def add(self, now: float) -> None:
        counts = self._counts
        if counts and counts[-1][0] == now:
            counts[-1][1] += 1
        else:
            counts.append([now, 1])
        self._sum += 1

    def wait(self, now: float) -> float:
        """Seconds until there is room."""
        if self.room(now):
            return 0.0
        return self._counts[0][0] + self.span - now

    def empty(self, now: float) -> bool:
        self.room(now)
        return not self._counts


class _Page:
    """One page's rates, and its lanes waiting for them, by device and kind."""

    __slots__ = ("buckets", "total", "waiting")

    def __init__(self) -> None:
        self.total = _Window(limits.PAGE_EVENTS_PER_SECOND)
        self.buckets: dict[Rate, TokenBucket] = {}
        #: rate -> the lanes whose next event waits for that rate, oldest first
        self.waiting: dict[Rate, dict[tuple[int, bytes], Lane]] = {}

    def _bucket(self, rate: Rate) -> TokenBucket:
        bucket = self.buckets.get(rate)
        if bucket is None:
            if rate[1] == SESSION:
                bucket = TokenBucket(limits.PAGE_SESSION_BYTES_BURST, limits.PAGE_SESSION_BYTES_RATE)
            else:
                bucket = TokenBucket(limits.PAGE_EVENTS_PER_DEVICE_BURST, limits.PAGE_EVENTS_PER_DEVICE_RATE)
            self.buckets[rate] = bucket
        return bucket

    def take(self, rate: Rate, cost: int, now: float) -> bool:
        """One more event of ``rate`` costing ``cost`` now, if the rates allow it."""
        bucket = self._bucket(rate)
        if rate[1] == SESSION:
            return bucket.take(cost, now)
        if not self.total.room(now) or not bucket.take(cost, now):
            return False
        self.total.add(now)
        return True

    def wait(self, now: float) -> float:
        """Seconds until some lane of this page may go on."""
        waits = []
        for rate, lanes in self.waiting.items():
            first = next(iter(lanes.values())).events[0]
            wait = self.buckets[rate].wait(cost_of(first), now)
            waits.append(wait if rate[1] == SESSION else max(wait, self.total.wait(now)))
        return min(waits)

    def idle(self, now: float) -> bool:
        """Nothing waits and every rate is back to full: the page can be forgotten."""
        if self.waiting or not self.total.empty(now):
            return False
        return all(b.full(now) for b in self.buckets.values())


class Pacer:
    """Every page's rates and lanes (see the module's docstring)."""

    def __init__(self, on_dropped: Dropped) -> None:
        self.on_dropped = on_dropped
        #: (handle id, peer id) -> its lane, while one waits
        self.lanes: dict[tuple[int, bytes], Lane] = {}
        self._pages: dict[object, _Page] = {}

    def admit(self, handle: SwarmHandle, event: HandleEvent, now: float) -> bool:
        """True: deliver ``event`` now. False: it waits in a lane (or vanished there)."""
        if type(event) is SwarmClosed:
            return True
        socket: Socket = event.socket  # type: ignore[union-attr]
        key = (handle.id, socket.peer_id)
        lane = self.lanes.get(key)
        if lane is not None:
            lane.add(event, self.on_dropped)
            if not lane.events:
                self._drop(lane)
            return False
        kind = rate_of(event)
        if kind is None:
            return True
        page = self._page(handle.owner)
        rate = (device_of(socket), kind)
        if page.take(rate, cost_of(event), now):
            return True
        lane = self.lanes[key] = Lane(handle, key)
        lane.events.append(event)
        page.waiting.setdefault(rate, {})[key] = lane
        return False

    def cancel(self, handle: SwarmHandle, socket: Socket) -> bool:
        """``socket`` closed: True if its ``Connection`` was waiting, which then vanished
        with what followed it (the close is not delivered either)."""
        lane = self.lanes.get((handle.id, socket.peer_id))
        if lane is None or not lane.cancel(socket, self.on_dropped):
            return False
        if not lane.events:
            self._drop(lane)
        return True

    def forget(self, handle: SwarmHandle) -> None:
        """``handle`` closed: what waits for it is dropped (its page hears only its
        ``SwarmClosed``; flow control forgot it already)."""
        for lane in [lane for lane in self.lanes.values() if lane.handle is handle]:
            self._drop(lane)

    def release(self, now: float, deliver: Deliver) -> None:
        """Deliver what the rates allow now, lane by lane, one device after the other."""
        for owner, page in list(self._pages.items()):
            if page.waiting:
                self._release(page, now, deliver)
            if page.idle(now):
                del self._pages[owner]

    def wait(self, now: float) -> float | None:
        """Seconds until some lane may go on (None: nothing waits)."""
        waits = [page.wait(now) for page in self._pages.values() if page.waiting]
        return max(MIN_WAKE, min(waits)) if waits else None

    # --- internals ---------------------------------------------------------------------------

    def _page(self, owner: object) -> _Page:
        page = self._pages.get(owner)
        if page is None:
            page = self._pages[owner] = _Page()
        return page

    def _release(self, page: _Page, now: float, deliver: Deliver) -> None:
        progress = True
        while progress and page.waiting:
            progress = False
            for rate in list(page.waiting):  # one event per rate per round: fair
                lanes = page.waiting[rate]
                lane = next(iter(lanes.values()))
                if lane.handle.closed:
                    self._drop(lane)
                    progress = True
                    continue
                if not page.take(rate, cost_of(lane.events[0]), now):
                    continue
                del lanes[lane.key]
                if not lanes:
                    del page.waiting[rate]
                self._drain(page, lane, deliver)
                progress = True

    def _drain(self, page: _Page, lane: Lane, deliver: Deliver) -> None:
        """Deliver the lane's first event (its rate was taken) and what follows it up to
        the next connection, close or session value; the lane waits again for that one
        (for its own rate), or is done."""
        events, handle = lane.events, lane.handle
        deliver(handle, events.popleft())
        while events and not paced(events[0]):
            deliver(handle, events.popleft())
        if not events:
            del self.lanes[lane.key]
            return
        page.waiting.setdefault(rate_key(events[0]), {})[lane.key] = lane

    def _drop(self, lane: Lane) -> None:
        self.lanes.pop(lane.key, None)
        page = self._pages.get(lane.handle.owner)
        if page is None:
            return
        for rate, lanes in list(page.waiting.items()):
            if lanes.pop(lane.key, None) is not None and not lanes:
                del page.waiting[rate]
