"""What the command line asks of the browser and of the swarm core."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BrowserConfig:
    """Options for one browser run.

    ``bootstrap`` and ``network`` are for the network engine: ``network`` is
    ``"local"`` (only devices reachable without the public DHT; needs an
    explicit ``bootstrap``) or ``"public"``.
    """

    urls: tuple[str, ...] = ()
    headless: bool = False
    identity: int | None = None
    grace: float | None = None
    bootstrap: tuple[tuple[str, int], ...] = ()
    network: str = "local"
    extra: dict[str, object] = field(default_factory=dict)


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
