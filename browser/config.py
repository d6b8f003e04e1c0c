"""What the command line asks of the browser and of the swarm core."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from swarm.sidecar_options import DEFAULT_NICE, MAX_NICE


@dataclass(frozen=True)
class BrowserConfig:
    """Options for one browser run.

    ``bootstrap`` and ``network`` choose the network engine (see
    ``browser/core_factory.py``): ``network`` is ``"local"`` (a DHT on
    127.0.0.1 shared by the browsers of this machine), ``"lan"`` (the browsers on
    this LAN, found by multicast DNS), ``"public"`` (the public HyperDHT) or
    ``"none"``; a ``bootstrap`` list picks a given DHT instead.
    """

    urls: tuple[str, ...] = ()
    headless: bool = False
    identity: int | None = None
    grace: float | None = None
    bootstrap: tuple[tuple[str, int], ...] = ()
    network: str = "local"
    #: Seconds of silence after which a link to another device is dropped (None:
    #: the transport's own, about 18 s).
    link_timeout: float | None = None
    #: With ``bootstrap``: every peer reaches this device directly (a LAN without NAT).
    reachable: bool = False
    #: How much lower the network engine's CPU priority is than the browser's (its
    #: niceness above ours, 0 to 19): under a busy CPU the pages go first.
    engine_nice: int = DEFAULT_NICE
    #: UDP port of the local network's bootstrap node (None: the default, 49736).
    local_port: int | None = None
    #: CDP for automation tools on 127.0.0.1:PORT (0: any free port); None: off.
    remote_debugging_port: int | None = None
    #: The answer for origins with no decision ("ask", "allow", "deny"); None: the
    #: mode's own (ask with a window, allow headless). See browser/permissions.py.
    peers_permission: str | None = None
    #: Per-origin decisions from the command line and from the config file (pinned).
    site_permissions: dict[str, str] = field(default_factory=dict)
    config_permissions: dict[str, str] = field(default_factory=dict)
    #: "hide": pages see socket.info.host / .port as null (the window still shows them).
    peer_addresses: str = "show"


def parse_bootstrap(text: str) -> tuple[tuple[str, int], ...]:
    """``"127.0.0.1:49737,[::1]:1234"`` -> ``(("127.0.0.1", 49737), ("::1", 1234))``."""
    nodes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, sep, port_text = item.rpartition(":")
        if not sep or not host:
            raise ValueError(f"bootstrap node {item!r} is not HOST:PORT")
        host = host.removeprefix("[").removesuffix("]")
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"bootstrap node {item!r} has no numeric port") from None
        if not 0 < port < 65536:
            raise ValueError(f"bootstrap node {item!r}: port out of range")
        nodes.append((host, port))
    return tuple(nodes)


def check_link_timeout(value: float) -> float:
    """Seconds of silence that drop a link: 1 to 600 (ValueError otherwise)."""
    if not 1 <= value <= 600:
        raise ValueError("link_timeout must be between 1 and 600 seconds")
    return value


def check_engine_nice(value: int) -> int:
    """The network engine's niceness above the browser's: 0 to 19 (ValueError otherwise)."""
    if not 0 <= value <= MAX_NICE:
        raise ValueError(f"engine_nice must be between 0 and {MAX_NICE}")
    return value


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/peerbrowser/config.toml`` (``~/.config/...`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "peerbrowser" / "config.toml"


PEER_ADDRESSES = ("show", "hide")
#: The values of ``network`` (``--network``).
NETWORKS = ("local", "lan", "public", "none")

#: What a config file may set, and the type each value must have.
FILE_KEYS: dict[str, type | tuple[type, ...]] = {
    "network": str,
    "bootstrap": list,
    "grace": (int, float),
    "identity": int,
    "link_timeout": (int, float),
    "engine_nice": int,
    "reachable": bool,
    "local_port": int,
    "remote_debugging_port": int,
    "peers_permission": str,
    "peer_addresses": str,
    "permissions": dict,
}


def _check_privacy_settings(path: Path, data: dict[str, object]) -> None:
    """``peers_permission``, ``peer_addresses`` and ``[permissions]`` (normalized in place)."""
    from browser.permissions import ANSWERS, check_decisions

    if "peers_permission" in data and data["peers_permission"] not in ANSWERS:
        raise ValueError(f'{path}: peers_permission must be "ask", "allow" or "deny"')
    if "peer_addresses" in data and data["peer_addresses"] not in PEER_ADDRESSES:
        raise ValueError(f'{path}: peer_addresses must be "show" or "hide"')
    if "permissions" in data:
        table = data["permissions"]
        assert isinstance(table, dict)
        try:
            data["permissions"] = check_decisions(table)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def load_config_file(path: Path) -> dict[str, object]:
    """Read a TOML config file; raises ValueError with a clear message when it is wrong.

    ``network = "local" | "lan" | "public" | "none"``, ``bootstrap = ["HOST:PORT", ...]``,
    ``grace = SECONDS``, ``identity = N``, ``link_timeout = SECONDS``,
    ``engine_nice = 0..19``, ``reachable = true``, ``local_port = PORT``, ``remote_debugging_port = PORT``,
    ``peers_permission = "ask" | "allow" | "deny"``,
    ``peer_addresses = "show" | "hide"`` and a ``[permissions]`` table of
    ``"ORIGIN" = "allow" | "deny"``. Command-line options win over it.
    """
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(FILE_KEYS)})")
    for key, kind in FILE_KEYS.items():
        bool_for_number = kind is not bool and isinstance(data.get(key), bool)
        if key in data and (not isinstance(data[key], kind) or bool_for_number):
            raise ValueError(f"{path}: {key} has the wrong type")
    if "network" in data and data["network"] not in NETWORKS:
        raise ValueError(f"{path}: network must be one of {', '.join(repr(n) for n in NETWORKS)}")
    if "local_port" in data and not 0 < data["local_port"] < 65536:
        raise ValueError(f"{path}: local_port must be between 1 and 65535")
    if "link_timeout" in data:
        try:
            check_link_timeout(data["link_timeout"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if "engine_nice" in data:
        try:
            check_engine_nice(data["engine_nice"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if "remote_debugging_port" in data:
        from browser.remote_debugging import check_port

        try:
            check_port(data["remote_debugging_port"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    _check_privacy_settings(path, data)
    if "bootstrap" in data:
        bootstrap = data["bootstrap"]
        assert isinstance(bootstrap, list)
        if not all(isinstance(b, str) for b in bootstrap):
            raise ValueError(f"{path}: bootstrap must be a list of \"HOST:PORT\" strings")
        data["bootstrap"] = parse_bootstrap(",".join(bootstrap))
    return data
