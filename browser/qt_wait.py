"""Awaiting Qt things from asyncio code (qasync), without sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from PyQt6.QtCore import QObject
from PyQt6.QtWebEngineCore import QWebEnginePage


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``predicate()`` is true, re-checking whenever the loop runs.

    Raises TimeoutError naming ``what`` after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.01
    while not predicate():
        if loop.time() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


async def destroyed(objects: Sequence[QObject], timeout: float) -> bool:
    """Wait until every object in ``objects`` emitted ``destroyed``. False on timeout."""
    loop = asyncio.get_running_loop()
    pending = []
    for obj in objects:
        future: asyncio.Future[None] = loop.create_future()

        def done(*_: object, future: asyncio.Future[None] = future) -> None:
            if not future.done():
                future.set_result(None)

        obj.destroyed.connect(done)
        pending.append(future)
    if not pending:
        return True
    _, still = await asyncio.wait(pending, timeout=timeout)
    return not still


def run_js(page: QWebEnginePage, source: str) -> asyncio.Future[Any]:
    """``page.runJavaScript(source)`` in the main world, as an awaitable of its result
    (what JSON.stringify would keep of it: None, bool, float, str, list, dict)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def callback(result: Any) -> None:
        if not future.done():
            future.set_result(result)

    page.runJavaScript(source, 0, callback)
    return future
