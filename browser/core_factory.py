"""The one place that builds, starts and closes the swarm core for a browser run.

The network engineer wires the engine here; the rest of the browser only
passes the core object on (to ``bridge.page.attach_page`` and the panel).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from browser.config import BrowserConfig

log = logging.getLogger("peerbrowser.browser")


def build_core(config: BrowserConfig) -> Any:
    """Return the swarm core for this run, or None when there is none yet."""
    try:
        from swarm.core import SwarmCore  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        log.warning("swarm core not available (%s); pages get no peers", exc)
        return None
    kwargs: dict[str, Any] = {}
    if config.grace is not None:
        kwargs["grace"] = config.grace
    try:
        return SwarmCore(**kwargs)
    except Exception:
        log.exception("could not build the swarm core; pages get no peers")
        return None


async def start_core(core: Any) -> None:
    """Await ``core.start()`` when the core has one."""
    await _maybe_await(getattr(core, "start", None))


async def close_core(core: Any) -> None:
    """Await ``core.close()`` when the core has one. Errors are logged, not raised."""
    try:
        await _maybe_await(getattr(core, "close", None))
    except Exception:
        log.exception("closing the swarm core failed")


async def _maybe_await(method: Any) -> None:
    if callable(method):
        result = method()
        if inspect.isawaitable(result):
            await result
