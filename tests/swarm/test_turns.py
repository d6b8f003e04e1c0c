"""The core's scheduler: one loop callback per turn, slices round robin, deferred work in order."""

from __future__ import annotations

import asyncio
import logging

import pytest

from swarm import turns as turns_module
from swarm.turns import Turns


class Slices:
    """A source with ``n`` slices of work; records each slice in ``log``."""

    def __init__(self, name: str, n: int, log: list[str], then: object = None) -> None:
        self.name, self.left, self.log, self.then = name, n, log, then

    def run_slice(self) -> bool:
        self.left -= 1
        self.log.append(self.name)
        if callable(self.then):
            self.then()
        return self.left > 0


async def next_callback() -> None:
    """Until the loop has run the callbacks scheduled before this one (a turn is one)."""
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(done.set_result, None)
    await done


async def settle(t: Turns) -> None:
    """Until no turn is scheduled (a condition, with a hang guard)."""
    for _ in range(1000):
        await next_callback()
        if not t._scheduled:
            return
    raise AssertionError("turns never settled")


async def test_deferred_work_runs_after_the_call_in_order_in_one_turn() -> None:
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    seen: list[str] = []
    t.soon(lambda: seen.append("a"))
    t.soon(lambda: (seen.append("b"), t.soon(lambda: seen.append("c"))))
    assert seen == []  # never inside the call that deferred it
    await settle(t)
    assert seen == ["a", "b", "c"]
    assert t.turns == 1  # work deferred by deferred work ran in the same turn


async def test_end_of_turn_work_sees_everything_the_turn_deferred() -> None:
    """A page's flush (at_end) runs after the events the turn dispatched, even those
    deferred by deferred work, so they leave together in one batch."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    seen: list[str] = []
    t.soon(lambda: (seen.append("message"), t.at_end(lambda: seen.append("flush"))))
    t.soon(lambda: (seen.append("credit"), t.soon(lambda: seen.append("drain"))))
    await settle(t)
    assert seen == ["message", "credit", "drain", "flush"]
    assert t.turns == 1


async def test_late_work_runs_once_after_all_deferred_work_and_before_the_end() -> None:
    """The event dispatch (late) runs after the credits the turn deferred, and after
    what they deferred in turn: a message and the drain a credit caused go out in one
    pass; what the dispatch defers runs before the next late work, in the same turn."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    seen: list[str] = []

    def dispatch() -> None:
        seen.append("dispatch")
        t.soon(lambda: seen.append("credit for a dropped message"))
        t.late(lambda: seen.append("dispatch again"))

    t.late(dispatch)
    t.at_end(lambda: seen.append("flush"))
    t.soon(lambda: (seen.append("credit"), t.soon(lambda: seen.append("drain"))))
    assert seen == []
    await settle(t)
    assert seen == ["credit", "drain", "dispatch", "credit for a dropped message", "dispatch again", "flush"]
    assert t.turns == 1


async def test_after_work_runs_last_once_the_pages_batches_left() -> None:
    """The observers (after) run once the turn's flushes (at_end) are done, even flushes
    asked for by work the observers' scheduling came before; what they defer still runs
    in the same turn, in its phase."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    seen: list[str] = []
    t.after(lambda: (seen.append("observers"), t.soon(lambda: seen.append("deferred by them"))))
    t.soon(
        lambda: (
            seen.append("write"),
            t.late(lambda: (seen.append("dispatch"), t.at_end(lambda: seen.append("flush")))),
        )
    )
    await settle(t)
    assert seen == ["write", "dispatch", "flush", "observers", "deferred by them"]
    assert t.turns == 1


async def test_a_page_s_batch_leaves_before_the_observers_hear_of_it() -> None:
    """In the real core, a tab's write reaches the other tab's bridge (its flush) before
    the browser's observers are told the core changed."""
    from swarm.core import SwarmCore
    from swarm.topics import SwarmKey

    core = SwarmCore(grace=0.0)
    seen: list[str] = []
    try:
        a = core.join("https://a.example", 1, SwarmKey.open("after"), object(), lambda h, e: None)
        b = core.join(
            "https://b.example",
            2,
            SwarmKey.open("after"),
            object(),
            lambda h, e: type(e).__name__ == "Messages" and core.turns.at_end(lambda: seen.append("flush")),
        )
        await settle(core.turns)
        core.add_observer(lambda: seen.append("observers"))
        socket = next(s for s in a.sockets() if s.peer_id == b.presence.id)
        core.write(a, socket, b"hi")
        await settle(core.turns)
        assert seen == ["flush", "observers"]
    finally:
        await core.close()


async def test_a_busy_source_does_not_make_a_quiet_one_wait_behind_all_its_work() -> None:
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    busy, quiet = Slices("busy", 5, log), Slices("quiet", 1, log)
    t.ready(busy)
    t.ready(quiet)
    t.ready(busy)  # saying so twice gives no extra slice
    await settle(t)
    assert log == ["busy", "quiet", "busy", "busy", "busy", "busy"]
    assert t.turns == 5


async def test_inline_an_idle_core_runs_a_turn_at_once_and_a_busy_one_takes_turns() -> None:
    """What the core does with a page's batch (inline): at once when idle, one slice
    only; what is left takes turns round robin, and an idle source that says it is
    ready meanwhile has its turn at once, ahead of the turn scheduled for the busy one."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop, inline=True)
    log: list[str] = []
    busy, quiet = Slices("busy", 4, log), Slices("quiet", 1, log)
    t.ready(busy)
    assert log == ["busy"] and t.turns == 1  # inside ready(): one slice, no more
    t.ready(quiet)  # a turn is scheduled for busy: quiet goes ahead of it, at once
    assert log == ["busy", "quiet"] and t.turns == 2
    await settle(t)
    assert log == ["busy", "quiet", "busy", "busy", "busy"]
    t.soon(lambda: log.append("deferred"))
    t.ready(Slices("late", 1, log))  # deferred work already due runs in its turn, after it
    assert log[-2:] == ["late", "deferred"]


async def test_a_source_ahead_of_a_scheduled_turn_gets_its_deferred_work_done_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ping beside a flood whose next turn is scheduled: the ping's slice, the work it
    defers and its page's flush run at once; the flood's slice waits for its turn. Ready
    again right after, the ping is busy: it waits for the loop like any caller back to back."""
    monkeypatch.setattr(turns_module, "BUSY_GAP_S", 3600.0)  # "right after", however slow the test
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop, inline=True)
    log: list[str] = []
    flood = Slices("flood", 3, log, then=lambda: t.at_end(lambda: log.append("flood's flush")))
    ping = Slices("ping", 1, log, then=lambda: t.soon(lambda: t.at_end(lambda: log.append("ping's flush"))))
    t.ready(flood)
    assert log == ["flood", "flood's flush"]
    t.ready(ping)
    assert log[2:] == ["ping", "ping's flush"]  # not the flood's next slice
    ping.left = 1
    t.ready(ping)  # at once again: through the loop, with the flood's turn
    assert log[4:] == []
    await settle(t)
    # both busy now: round robin, in the order they were queued, then their flushes
    assert log[4:] == ["flood", "ping", "flood's flush", "ping's flush", "flood", "flood's flush"]


async def test_no_turn_ahead_for_a_source_already_waiting_or_while_work_is_due_or_in_a_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Going ahead is for a source that had nothing queued, while the core is not behind
    and not inside a turn: a source with work left waits for its scheduled turn; so does
    one that says it is ready from inside a turn, and one that comes when a turn left
    deferred work undone."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop, inline=True)
    log: list[str] = []
    monkeypatch.setattr(turns_module, "BUSY_GAP_S", 0.0)  # every source idle by the clock
    a, b = Slices("a", 3, log), Slices("b", 2, log)
    t.ready(a)
    t.ready(b)  # ahead of a's scheduled turn
    assert log == ["a", "b"]
    t.ready(b)  # b has work left, so it is waiting already: no second turn ahead
    t.ready(a)
    assert log == ["a", "b"]
    await settle(t)
    assert sorted(log) == ["a", "a", "a", "b", "b"]

    log.clear()
    late = Slices("late", 1, log)
    inside = Slices("inside", 1, log, then=lambda: t.ready(late))  # ready from inside a turn
    t.ready(inside)
    assert log == ["inside"]  # late waits for the next turn, not nested in this one
    await settle(t)
    assert log == ["inside", "late"]

    log.clear()
    monkeypatch.setattr(turns_module, "TURN_BUDGET_S", 0.0)  # every turn leaves work undone

    def then_a_page() -> None:  # between that turn and the next, which d2 is due in
        t.ready(Slices("new", 1, log))
        log.append("new is ready")

    t.soon(lambda: (log.append("d1"), loop.call_soon(then_a_page)))
    t.soon(lambda: log.append("d2"))  # d1 takes the whole budget: d2 waits
    await settle(t)
    assert log == ["d1", "new is ready", "d2", "new"]  # no turn ahead of the work due


async def test_a_source_ready_again_right_after_its_turn_takes_the_loop_not_an_inline_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page calling back to back (ready again within BUSY_GAP_S of its own turn) goes
    through the loop, so its calls pile up where the turns and the bridge see them; a
    source that was not in the last turn, or is ready again later, still runs inline."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop, inline=True)
    log: list[str] = []
    spammer = Slices("spam", 1, log)  # one slice a call: no turn left scheduled
    t.ready(spammer)
    assert log == ["spam"]  # idle: inline
    t.ready(spammer)  # at once again: busy, so through the loop
    assert log == ["spam"]
    await settle(t)
    assert log == ["spam", "spam"]
    other = Slices("other", 1, log)
    t.ready(other)  # not in the last turn: inline
    assert log[-1] == "other"
    monkeypatch.setattr(turns_module, "BUSY_GAP_S", 0.0)  # as if long after its turn
    t.ready(other)
    assert log[-2:] == ["other", "other"]


async def test_an_idle_source_and_what_it_defers_go_before_a_busy_source_s_next_slice() -> None:
    """A ping beside a flood: the ping's slice, the dispatch it defers and the page's
    flush run before the flood's next slice and its reader's flush, in the same turn."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []

    ping = Slices("ping", 1, log, then=lambda: t.soon(
        lambda: (log.append("ping dispatch"), t.at_end(lambda: log.append("ping flush")))
    ))  # fmt: skip

    def flood_work() -> None:
        def flush() -> None:
            log.append("flood flush")
            if log.count("flood") == 1:  # the ping arrives while the flood's first turn ends
                t.ready(ping)

        t.soon(lambda: (log.append("flood dispatch"), t.at_end(flush)))

    flood = Slices("flood", 3, log, then=flood_work)
    t.ready(flood)
    await settle(t)
    assert log[:3] == ["flood", "flood dispatch", "flood flush"]  # turn 1: the flood alone
    # turn 2: the ping, its dispatch and its page's flush before the flood's next slice
    assert log[3:9] == ["ping", "ping dispatch", "ping flush", "flood", "flood dispatch", "flood flush"]
    assert log.count("flood") == 3 and t.turns == 3


async def test_busy_sources_keep_a_slice_every_turn_while_idle_ones_go_first() -> None:
    """A new ping in every turn of two floods: each ping goes first in its turn, and
    each flood still gets its slice in every turn, in their own order."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    pings = iter([Slices(f"ping{i}", 1, log) for i in range(3)])

    def a_ping_arrives() -> None:
        ping = next(pings, None)
        if ping is not None:
            t.ready(ping)

    a, b = Slices("a", 4, log, then=a_ping_arrives), Slices("b", 4, log)
    t.ready(a)
    t.ready(b)
    await settle(t)
    assert log == ["a", "b", "ping0", "a", "b", "ping1", "a", "b", "ping2", "a", "b"]
    assert t.turns == 4


async def test_slices_come_before_the_work_they_defer_and_the_loop_runs_between_turns() -> None:
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    a = Slices("a", 2, log, then=lambda: t.soon(lambda: log.append("flush")))
    t.ready(a)
    between: list[int] = []

    async def other() -> None:
        between.append(t.turns)

    task = loop.create_task(other())
    await settle(t)
    await task
    assert log == ["a", "flush", "a", "flush"]
    assert between and between[0] <= 1  # other tasks ran before the second turn


async def test_a_failing_source_is_logged_and_the_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []

    class Broken:
        def run_slice(self) -> bool:
            raise RuntimeError("boom")

    t.ready(Broken())
    t.ready(Slices("ok", 2, log))
    t.soon(lambda: 1 / 0)  # type: ignore[func-returns-value]
    t.soon(lambda: log.append("after"))
    with caplog.at_level(logging.ERROR, "peerbrowser.swarm"):
        await settle(t)
    assert log == ["ok", "after", "ok"]
    assert "a source failed" in caplog.text and "deferred work failed" in caplog.text


async def test_deferred_work_past_the_budget_goes_on_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns_module, "TURN_BUDGET_S", -1.0)
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    seen: list[int] = []
    for i in range(3):
        t.soon(lambda i=i: seen.append(i))
    await settle(t)
    assert seen == [0, 1, 2]
    assert t.turns == 3


async def test_a_dropped_source_gets_no_more_slices() -> None:
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    gone = Slices("gone", 3, log)
    t.ready(gone)
    t.drop(gone)
    t.ready(Slices("kept", 1, log))
    await settle(t)
    assert log == ["kept"]


def test_without_a_loop_nothing_is_scheduled_and_nothing_raises() -> None:
    def no_loop() -> asyncio.AbstractEventLoop:
        raise RuntimeError("no running event loop")

    t = Turns(no_loop)
    t.soon(lambda: None)
    assert not t._scheduled
