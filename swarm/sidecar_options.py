"""How the Hyperswarm sidecar is run: its options, checked, and its command line.

Nothing here starts a process or installs anything, so it is tested without Node
(``tests/swarm/test_sidecar_options.py``). ``swarm/hyperswarm.py`` runs what
:func:`sidecar_command` and :func:`start_options` build, from the directory
``swarm/sidecar_install.py`` finds or installs; a configuration that cannot work
raises :class:`EngineConfigError` with a code and a message that says what to
do, before anything starts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarm.netguard import NetGuardError, allowed_host, lan_address, source_address
from swarm.sidecar_install import PACKAGED_DIR, node_missing_message

#: The sidecar's sources as packaged (in a checkout, with its own node_modules).
SIDECAR_DIR = PACKAGED_DIR
#: The embedded local network's bootstrap port (see docs/SIDECAR.md).
DEFAULT_LOCAL_PORT = 49736
NETWORKS = ("local", "bootstrap", "lan", "public")
#: Sidecar fatal codes that a restart cannot fix.
CONFIG_ERRORS = frozenset(
    {"ERR_BAD_NETWORK", "ERR_BAD_BOOTSTRAP", "ERR_LOOPBACK_GUARD", "ERR_MODULE_NOT_FOUND"}
)
LOOPBACK_ENV = "PEERBROWSER_LOOPBACK_ONLY"
#: The sidecar's niceness above the browser's, unless told otherwise (docs/SIDECAR.md).
DEFAULT_NICE = 10
#: The most a niceness goes (the sidecar caps its own there).
MAX_NICE = 19


class EngineConfigError(Exception):
    """The engine cannot run as configured (no restart will help)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HyperswarmOptions:
    """How to run the sidecar and which network it joins."""

    #: 'local': an embedded network on 127.0.0.1 shared by the browsers on this machine;
    #: 'bootstrap': the HOST:PORT nodes in ``bootstrap``; 'lan': the devices on this LAN,
    #: found by multicast DNS (no bootstrap node); 'public': the public HyperDHT.
    network: str = "local"
    bootstrap: tuple[str, ...] = ()
    #: Address the DHT binds to. Default: 127.0.0.1 for 'local' (and whenever
    #: loopback-only), 0.0.0.0 otherwise; for 'lan' the address of the LAN interface (the
    #: first with a private IPv4 address), where multicast DNS runs too.
    host: str | None = None
    #: UDP port of the 'local' network's bootstrap node.
    local_port: int = DEFAULT_LOCAL_PORT
    #: UDP port of the device's own DHT node (default: any free port).
    port: int | None = None
    #: 32 bytes: derive the device key pair from it (default: a fresh one each start).
    seed: bytes | None = None
    #: The Node.js binary, a name looked up on PATH or a path.
    node: str = "node"
    #: Run the sidecar from this directory, which must have its node_modules (tests,
    #: benchmarks). None: the packaged one, in place in a checkout, else installed in
    #: the user's cache on first use (``swarm/sidecar_install.py``).
    sidecar_dir: Path | None = None
    #: Preload the loopback guard. None: on when env PEERBROWSER_LOOPBACK_ONLY=1.
    loopback_only: bool | None = None
    #: Delays before successive restarts; the last one repeats.
    restart_delays: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0)
    #: Restarts in a row without reaching 'ready' before giving up ('failed').
    max_restarts: int = 8
    #: How long ``start()`` waits for the first 'ready' (a hang guard; then it returns
    #: and the engine keeps trying in the background).
    start_timeout: float = 30.0
    #: Extra environment for the sidecar.
    env: Mapping[str, str] = field(default_factory=dict)
    #: Seconds between re-announcing joined topics (None: 60 s on local and
    #: bootstrap networks, Hyperswarm's own 10 minutes on the public one).
    refresh_interval: float | None = None
    #: Seconds of silence after which a link is dropped, with keep-alives every quarter
    #: of it (None: the UDX stream's own timeout, about 18 s after packets stop).
    link_timeout: float | None = None
    #: 'bootstrap' networks: every peer reaches this device directly (a LAN without NAT,
    #: a test network), so peers dial it rather than holepunch.
    reachable: bool = False
    #: How much lower the sidecar's CPU priority is than the browser's (its niceness
    #: above ours, 0 to 19; capped at 19). On a busy CPU the browser's window and its
    #: pages then run before the sidecar's bulk work (decrypting and buffering a peer's
    #: flood); with a core free it changes nothing (docs/SIDECAR.md, "Priority").
    nice: int = DEFAULT_NICE

    def guarded(self) -> bool:
        if self.loopback_only is not None:
            return self.loopback_only
        return os.environ.get(LOOPBACK_ENV) == "1"


def dht_node_command(
    host: str = "127.0.0.1",
    port: int = DEFAULT_LOCAL_PORT,
    *,
    node: str = "node",
    sidecar_dir: Path = SIDECAR_DIR,
) -> list[str]:
    """The command line of a standalone HyperDHT bootstrap node (for ``peerbrowser dht``).

    It prints ``{"bootstrap": "HOST:PORT"}`` once listening; devices then use
    ``HyperswarmOptions(network="bootstrap", bootstrap=("HOST:PORT",))``. The loopback
    guard is preloaded when PEERBROWSER_LOOPBACK_ONLY=1.
    """
    args = [node]
    if os.environ.get(LOOPBACK_ENV) == "1":
        args += ["-r", str(sidecar_dir / "loopback-guard.cjs")]
    return [*args, str(sidecar_dir / "dht-bootstrap.js"), "--host", host, "--port", str(port)]


def check_network(opts: HyperswarmOptions) -> None:
    if opts.network not in NETWORKS:
        raise EngineConfigError("ERR_BAD_NETWORK", f"network must be one of {NETWORKS}, not {opts.network!r}")


def node_path(opts: HyperswarmOptions) -> str:
    """The Node.js binary ``opts.node`` names; ``ERR_NODE_MISSING`` saying what to
    install when there is none."""
    node = shutil.which(opts.node)
    if node is None:
        raise EngineConfigError("ERR_NODE_MISSING", node_missing_message(opts.node))
    return node


def check_installed(sidecar: Path) -> None:
    """``sidecar`` (a directory given in the options) has its script and npm packages."""
    if not (sidecar / "sidecar.js").is_file() or not (sidecar / "node_modules" / "hyperswarm").is_dir():
        raise EngineConfigError(
            "ERR_SIDECAR_MISSING",
            f"the Hyperswarm sidecar is not installed in {sidecar}: run "
            "`npm ci` there (scripts/bootstrap.sh does it). "
            "Pages keep working on this device without it.",
        )


def sidecar_command(opts: HyperswarmOptions, sidecar: Path) -> list[str]:
    """The command line of the sidecar in ``sidecar``: Node, the loopback guard when
    guarded, the script."""
    args = [node_path(opts)]
    if opts.guarded():
        args += ["-r", str(sidecar / "loopback-guard.cjs")]
    return [*args, str(sidecar / "sidecar.js")]


#: malloc settings for the sidecar (glibc; others ignore them) unless the environment
#: sets its own: allocations of 64 KiB and more (the UDX streams' receive buffers) get a
#: mapping each, given back to the system when freed, so the sidecar's RSS goes back down
#: after a flooding connection is cut instead of staying in a fragmented heap.
SIDECAR_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def sidecar_env(opts: HyperswarmOptions, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The sidecar's environment: ours (with ``SIDECAR_MALLOC`` where it sets none),
    ``opts.env``, and the guard's switch when guarded."""
    env = {**SIDECAR_MALLOC, **(os.environ if environ is None else environ), **opts.env}
    if opts.guarded():
        env[LOOPBACK_ENV] = "1"
    return env


def start_options(opts: HyperswarmOptions) -> dict[str, Any]:
    """The sidecar's ``start`` frame options (docs/SIDECAR.md).

    Loopback-only (``opts.guarded()``): refuses the public network and any bootstrap
    node or bind address off loopback (or off the test namespace's subnet), with
    ``ERR_LOOPBACK_GUARD``. Also refuses a bootstrap network without nodes, a seed
    that is not 32 bytes and a link timeout under a second.
    """
    guarded = opts.guarded()
    host = opts.host
    if host is None and guarded and opts.network == "bootstrap" and opts.bootstrap:
        # loopback, or in a test's namespace the address that reaches its bootstrap
        # node (the only other address the guard allows there)
        host = source_address(opts.bootstrap[0])
    if guarded and opts.network == "lan":
        # multicast DNS: only inside a test namespace that routes nowhere else
        try:
            host = host or lan_address()
        except NetGuardError as exc:
            raise EngineConfigError("ERR_LOOPBACK_GUARD", str(exc)) from exc
    if host is None and (guarded or opts.network == "local"):
        host = "127.0.0.1"
    if guarded:
        if opts.network == "public":
            raise EngineConfigError(
                "ERR_LOOPBACK_GUARD",
                "network 'public' is refused while PEERBROWSER_LOOPBACK_ONLY=1",
            )
        try:
            bad = [b for b in opts.bootstrap if not allowed_host(b.rpartition(":")[0])]
            bad_host = host is not None and not allowed_host(host)
        except NetGuardError as exc:
            raise EngineConfigError("ERR_LOOPBACK_GUARD", str(exc)) from exc
        if bad or bad_host:
            raise EngineConfigError(
                "ERR_LOOPBACK_GUARD",
                f"loopback only: refusing bootstrap {bad} / host {host!r}",
            )
    if opts.network == "bootstrap" and not opts.bootstrap:
        raise EngineConfigError("ERR_BAD_BOOTSTRAP", "network 'bootstrap' needs at least one HOST:PORT")
    if not (isinstance(opts.nice, int) and 0 <= opts.nice <= MAX_NICE):
        raise EngineConfigError(
            "ERR_BAD_NICE", f"nice must be an integer from 0 to {MAX_NICE}, not {opts.nice!r}"
        )
    if opts.seed is not None and len(opts.seed) != 32:
        raise EngineConfigError("ERR_BAD_SEED", "seed must be 32 bytes")
    start: dict[str, Any] = {
        "network": opts.network,
        "bootstrap": list(opts.bootstrap),
        "localPort": opts.local_port,
    }
    if host is not None:
        start["host"] = host
    if opts.port is not None:
        start["port"] = opts.port
    if opts.seed is not None:
        start["seed"] = opts.seed
    if opts.refresh_interval is not None:
        start["refreshInterval"] = int(opts.refresh_interval * 1000)
    if opts.reachable:
        start["reachable"] = True
    if opts.nice:
        start["nice"] = opts.nice
    if opts.link_timeout is not None:
        if not opts.link_timeout >= 1:
            raise EngineConfigError("ERR_BAD_TIMEOUT", "link_timeout must be at least 1 s")
        start["linkTimeout"] = int(opts.link_timeout * 1000)
    return start
