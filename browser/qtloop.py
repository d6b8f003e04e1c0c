"""asyncio on Qt's event loop: qasync's loop, with file descriptors served where Qt says so.

qasync answers a ready file descriptor (a ``QSocketNotifier``'s ``activated``) by
disabling the notifier and scheduling the reader with ``call_soon``, which under qasync
is a Qt timer of its own: the bytes wait for another pass of Qt's event loop, behind
whatever Chromium has posted to the main thread meanwhile. The swarm core reads its
Hyperswarm sidecar's stdout through such a reader, so every message from another
device paid that pass before the core saw it.

:class:`QtLoop` calls the reader (or writer) at once, in the notifier's slot. Nothing
is lost by that: the notifier is level-triggered, so bytes the callback leaves unread
activate it again; a callback that removes or replaces its own notifier is honoured
(the old one is switched off and never calls again); and an exception goes to the
loop's exception handler as it would from a scheduled callback.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import qasync
from PyQt6.QtCore import QSocketNotifier

_Type = QSocketNotifier.Type


class QtLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's ``QEventLoop`` whose readers and writers run in the notifier's slot."""

    def _add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        self._watch(self._read_notifiers, _Type.Read, fd, callback, args)

    def _add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        self._watch(self._write_notifiers, _Type.Write, fd, callback, args)

    def _watch(
        self,
        notifiers: dict[Any, QSocketNotifier],
        kind: QSocketNotifier.Type,
        fd: Any,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        self._check_closed()
        old = notifiers.pop(fd, None)
        if old is not None:
            old.setEnabled(False)
            old.activated.disconnect()
        notifier = QSocketNotifier(qasync._fileno(fd), kind)
        context = contextvars.copy_context()

        def ready(*_: Any) -> None:
            if notifiers.get(fd) is not notifier:  # removed or replaced meanwhile
                notifier.setEnabled(False)
                return
            try:
                context.run(callback, *args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.call_exception_handler(
                    {
                        "message": f"Exception in callback for file descriptor {fd!r}",
                        "exception": exc,
                    }
                )

        notifier.activated.connect(ready)
        notifier.setEnabled(True)
        notifiers[fd] = notifier
