"""The browser's asyncio loop serves a ready file descriptor in the pass of Qt's event
loop that saw it (browser/qtloop.py): the swarm core reads its sidecar's stdout so,
and nothing may be lost, repeated or left running by it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from PyQt6.QtCore import QCoreApplication, QEventLoop


@pytest.fixture
def pipe(aloop: Any) -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    yield r, w
    aloop.remove_reader(r)
    os.close(r)
    os.close(w)


def one_pass() -> None:
    """One pass of Qt's event loop, not waiting for events."""
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)


def test_a_reader_runs_in_the_pass_that_sees_its_data(aloop: Any, pipe: tuple[int, int]) -> None:
    r, w = pipe
    got: list[bytes] = []
    aloop.add_reader(r, lambda: got.append(os.read(r, 100)))
    one_pass()
    assert got == []  # nothing to read: not called
    os.write(w, b"ping")
    one_pass()  # qasync's own loop would only schedule the reader here, for a later pass
    assert got == [b"ping"]


def test_bytes_left_unread_call_the_reader_again(aloop: Any, qtbot: Any, pipe: tuple[int, int]) -> None:
    r, w = pipe
    got: list[bytes] = []
    aloop.add_reader(r, lambda: got.append(os.read(r, 2)))  # reads two bytes a call
    os.write(w, b"abcdef")
    qtbot.waitUntil(lambda: b"".join(got) == b"abcdef")
    assert got == [b"ab", b"cd", b"ef"]


def test_a_removed_or_replaced_reader_is_not_called(aloop: Any, qtbot: Any, pipe: tuple[int, int]) -> None:
    r, w = pipe
    first: list[bytes] = []
    second: list[bytes] = []
    aloop.add_reader(r, lambda: first.append(os.read(r, 100)))
    aloop.add_reader(r, lambda: second.append(os.read(r, 100)))  # replaces the first
    os.write(w, b"one")
    qtbot.waitUntil(lambda: second == [b"one"])
    assert aloop.remove_reader(r)
    os.write(w, b"two")
    for _ in range(5):
        one_pass()
    assert first == [] and second == [b"one"]
    assert os.read(r, 100) == b"two"  # left for whoever reads next


def test_a_reader_that_removes_itself_is_not_called_again(aloop: Any, pipe: tuple[int, int]) -> None:
    r, w = pipe
    calls: list[int] = []

    def once() -> None:
        calls.append(1)
        aloop.remove_reader(r)  # leaves the bytes unread

    aloop.add_reader(r, once)
    os.write(w, b"x")
    for _ in range(5):
        one_pass()
    assert calls == [1]


def test_a_failing_reader_is_reported_and_keeps_its_place(
    aloop: Any, qtbot: Any, pipe: tuple[int, int]
) -> None:
    r, w = pipe
    reported: list[dict[str, Any]] = []
    got: list[bytes] = []

    def reader() -> None:
        data = os.read(r, 100)
        if data == b"bad":
            raise ValueError("cannot take this")
        got.append(data)

    previous = aloop.get_exception_handler()
    aloop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        aloop.add_reader(r, reader)
        os.write(w, b"bad")
        qtbot.waitUntil(lambda: len(reported) == 1)
        assert isinstance(reported[0]["exception"], ValueError)
        assert f"file descriptor {r}" in reported[0]["message"]
        os.write(w, b"good")
        qtbot.waitUntil(lambda: got == [b"good"])
    finally:
        aloop.set_exception_handler(previous)


def test_a_writer_runs_while_the_pipe_has_room(aloop: Any, qtbot: Any, pipe: tuple[int, int]) -> None:
    r, w = pipe
    os.set_blocking(w, False)
    calls: list[int] = []

    def writer() -> None:
        calls.append(os.write(w, b"z"))
        aloop.remove_writer(w)

    aloop.add_writer(w, writer)
    qtbot.waitUntil(lambda: calls == [1])
    assert os.read(r, 10) == b"z"
