"""Turns on a loaded machine: a turn whose deferred work overruns TURN_BUDGET_S leaves
the rest for the next turn (swarm/turns.py). That must not let the sources' slices get
ahead of work already due, or the deferred work grows with every turn."""

from __future__ import annotations

import asyncio

import pytest

from swarm import turns as turns_module
from swarm.turns import Turns
from tests.swarm.test_turns import Slices, settle


async def test_work_left_by_an_overrun_turn_runs_before_any_more_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flooding source's slices each defer work (its deliveries); a quiet source's one
    slice defers its delivery behind them. With every turn over budget (forced here),
    the quiet delivery still comes before the flood gets another slice, and the
    deferred work never grows past what one round of slices deferred."""
    monkeypatch.setattr(turns_module, "TURN_BUDGET_S", -1.0)
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    waiting: list[int] = []  # deferred items waiting, seen at each slice

    def flood_defers() -> None:
        waiting.append(len(t._soon))
        for _ in range(3):
            t.soon(lambda: log.append("flood delivery"))

    flood = Slices("flood", 20, log, then=flood_defers)
    quiet = Slices("quiet", 1, log, then=lambda: t.soon(lambda: log.append("quiet delivery")))
    t.ready(flood)
    t.ready(quiet)
    await settle(t)
    assert log.count("flood") == 20 and log.count("flood delivery") == 60
    first_slices = log[: log.index("quiet delivery")]
    assert first_slices.count("flood") == 1, log
    assert max(waiting) <= 3, waiting  # bounded by one round of slices, not by the flood


async def test_a_turn_within_budget_runs_its_slices_then_all_it_deferred(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The usual case, for contrast: one slice each, then all the deferred work."""
    monkeypatch.setattr(turns_module, "TURN_BUDGET_S", 3600.0)  # no turn overruns
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    flood = Slices("flood", 3, log, then=lambda: t.soon(lambda: log.append("flood delivery")))
    quiet = Slices("quiet", 1, log, then=lambda: t.soon(lambda: log.append("quiet delivery")))
    t.ready(flood)
    t.ready(quiet)
    await settle(t)
    assert log == [
        "flood",
        "quiet",
        "flood delivery",
        "quiet delivery",
        "flood",
        "flood delivery",
        "flood",
        "flood delivery",
    ]


async def test_fresh_work_that_overruns_the_turn_leaves_the_busy_slices_to_a_later_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ping beside a flood on a loaded machine: the ping's deferred work overruns the
    turn, so the flood's slice waits; the flood stays busy (it is not taken for an idle
    source that would go first next time), and both finish."""
    loop = asyncio.get_running_loop()
    t = Turns(lambda: loop)
    log: list[str] = []
    ping = Slices("ping", 1, log, then=lambda: [t.soon(lambda: log.append("ping delivery")) for _ in range(2)])

    def flood_defers() -> None:
        t.soon(lambda: log.append("flood delivery"))
        if log.count("flood") == 1:  # the ping arrives during the flood's first turn
            t.ready(ping)
            monkeypatch.setattr(turns_module, "TURN_BUDGET_S", -1.0)  # from now on, every turn overruns

    flood = Slices("flood", 3, log, then=flood_defers)
    t.ready(flood)
    await settle(t)
    second = log.index("ping")
    assert log[second - 1] == "flood delivery"  # the ping's turn began with the ping
    assert log[second + 1 : second + 3] == ["ping delivery", "ping delivery"]
    assert log.count("flood") == 3 and log.count("flood delivery") == 3
    assert id(flood) not in t._queued and t._busy <= {id(flood), id(ping)}
