"""Budgets: what another device may make this one do, per second.

Pure: no clock is read here, every method takes the time (``now``, in seconds of
any monotonic clock). The numbers are in ``swarm/limits.py``; docs/PROTOCOL.md
("Budgets") says what a peer must stay under.

* :class:`LinkBudget`: one link's token buckets for membership frames (TOPIC,
  UNTOPIC, PRESENCE, UNPRESENCE, JOIN, LEAVE) and SESSION bytes. The link
  protocol charges each frame before it acts on it; a bucket that runs out stops
  the link's reading until it has refilled a little, and one that runs out again
  soon after closes the link (``ERR_RATE_LIMIT``).
* :class:`SharedPace`: the pace at which all of a core's links together have their
  membership frames read, taken in turn.
* :class:`Refusals`: devices whose link was closed for its rate, refused for a
  while (longer for each repeat).
* :class:`NewDevices`: how fast links from device keys not seen before are taken
  (an attacker can make as many keys as it likes).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from swarm import limits


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time and timers for the budgets: an asyncio loop is one (tests give a fake)."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable: ...


class TokenBucket:
    """``capacity`` tokens at first, ``rate`` more a second, never above ``capacity``."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = float(capacity)
        self.stamp: float | None = None  # the time tokens was computed for

    def level(self, now: float) -> float:
        """The tokens there are at ``now``."""
        if self.stamp is None:
            self.stamp = now
        elif now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.tokens

    def take(self, cost: float, now: float) -> bool:
        """Take ``cost`` tokens if there are that many (to a rounding error)."""
        if self.level(now) >= cost - 1e-9:
            self.tokens -= cost
            return True
        return False

    def wait(self, amount: float, now: float) -> float:
        """Seconds from ``now`` until the bucket holds ``amount`` tokens (at most full)."""
        missing = min(amount, self.capacity) - self.level(now)
        return max(0.0, missing / self.rate)

    def full(self, now: float) -> bool:
        return self.level(now) >= self.capacity


class Verdict(enum.Enum):
    OK = "ok"  # act on the frame
    WAIT = "wait"  # within budget, but faster than this side reads them: keep it, read it soon
    PAUSE = "pause"  # keep it, stop reading until ``LinkBudget.resume_at``
    CUT = "cut"  # close the link (``ERR_RATE_LIMIT``)


class LinkBudget:
    """The budgets of what one peer sends on one link (docs/PROTOCOL.md, "Budgets")."""

    MEMBERSHIP = "membership"
    SESSION = "session"

    def __init__(self, *, paced: bool = False, all_links: SharedPace | None = None) -> None:
        """``paced``: membership frames are read at most ``limits.MEMBERSHIP_PACE`` a
        second (a burst of ``limits.MEMBERSHIP_PACE_BURST``), however much budget the peer
        has left, and, with ``all_links``, within the pace the core's links share; faster
        ones :attr:`Verdict.WAIT`. That is this side's choice (the core makes it: each
        frame costs the thread the pages share), not the peer's budget."""
        self.buckets = {
            self.MEMBERSHIP: TokenBucket(limits.MEMBERSHIP_BUDGET, limits.MEMBERSHIP_RATE),
            self.SESSION: TokenBucket(limits.SESSION_BUDGET, limits.SESSION_RATE),
        }
        #: The pace of this link's membership frames (None: read as they come).
        self.pace = TokenBucket(limits.MEMBERSHIP_PACE_BURST, limits.MEMBERSHIP_PACE) if paced else None
        self.all_links = all_links if paced else None
        #: When a bucket of this link last ran out, and which one.
        self.ran_out_at: float | None = None
        self.ran_out: str | None = None
        #: How often a bucket ran out (for the snapshot and logs).
        self.pauses = 0

    def _paced(self, budget: str) -> TokenBucket | None:
        return self.pace if budget == self.MEMBERSHIP else None

    def charge(self, budget: str, cost: float, now: float) -> Verdict:
        """Charge ``cost`` to ``budget`` for a frame about to be read at ``now``."""
        if not self.may_read(budget, cost, now):
            return Verdict.WAIT
        if self.buckets[budget].take(cost, now):
            pace = self._paced(budget)
            if pace is not None:
                pace.tokens -= cost
                if self.all_links is not None:
                    self.all_links.take(self, cost)
            return Verdict.OK
        last, self.ran_out_at, self.ran_out = self.ran_out_at, now, budget
        self.pauses += 1
        self.give_up_turn()  # paused for seconds (or cut): no turn at the shared pace meanwhile
        if last is not None and now - last < limits.BUDGET_REPEAT:
            return Verdict.CUT
        return Verdict.PAUSE

    def resume_at(self, budget: str, cost: float, now: float) -> float:
        """When reading may go on after ``budget`` ran out on a frame costing ``cost``:
        once the bucket holds that frame and ``limits.BUDGET_RESUME`` seconds of refill."""
        bucket = self.buckets[budget]
        want = max(cost, bucket.rate * limits.BUDGET_RESUME)
        return now + bucket.wait(want, now)

    def may_read(self, budget: str, cost: float, now: float) -> bool:
        """Whether the pace lets a frame costing ``cost`` be read at ``now`` (its own
        pace first; then the links' shared one, which takes note that it waits)."""
        pace = self._paced(budget)
        if pace is None:
            return True
        if pace.level(now) < cost - 1e-9:
            return False
        return self.all_links is None or self.all_links.ready(self, cost, now)

    def read_at(self, budget: str, cost: float, now: float) -> float:
        """When a frame that had to :attr:`Verdict.WAIT` may be read: once the pace
        holds it and ``limits.PACE_RESUME`` seconds of refill (one timer per batch of
        frames, not one per frame), and the shared pace has it or this link's turn."""
        pace = self._paced(budget)
        assert pace is not None, "only a paced budget waits"
        wait = pace.wait(max(cost, pace.rate * limits.PACE_RESUME), now)
        if self.all_links is not None:
            wait = max(wait, self.all_links.wait(self, cost, now))
        return now + wait

    def give_up_turn(self) -> None:
        """The link is closed, or paused for its budget: its place at the shared pace
        goes to the links behind it."""
        if self.all_links is not None:
            self.all_links.forget(self)

    @staticmethod
    def describe(budget: str) -> str:
        """The budget in words, for a GOODBYE's reason (fits its 256 bytes)."""
        if budget == LinkBudget.MEMBERSHIP:
            return (
                f"at most {limits.MEMBERSHIP_RATE} TOPIC/UNTOPIC/PRESENCE/UNPRESENCE/JOIN/LEAVE "
                f"frames a second (a PRESENCE counts {limits.PRESENCE_COST}), "
                f"a burst of {limits.MEMBERSHIP_BUDGET}"
            )
        return (
            f"at most {limits.SESSION_RATE // limits.KiB} KiB of SESSION frames a second "
            f"(each at least {limits.SESSION_MIN_COST // limits.KiB} KiB), "
            f"a burst of {limits.SESSION_BUDGET // limits.MiB} MiB"
        )


class SharedPace:
    """The pace at which all of a core's links together are read
    (``limits.MEMBERSHIP_PACE_ALL``), taken in turn.

    While it has tokens and no link waits, any link takes them. A link that finds it
    short waits in line; then the first in line to ask again has the next turn: it
    takes up to ``limits.PACE_RESUME`` seconds of refill while the others wait (a link
    that comes while another has its turn, or out of line, waits in line too; the
    first in line takes the turn when it asks, as the one who has it may not come back
    for the rest). So many links read
    no faster together than the pace, and none is kept waiting behind the others: a
    well-behaved device's few frames are read within a few turns, however many
    attacker links flood. A link that does not come back for its turn within
    ``limits.PACE_TURN_KEPT`` seconds loses its place (it was closed, or its own pace
    or budget holds it)."""

    def __init__(self) -> None:
        self.bucket = TokenBucket(limits.MEMBERSHIP_PACE_ALL_BURST, limits.MEMBERSHIP_PACE_ALL)
        self.turn_tokens = limits.MEMBERSHIP_PACE_ALL * limits.PACE_RESUME
        #: Links waiting, first in line first, each with when it last asked.
        self._line: dict[object, float] = {}
        self._turn: object | None = None  # whose turn it is
        self._turn_left = 0.0

    def __len__(self) -> int:
        """How many links wait in line."""
        return len(self._line)

    def ready(self, who: object, cost: float, now: float) -> bool:
        """Whether ``who`` may take ``cost`` at ``now``; if not, it waits in line."""
        self._expire(now)
        if self.bucket.level(now) >= cost - 1e-9:
            if not self._line:
                return True
            if self._turn is who and self._turn_left >= cost - 1e-9:
                self._line.pop(who, None)  # turned away earlier in its turn: served now
                return True
            if next(iter(self._line)) is who:
                del self._line[who]
                self._turn, self._turn_left = who, self.turn_tokens
                return True
        self._line[who] = now  # joins the line's end, or keeps its place
        return False

    def take(self, who: object, cost: float) -> None:
        """``who`` read a frame costing ``cost`` (after :meth:`ready` said it may)."""
        self.bucket.tokens -= cost
        if self._turn is who:
            self._turn_left -= cost

    def wait(self, who: object, cost: float, now: float) -> float:
        """Seconds until ``who``, which :meth:`ready` just turned away, asks again: until
        the pace holds a turn's tokens, or (another link's turn) a turn's length."""
        if self.bucket.level(now) < cost - 1e-9:
            return self.bucket.wait(max(cost, self.turn_tokens), now)
        return limits.PACE_RESUME

    def forget(self, who: object) -> None:
        """``who`` gives up its place in line and its turn."""
        self._line.pop(who, None)
        if self._turn is who:
            self._turn = None

    def _expire(self, now: float) -> None:
        while self._line:
            first, asked = next(iter(self._line.items()))
            if now - asked <= limits.PACE_TURN_KEPT:
                return
            del self._line[first]


class OwnChanges:
    """What this device's pages may make it send its peers (``limits.OWN_*``): the
    other side of the budgets, so that a page cannot get its device cut by its peers."""

    def __init__(self) -> None:
        self.membership = TokenBucket(limits.OWN_MEMBERSHIP_BUDGET, limits.OWN_MEMBERSHIP_RATE)
        self.session = TokenBucket(limits.OWN_SESSION_BUDGET, limits.OWN_SESSION_RATE)

    @staticmethod
    def membership_cost(new_topic: bool, new_presence: bool) -> int:
        """A new membership's frames on a link and its withdrawal's: JOIN and LEAVE (or
        UNTOPIC); TOPIC for a swarm new to the device; PRESENCE and UNPRESENCE for a
        presence new to it."""
        return 2 + (1 if new_topic else 0) + (limits.PRESENCE_COST + 1 if new_presence else 0)

    @staticmethod
    def session_cost(data: bytes | None) -> int:
        """A SESSION frame's bytes as a peer counts them (header at most 32 bytes)."""
        return max(limits.SESSION_MIN_COST, len(data or b"") + 32)


class Refusals:
    """Devices refused for a while because their link broke a budget.

    The first cut refuses the device for ``limits.REFUSE_FIRST`` seconds; a cut
    that comes less than ``limits.REFUSE_MEMORY`` seconds after the previous
    refusal ended doubles it, up to ``limits.REFUSE_MAX``. At most ``max_devices``
    are remembered (those whose refusal ended longest ago are forgotten first).
    """

    def __init__(self, max_devices: int = limits.SEEN_DEVICES) -> None:
        self.max_devices = max_devices
        self._until: dict[bytes, tuple[float, float]] = {}  # key -> (refused until, for how long)

    def __len__(self) -> int:
        return len(self._until)

    def cut(self, key: bytes, now: float) -> float:
        """``key``'s link was cut for its rate: refuse it from ``now``; returns for how long."""
        previous = self._until.pop(key, None)
        seconds = limits.REFUSE_FIRST
        if previous is not None and now - previous[0] < limits.REFUSE_MEMORY:
            seconds = min(limits.REFUSE_MAX, previous[1] * 2)
        self._until[key] = (now + seconds, seconds)
        if len(self._until) > self.max_devices:
            self._forget(now)
        return seconds

    def refused_for(self, key: bytes, now: float) -> float:
        """Seconds ``key`` is still refused (0: not refused)."""
        entry = self._until.get(key)
        return max(0.0, entry[0] - now) if entry is not None else 0.0

    def _forget(self, now: float) -> None:
        stale = [k for k, (until, _) in self._until.items() if now - until >= limits.REFUSE_MEMORY]
        for k in stale:
            del self._until[k]
        while len(self._until) > self.max_devices:
            oldest = min(self._until, key=lambda k: self._until[k][0])
            del self._until[oldest]


class NewDevices:
    """Links from device keys not seen lately: at most ``limits.NEW_DEVICE_RATE`` a
    second (a burst of ``limits.NEW_DEVICE_BURST``). The last
    ``limits.SEEN_DEVICES`` keys admitted are known and always admitted."""

    def __init__(self) -> None:
        self.bucket = TokenBucket(limits.NEW_DEVICE_BURST, limits.NEW_DEVICE_RATE)
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def admit(self, key: bytes, now: float) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        if not self.bucket.take(1, now):
            return False
        self._seen[key] = None
        if len(self._seen) > limits.SEEN_DEVICES:
            self._seen.popitem(last=False)
        return True
