"""swarm/trim.py: memory a large link held goes back to the system, once, after it closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from swarm import trim


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(trim, "_malloc_trim", lambda: calls.append)
    return calls


def test_a_large_close_asks_for_one_trim_a_moment_later(trims: list[int]) -> None:
    timers: list[tuple[float, Callable[[], None]]] = []
    trimmer = trim.Trimmer(lambda delay, fn: timers.append((delay, fn)))
    trimmer.released(trim.TRIM_AFTER - 1)  # a small one is not worth it
    assert timers == []
    trimmer.released(trim.TRIM_AFTER)
    trimmer.released(10 * trim.TRIM_AFTER)  # several closes, one trim
    [(delay, run)] = timers
    assert delay == trim.TRIM_DELAY and trims == []
    run()
    assert trims == [0]
    trimmer.released(trim.TRIM_AFTER)  # a later close asks again
    assert len(timers) == 2


def test_without_glibc_nothing_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trim, "_malloc_trim", lambda: None)
    timers: list[object] = []
    trim.Trimmer(lambda delay, fn: timers.append(fn)).released(10 * trim.TRIM_AFTER)
    assert timers == []
