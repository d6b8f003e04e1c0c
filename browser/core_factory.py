"""The one place that builds, starts and closes the swarm core for a browser run.

The network engine is chosen here from the configuration:

* ``--network none``: no engine; presences on this device reach each other only;
* ``--bootstrap HOST:PORT[,...]``: a given DHT (a LAN, a private one, a testnet);
* ``--network local`` (default): an embedded DHT on 127.0.0.1 shared by the
  browsers on this machine (the first one hosts its bootstrap node);
* ``--network lan``: the browsers on this LAN, found by multicast DNS; no
  bootstrap node, no internet (a DHT of the LAN's devices);
* ``--network public``: the public HyperDHT.

The engine starts in the background: the window and local presences do not
wait for it, and a missing Node.js only costs the network (the panel says why).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from browser.config import BrowserConfig
from swarm.core import SwarmCore
from swarm.engine import Engine
from swarm.hyperswarm import HyperswarmEngine
from swarm.sidecar_options import HyperswarmOptions

log = logging.getLogger("peerbrowser.browser")

_start_tasks: set[asyncio.Task[None]] = set()


def engine_options(config: BrowserConfig) -> HyperswarmOptions | None:
    """The Hyperswarm engine options for ``config``, or None for no network."""
    if config.network == "none":
        return None
    timeout = float(config.link_timeout) if config.link_timeout is not None else None
    return replace(_network(config), link_timeout=timeout, nice=config.engine_nice)


def _network(config: BrowserConfig) -> HyperswarmOptions:
    """Which network ``config`` joins, and how."""
    if config.bootstrap:
        nodes = tuple(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in config.bootstrap)
        return HyperswarmOptions(network="bootstrap", bootstrap=nodes, reachable=config.reachable)
    if config.reachable:
        log.warning("--reachable only applies with --bootstrap; ignored")
    if config.local_port is not None and config.network == "local":
        return HyperswarmOptions(network="local", local_port=config.local_port)
    return HyperswarmOptions(network=config.network)


def build_engine(config: BrowserConfig) -> Engine | None:
    options = engine_options(config)
    if options is None:
        return None
    return HyperswarmEngine(options)


def build_core(config: BrowserConfig) -> SwarmCore:
    """The swarm core for this run, with the engine the configuration asks for."""
    if config.grace is not None:
        return SwarmCore(build_engine(config), grace=config.grace)
    return SwarmCore(build_engine(config))


async def start_core(core: SwarmCore) -> None:
    """Start the core's engine in the background; returns at once."""
    task = asyncio.ensure_future(core.start())
    _start_tasks.add(task)
    task.add_done_callback(_start_done)


def _start_done(task: asyncio.Task[None]) -> None:
    _start_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("the network engine did not start: %s", task.exception())


async def close_core(core: SwarmCore | None) -> None:
    """Close the core (and its engine). Errors are logged, not raised."""
    if core is None:
        return
    try:
        await core.close()
    except Exception:
        log.exception("closing the swarm core failed")
    for task in list(_start_tasks):
        task.cancel()
