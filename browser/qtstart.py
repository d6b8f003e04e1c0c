"""Starting Qt for Peerbrowser: the order QtWebEngine needs, in one place.

The browser (``browser/app.py``), the benchmarks (``bench/qtpages.py``) and the
tests (``tests/browser/conftest.py``) all start Qt through here:

1. the process environment QtWebEngine reads once (``browser/env.py``) and the
   ``peerapp`` scheme (``browser/scheme.py``), before any ``QApplication``;
2. ``QtWebEngineWidgets`` imported before the ``QApplication``;
3. the ``QApplication``;
4. asyncio on Qt's event loop (qasync), so the swarm core's coroutines and Qt's
   signals share one thread.

pytest-qt makes the application itself, so the tests call :func:`prepare_qt`
and :func:`asyncio_on_qt`; the browser and the benchmarks call :func:`start_qt`.
Shutdown runs the other way round (``Session._shutdown`` in ``browser/app.py``):
pages before their profile, the profile before the application ends.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Sequence

import qasync
from PyQt6.QtWidgets import QApplication

from browser.env import prepare_environment
from browser.qtloop import QtLoop
from browser.scheme import register_scheme


def prepare_qt(*, offscreen: bool = False, extra_flags: Sequence[str] = ()) -> None:
    """Steps 1 and 2: call before a ``QApplication`` exists. ``extra_flags`` are
    Chromium flags added to the user's and the browser's own (benchmarks)."""
    prepare_environment(offscreen=offscreen, extra_flags=extra_flags)
    register_scheme()
    importlib.import_module("PyQt6.QtWebEngineWidgets")


def asyncio_on_qt(app: QApplication) -> qasync.QEventLoop:
    """Step 4: an asyncio loop whose callbacks run whenever Qt processes events
    (qasync's, serving file descriptors at once: ``browser/qtloop.py``)."""
    return QtLoop(app)


def start_qt(
    *, offscreen: bool = False, extra_flags: Sequence[str] = ()
) -> tuple[QApplication, qasync.QEventLoop]:
    """All four steps: the application (the existing one, if any) and its asyncio
    loop, made the current event loop."""
    prepare_qt(offscreen=offscreen, extra_flags=extra_flags)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    loop = asyncio_on_qt(app)
    asyncio.set_event_loop(loop)
    return app, loop
