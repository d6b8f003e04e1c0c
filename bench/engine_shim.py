"""A bench-only stand-in for one fix the Hyperswarm engine still needs.

``HyperswarmEngine._on_connection`` calls ``sink.attach(transport)`` before it
records the connection in ``_links``, and ``_queue_write`` drops writes for
connections it has not recorded. The core writes its HELLO frame inside
``attach``, so HELLO is lost and every link ends in ``ERR_HANDSHAKE_TIMEOUT``.
The fix belongs in swarm/hyperswarm.py (record the connection before
``attach``); this subclass lets the writes made during ``attach`` through, so
the benchmarks measure the engine as it will be. Remove it once the engine
does this itself (``needs_shim()`` tells).
"""

from __future__ import annotations

from typing import Any

from swarm.hyperswarm import HyperswarmEngine


class _Attaching:
    """A placeholder entry in ``_links`` while ``attach`` runs."""


class BenchHyperswarmEngine(HyperswarmEngine):
    _attaching: int | None = None

    def _on_connection(self, conn_id: int, *rest: Any) -> None:
        self._attaching = int(conn_id)
        try:
            super()._on_connection(conn_id, *rest)
        finally:
            self._attaching = None

    def _queue_write(self, conn_id: int, data: bytes) -> None:
        links: dict[int, Any] = self._links  # type: ignore[assignment]
        if conn_id == self._attaching and conn_id not in links:
            links[conn_id] = _Attaching()
            try:
                super()._queue_write(conn_id, data)
            finally:
                links.pop(conn_id, None)
            return
        super()._queue_write(conn_id, data)


def needs_shim() -> bool:
    """True while the engine still records a connection only after attach()."""
    import inspect

    source = inspect.getsource(HyperswarmEngine._on_connection)
    return source.find("sink.attach(") < source.find("self._links[")
