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
