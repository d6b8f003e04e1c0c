"""docs/PROTOCOL.md "Budgets", as one side of a link keeps them: bytes in, bytes out, and
the time passed in by hand. (The core's side of them, pausing a transport and refusing
a device, is in test_budgets_core.py.)"""

from __future__ import annotations

import pytest

from swarm import limits
from swarm.budget import LinkBudget, NewDevices, Refusals, SharedPace, TokenBucket
from swarm.framing import encode_frame
from swarm.protocol import (
    Frame,
    LinkProtocol,
    LinkState,
    PeerJoined,
    PeerLeft,
    PeerSessionData,
    ReadingPaused,
)
from swarm.topics import open_topic
from tests.swarm.protocol_helpers import Key, frame, fresh
from tests.swarm.test_protocol_rules import closed, frames, proof

MEMBERSHIP, SESSION = LinkBudget.MEMBERSHIP, LinkBudget.SESSION
JOIN_LEAVE = frame(Frame.JOIN, 0, 0, None) + frame(Frame.LEAVE, 0, 0)


def spending(tokens: int) -> bytes:
    """Frames that spend ``tokens`` membership tokens: JOIN / LEAVE of the joined peer."""
    return JOIN_LEAVE * (tokens // 2) + frame(Frame.JOIN, 0, 0, None) * (tokens % 2)


def resumes(budget: str, tokens_left: float, now: float = 0.0) -> float:
    """When a side reads on after ``budget`` ran out with ``tokens_left``: once it holds
    BUDGET_RESUME seconds of its refill."""
    rate = limits.MEMBERSHIP_RATE if budget == MEMBERSHIP else limits.SESSION_RATE
    return pytest.approx(now + (rate * limits.BUDGET_RESUME - tokens_left) / rate)


def joined_peer(
    now: float = 0.0, paced: bool = False, all_links: SharedPace | None = None
) -> tuple[LinkProtocol, Key]:
    """An open link whose peer shares a topic with it and proved one presence (5 tokens:
    a TOPIC and a PRESENCE), and nothing pending. ``paced``: it reads membership frames
    at ``limits.MEMBERSHIP_PACE`` at most, as a core's links do (the budgets' tests read
    as fast as frames come, to count their effect at the instant they were sent), and
    within ``all_links``, the pace its core's links share."""
    p = fresh(True, paced=paced, all_links=all_links)
    p.add_topic(open_topic("room"))
    tag = frames(p.data_to_send())[0][2]
    key = Key()
    p.receive_data(frame(Frame.TOPIC, 0, tag) + frame(Frame.PRESENCE, 0, key.id, proof(key, p)), now)
    assert p.events_received() == [] and p.state is LinkState.OPEN
    return p, key


def acted(events: list) -> int:
    """How many JOIN / LEAVE / SESSION frames the side acted on."""
    return sum(isinstance(e, PeerJoined | PeerLeft | PeerSessionData) for e in events)


def paused(events: list) -> list[ReadingPaused]:
    return [e for e in events if isinstance(e, ReadingPaused)]


# --- what a well-behaved device does never touches the budgets -----------------------------


def test_a_peer_that_announces_a_whole_state_and_withdraws_it_at_once_is_never_paused():
    p = fresh(True)
    shared = 16
    for i in range(shared):
        p.add_topic(open_topic(f"room {i}"))
    tags = [f[2] for f in frames(p.data_to_send())]
    keys = [Key() for _ in range(limits.MAX_PRESENCES_PER_LINK)]
    per_topic = limits.MAX_JOINS_PER_LINK // shared  # every presence in 16 topics: 16,384 joins
    state = b"".join(
        frame(Frame.TOPIC, t, tags[t] if t < shared else t.to_bytes(32, "big"))
        for t in range(limits.MAX_TOPICS_PER_LINK)
    )
    state += b"".join(frame(Frame.PRESENCE, n, k.id, proof(k, p)) for n, k in enumerate(keys))
    state += b"".join(frame(Frame.JOIN, t, n, None) for t in range(shared) for n in range(per_topic))
    withdrawn = b"".join(frame(Frame.LEAVE, t, n) for t in range(shared) for n in range(per_topic))
    withdrawn += b"".join(frame(Frame.UNPRESENCE, n) for n in range(len(keys)))
    withdrawn += b"".join(frame(Frame.UNTOPIC, t) for t in range(limits.MAX_TOPICS_PER_LINK))
    p.receive_data(state + withdrawn, 0.0)
    events = p.events_received()
    assert p.state is LinkState.OPEN and paused(events) == []
    assert acted(events) == 2 * limits.MAX_JOINS_PER_LINK
    assert p.data_to_send() == b""


# --- membership: one bucket for TOPIC, UNTOPIC, PRESENCE, UNPRESENCE, JOIN, LEAVE ----------


def test_a_peer_over_its_membership_budget_is_not_read_until_it_refilled_then_cut_if_it_goes_on():
    p, _ = joined_peer()
    left = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST
    burst = JOIN_LEAVE * (left // 2 + 100)
    p.receive_data(burst, 0.0)
    events = p.events_received()
    assert acted(events) == left  # one token a frame, up to the last one
    resume = limits.BUDGET_RESUME  # the bucket is empty
    assert paused(events) == [ReadingPaused(MEMBERSHIP, resumes(MEMBERSHIP, 0))]
    assert p.reading_paused and p.state is LinkState.OPEN
    assert p.data_to_send() == b""  # no GOODBYE: the peer is only read later
    # what comes meanwhile waits too
    p.receive_data(JOIN_LEAVE * 200, 1.0)
    assert p.events_received() == []
    # (an odd number of tokens was left: the last one read was a JOIN)
    assert p.buffered == (100 + 200) * len(JOIN_LEAVE) - len(frame(Frame.JOIN, 0, 0, None))
    # too early: nothing is read, and that is not running out again
    p.resume_reading(1.0)
    assert p.events_received() == [ReadingPaused(MEMBERSHIP, resumes(MEMBERSHIP, 0))]
    assert p.state is LinkState.OPEN
    # refilled: it reads what waited (BUDGET_RESUME seconds of refill), and the peer, still
    # flooding, runs out again within BUDGET_REPEAT seconds: the link is closed
    p.resume_reading(resume)
    events = p.events_received()
    assert acted(events) == limits.MEMBERSHIP_RATE * limits.BUDGET_RESUME
    closed(p, "ERR_RATE_LIMIT", "over its membership budget twice within 10 s: at most 64", events)


def test_running_out_again_later_than_the_repeat_window_only_pauses_again():
    p, _ = joined_peer()
    left = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST
    p.receive_data(JOIN_LEAVE * (left // 2 + 5), 0.0)
    assert paused(p.events_received())
    p.resume_reading(limits.BUDGET_RESUME)  # the 9 frames that waited
    assert acted(p.events_received()) == 9 and not p.reading_paused
    later = limits.BUDGET_REPEAT + 1
    p.receive_data(JOIN_LEAVE * limits.MEMBERSHIP_BUDGET, later)
    events = p.events_received()
    assert paused(events) and p.state is LinkState.OPEN
    assert p.data_to_send() == b""


@pytest.mark.parametrize(
    ("tokens_left", "proven"), [(limits.PRESENCE_COST, True), (limits.PRESENCE_COST - 1, False)]
)
def test_a_presence_costs_more_than_other_membership_frames(tokens_left, proven):
    p, first = joined_peer()
    spend = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST - tokens_left
    p.receive_data(spending(spend), 0.0)
    assert acted(p.events_received()) == spend and not p.reading_paused
    other = Key()
    p.receive_data(frame(Frame.PRESENCE, 1, other.id, proof(other, p)) + frame(Frame.JOIN, 0, 1, None), 0.0)
    events = p.events_received()
    if proven:
        # its JOIN then needs a token the bucket no longer has
        assert paused(events) == [ReadingPaused(MEMBERSHIP, resumes(MEMBERSHIP, 0))]
        assert p._peer_id_to_pnum == {first.id: 0, other.id: 1}
    else:
        assert paused(events) == [ReadingPaused(MEMBERSHIP, resumes(MEMBERSHIP, tokens_left))]
        assert other.id not in p._peer_id_to_pnum
    assert other.id not in p.peers_in(open_topic("room"))


def test_the_budget_refills_at_its_rate():
    p, _ = joined_peer()
    left = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST
    p.receive_data(JOIN_LEAVE * (left // 2), 0.0)  # every token but one
    assert acted(p.events_received()) == left - 1 and not p.reading_paused
    # 10 s later: 640 more tokens, so 641 frames are read and the next one waits
    p.receive_data(JOIN_LEAVE * 400, 10.0)
    events = p.events_received()
    assert acted(events) == 1 + 10 * limits.MEMBERSHIP_RATE
    assert len(paused(events)) == 1


# --- the pace: how fast a side reads membership frames (its own choice, not a budget) ------


def read_at_pace(p: LinkProtocol, now: float) -> tuple[list, float, list[tuple[float, int]]]:
    """What the core does with a paced link: read on at each paced ``ReadingPaused``'s
    time, until reading stops for another reason (a budget) or nothing waits. Returns
    the events (the paced pauses left out), the time reached, and after each read the
    time and the JOIN/LEAVE/SESSION frames acted on since ``now``."""
    events: list = []
    steps: list[tuple[float, int]] = []
    while True:
        new = p.events_received()
        events += [e for e in new if not (isinstance(e, ReadingPaused) and e.paced)]
        steps.append((now, acted(events)))
        wait = [e for e in new if isinstance(e, ReadingPaused) and e.paced]
        if not wait or p.state is LinkState.CLOSED:
            return events, now, steps
        now = wait[-1].until
        p.resume_reading(now)


def test_a_flood_within_its_budget_is_read_at_the_pace_never_faster_and_never_cut():
    p, _ = joined_peer(paced=True)  # (its TOPIC and PRESENCE took 5 of the pace's burst)
    flood = 3 * limits.MEMBERSHIP_PACE
    p.receive_data(JOIN_LEAVE * (flood // 2), 0.0)
    first = p.events_received()
    assert acted(first) == limits.MEMBERSHIP_PACE_BURST - 5
    [wait] = paused(first)
    assert wait.paced and wait.until == pytest.approx(limits.PACE_RESUME)
    # too early (the held frame's token not there yet): another wait, nothing read, and
    # not a budget running out
    p.resume_reading(0.1 / limits.MEMBERSHIP_PACE)
    [again] = p.events_received()
    assert again.paced and again.until == pytest.approx(wait.until)
    p.resume_reading(wait.until)
    events, end, steps = read_at_pace(p, wait.until)
    assert acted(events) == flood - acted(first)
    for t, n in steps:  # never ahead of the pace
        assert acted(first) + n <= limits.MEMBERSHIP_PACE_BURST + limits.MEMBERSHIP_PACE * t - 5 + 1
    assert end == pytest.approx((flood + 5 - limits.MEMBERSHIP_PACE_BURST) / limits.MEMBERSHIP_PACE, rel=0.02)
    # read to the end within its budget: never paused for it, never closed
    assert paused(events) == [] and p.budget.pauses == 0
    assert p.state is LinkState.OPEN and p.data_to_send() == b""


def test_a_whole_state_announced_and_withdrawn_at_once_is_read_at_the_pace_and_never_cut():
    p = fresh(True, paced=True)
    p.add_topic(open_topic("room"))
    tag = frames(p.data_to_send())[0][2]
    keys = [Key() for _ in range(limits.MAX_PRESENCES_PER_LINK)]
    state = frame(Frame.TOPIC, 0, tag)
    state += b"".join(frame(Frame.PRESENCE, n, k.id, proof(k, p)) for n, k in enumerate(keys))
    state += b"".join(frame(Frame.JOIN, 0, n, None) for n in range(len(keys)))
    withdrawn = b"".join(frame(Frame.LEAVE, 0, n) for n in range(len(keys)))
    withdrawn += b"".join(frame(Frame.UNPRESENCE, n) for n in range(len(keys)))
    p.receive_data(state + withdrawn, 0.0)
    events, end, _ = read_at_pace(p, 0.0)
    assert acted(events) == 2 * len(keys) and paused(events) == []
    tokens = 1 + len(keys) * (limits.PRESENCE_COST + 3)
    assert end == pytest.approx((tokens - limits.MEMBERSHIP_PACE_BURST) / limits.MEMBERSHIP_PACE, rel=0.02)
    assert p.state is LinkState.OPEN and p.data_to_send() == b""


def test_a_paced_flood_over_its_budget_is_paused_for_it_then_cut_as_an_unpaced_one():
    p, _ = joined_peer(paced=True)
    p.receive_data(JOIN_LEAVE * limits.MEMBERSHIP_BUDGET, 0.0)
    events, now, _ = read_at_pace(p, 0.0)
    [ran_out] = paused(events)  # its budget (refilled meanwhile at its rate) ran out
    assert not ran_out.paced and p.reading_paused and p.state is LinkState.OPEN
    assert now > (limits.MEMBERSHIP_BUDGET - limits.MEMBERSHIP_PACE_BURST) / limits.MEMBERSHIP_PACE
    p.resume_reading(ran_out.until)
    events, _, _ = read_at_pace(p, ran_out.until)
    closed(p, "ERR_RATE_LIMIT", "over its membership budget twice within 10 s", events)


def test_links_share_a_pace_that_any_takes_while_none_waits_then_take_in_turn():
    pace = SharedPace()
    a, b, c = object(), object(), object()
    turn = pace.turn_tokens
    # while no link waits, any takes what the pace holds
    assert pace.ready(a, limits.MEMBERSHIP_PACE_ALL_BURST, 0.0)
    pace.take(a, limits.MEMBERSHIP_PACE_ALL_BURST)
    # short: a and then b wait in line, a first
    assert not pace.ready(a, 1, 0.0) and not pace.ready(b, 1, 0.0) and len(pace) == 2
    refilled = pace.wait(a, 1, 0.0)
    assert refilled == pytest.approx(limits.PACE_RESUME)
    # c comes when the pace holds a turn again: it is behind them, and b is behind a
    assert not pace.ready(c, 1, refilled) and not pace.ready(b, 1, refilled)
    assert pace.wait(c, 1, refilled) == limits.PACE_RESUME  # another's turn: a turn's length
    # a's turn: up to a turn's tokens, then it waits behind b and c
    assert pace.ready(a, turn, refilled)
    pace.take(a, turn)
    pace.bucket.tokens = limits.MEMBERSHIP_PACE_ALL_BURST  # (so that only the turn counts)
    assert not pace.ready(a, 1, refilled)  # its turn is over: behind b and c
    assert pace.ready(b, 1, refilled)  # b's turn
    pace.take(b, 1)
    assert pace.ready(b, 1, refilled)
    pace.take(b, 1)
    # c, first in line now, takes the turn when it asks (b may not come back for it)
    assert pace.ready(c, 1, refilled)
    assert not pace.ready(b, 1, refilled) and len(pace) == 2  # behind a again
    pace.forget(a)  # (a closed) b is first
    assert pace.ready(b, 1, refilled) and len(pace) == 0


def test_a_link_served_in_its_turn_leaves_the_line_so_it_keeps_no_one_waiting():
    """A link turned away in its own turn (the pace ran dry) waits in line; when it
    comes back and its turn serves it, it is out of the line: if it then has nothing
    more to read, the next link is not kept waiting behind a place nobody holds."""
    pace = SharedPace()
    a, b = object(), object()
    pace.take(a, limits.MEMBERSHIP_PACE_ALL_BURST)
    assert not pace.ready(a, 1, 0.0) and not pace.ready(b, 1, 0.0)  # a, then b, in line
    refilled = pace.wait(a, 1, 0.0)
    assert pace.ready(a, 1, refilled)  # a's turn
    pace.take(a, 1)
    pace.bucket.tokens = 0.0
    assert not pace.ready(a, 1, refilled)  # dry within its turn: a waits behind b
    later = refilled + limits.PACE_RESUME
    assert pace.ready(a, 1, later)  # still its turn: served, and out of the line
    pace.take(a, 1)
    assert len(pace) == 1  # only b waits; a has read everything it had
    assert pace.ready(b, 1, later)


def test_a_link_that_does_not_come_back_for_its_turn_loses_its_place():
    pace = SharedPace()
    a, b = object(), object()
    pace.take(a, limits.MEMBERSHIP_PACE_ALL_BURST)
    assert not pace.ready(a, 1, 0.0) and not pace.ready(b, 1, 0.0)
    later = limits.PACE_TURN_KEPT + 0.001
    assert not pace.ready(b, 1, later - 0.002)  # b asked again; a did not: a loses its place
    assert pace.ready(b, 1, later) and len(pace) == 0


def flood_in_turns(links: list[tuple[LinkProtocol, float, bytes]], until: float) -> list[list[tuple[float, int]]]:
    """Links of one core sharing its pace, each sent ``bytes`` at its time, read as the
    core reads them: at each paced ``ReadingPaused``'s time, the earliest first, and
    where two are due at once the one earlier in ``links`` (so the first links would
    read first every time if nothing took turns). Returns, for each link, after each
    read, the time and the JOIN/LEAVE/SESSION frames it acted on so far."""
    due: list[float | None] = [None] * len(links)
    sent = [False] * len(links)
    done = [0] * len(links)
    steps: list[list[tuple[float, int]]] = [[] for _ in links]

    def read(i: int, now: float) -> None:
        new = links[i][0].events_received()
        done[i] += acted(new)
        steps[i].append((now, done[i]))
        waits = [e for e in new if isinstance(e, ReadingPaused)]
        assert all(e.paced for e in waits), "only the pace holds them (each within its budget)"
        due[i] = waits[-1].until if waits else None

    while True:
        times = [(t, i) for i, t in enumerate(due) if t is not None]
        times += [(links[i][1], i) for i in range(len(links)) if not sent[i]]
        if not times:
            return steps
        now, i = min(times)
        if now > until:
            return steps
        if not sent[i] and links[i][1] == now:
            sent[i] = True
            links[i][0].receive_data(links[i][2], now)
        else:
            links[i][0].resume_reading(now)
        read(i, now)


def test_devices_linking_under_many_keys_share_one_pace_and_each_is_read_in_turn():
    pace = SharedPace()
    attackers = [joined_peer(paced=True, all_links=pace)[0] for _ in range(4)]
    well_behaved = joined_peer(paced=True, all_links=pace)[0]  # (all 5 took 25 tokens)
    flood = JOIN_LEAVE * (2 * limits.MEMBERSHIP_PACE)  # 4 s of one link's pace each
    a_few = JOIN_LEAVE * 5
    comes_at = 0.5
    links = [(p, 0.0, flood) for p in attackers] + [(well_behaved, comes_at, a_few)]
    steps = flood_in_turns(links, until=2.0)
    # all together never read faster than the shared pace, each never faster than its own
    moments = sorted({t for s in steps for t, _ in s})
    for t in moments:
        so_far = [max((n for u, n in s if u <= t), default=0) for s in steps]
        assert sum(so_far) + 25 <= limits.MEMBERSHIP_PACE_ALL_BURST + limits.MEMBERSHIP_PACE_ALL * t + 1
        for n in so_far:
            assert n + 5 <= limits.MEMBERSHIP_PACE_BURST + limits.MEMBERSHIP_PACE * t + 1
    # every attacker link was read in turn: none starved behind the others
    at_end = [s[-1][1] for s in steps[:4]]
    share = (limits.MEMBERSHIP_PACE_ALL * 2.0) / 5
    assert min(at_end) > share / 2, at_end
    # the well-behaved device's few frames were read within a few turns of coming
    [(read_by, n)] = [(t, n) for t, n in steps[4] if n == 10][:1]
    assert read_by - comes_at <= len(links) * 2 * limits.PACE_RESUME
    # and read fully, no link paused for its budget or cut
    assert all(p.state is LinkState.OPEN and p.budget.pauses == 0 for p, _, _ in links)


# --- SESSION: a bucket of bytes ----------------------------------------------------------------


def test_session_frames_are_counted_in_bytes_with_a_minimum_per_frame():
    p, _ = joined_peer()
    p.receive_data(frame(Frame.JOIN, 0, 0, None), 0.0)
    p.events_received()
    big = frame(Frame.SESSION, 0, 0, b"\x00" * limits.MAX_SESSION_DATA)
    fits = limits.SESSION_BUDGET // len(big)
    p.receive_data(big * (fits + 3), 0.0)
    events = p.events_received()
    assert acted(events) == fits
    assert paused(events) == [
        ReadingPaused(SESSION, resumes(SESSION, limits.SESSION_BUDGET - fits * len(big)))
    ]
    assert p.data_to_send() == b""
    # a nil session frame (9 bytes) costs SESSION_MIN_COST
    q, _ = joined_peer()
    q.receive_data(frame(Frame.JOIN, 0, 0, None), 0.0)
    q.events_received()
    small = frame(Frame.SESSION, 0, 0, None)
    q.receive_data(small * (limits.SESSION_BUDGET // limits.SESSION_MIN_COST + 10), 0.0)
    events = q.events_received()
    assert acted(events) == limits.SESSION_BUDGET // limits.SESSION_MIN_COST
    assert paused(events)


def test_session_and_membership_budgets_are_apart():
    p, _ = joined_peer()
    p.receive_data(frame(Frame.JOIN, 0, 0, None), 0.0)
    small = frame(Frame.SESSION, 0, 0, None)
    p.receive_data(small * (limits.SESSION_BUDGET // limits.SESSION_MIN_COST), 0.0)
    assert not p.reading_paused
    left = limits.MEMBERSHIP_BUDGET - 1 - limits.PRESENCE_COST - 1
    p.receive_data(frame(Frame.LEAVE, 0, 0) + JOIN_LEAVE * ((left - 1) // 2), 0.0)
    assert not p.reading_paused and p.state is LinkState.OPEN


def test_messages_credits_and_closes_are_not_budgeted():
    p, key = joined_peer()
    p.join(open_topic("room"), Key().id, Key().sign, None)
    p.data_to_send()
    p.receive_data(frame(Frame.JOIN, 0, 0, None), 0.0)
    p.events_received()
    msg = encode_frame([Frame.MESSAGE, 0, 0, 0, b"x"])
    p.receive_data(msg * (limits.MEMBERSHIP_BUDGET + 10), 0.0)
    assert not p.reading_paused and p.state is LinkState.OPEN
    assert len(p.events_received()) == limits.MEMBERSHIP_BUDGET + 10


# --- the parts on their own ----------------------------------------------------------------------


def test_a_token_bucket_starts_full_refills_at_its_rate_and_never_overflows():
    b = TokenBucket(10, 2)
    assert b.take(10, 100.0) and not b.take(1, 100.0)
    assert b.wait(4, 100.0) == pytest.approx(2.0)
    assert b.take(4, 102.0) and not b.take(1, 102.0)
    assert b.level(1000.0) == 10 and b.full(1000.0)


def test_a_device_cut_for_its_rate_is_refused_longer_each_time_up_to_the_cap():
    r = Refusals()
    key = b"\x01" * 32
    assert r.refused_for(key, 0.0) == 0
    assert r.cut(key, 0.0) == limits.REFUSE_FIRST
    assert r.refused_for(key, 10.0) == limits.REFUSE_FIRST - 10
    assert r.refused_for(key, limits.REFUSE_FIRST) == 0
    # cut again soon after it came back: twice as long, and so on up to REFUSE_MAX
    seconds, now = limits.REFUSE_FIRST, limits.REFUSE_FIRST + 5
    while seconds < limits.REFUSE_MAX:
        expected = min(limits.REFUSE_MAX, seconds * 2)
        seconds = r.cut(key, now)
        assert seconds == expected
        now += seconds + 5
    assert r.cut(key, now) == limits.REFUSE_MAX
    # long after its last refusal ended, a cut starts over
    now += limits.REFUSE_MAX + limits.REFUSE_MEMORY
    assert r.cut(key, now) == limits.REFUSE_FIRST


def test_refusals_remember_a_bounded_number_of_devices():
    r = Refusals(max_devices=8)
    for n in range(100):
        r.cut(n.to_bytes(32, "big"), float(n))
    assert len(r) == 8
    assert r.refused_for((99).to_bytes(32, "big"), 99.0) == limits.REFUSE_FIRST


def test_new_devices_are_taken_at_a_bounded_rate_and_known_ones_always():
    d = NewDevices()
    keys = [n.to_bytes(32, "big") for n in range(limits.NEW_DEVICE_BURST + 1)]
    assert all(d.admit(k, 0.0) for k in keys[:-1])
    assert not d.admit(keys[-1], 0.0)
    assert d.admit(keys[0], 0.0)  # seen before
    assert d.admit(keys[-1], 1 / limits.NEW_DEVICE_RATE)
