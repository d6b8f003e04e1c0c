"""One device as its own process, for the network tests: a swarm core on the
Hyperswarm engine, driven by JSON lines on stdin, reporting JSON lines on stdout.

    python -m tests.network.device_proc --bootstrap 127.0.0.1:PORT [--unguarded]

Commands: {"op": "join", "tab": T, "origin": O, "identity": N, "swarm": ID|null}
          {"op": "write", "tab": T, "peer": HEX, "data": ANY, "binary": HEX?}
          {"op": "session", "tab": T, "data": ANY}
          {"op": "close", "tab": T}, {"op": "info"} (the engine's info)
Events:   {"event": "ready", "state": S, "detail": D, "key": HEX, "host": H, "info": {...}},
          {"event": "joined", "tab": T, "id": HEX}, {"event": "info", "info": {...}},
          {"event": "connection"|"close"|"message"|"session", "tab": T, "peer": HEX, ...}
Messages are opaque bytes to the core; here they are JSON text (or raw bytes, "binary").

``--unguarded`` runs the sidecar as a user's browser does: no loopback guard, and the
bind address left to the sidecar. Refused unless this process is in a network namespace
that routes nowhere (one a test made, tests/network/netns.py): never on the host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from swarm.core import SwarmCore
from swarm.events import Connection, HandleEvent, Messages, SessionData, SocketClosed
from swarm.hyperswarm import HyperswarmEngine
from swarm.netguard import allowed_host
from swarm.presence import SwarmHandle
from swarm.sidecar_options import HyperswarmOptions
from swarm.topics import SwarmKey


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Device:
    def __init__(
        self,
        bootstrap: list[str],
        refresh: float | None = None,
        host: str | None = "127.0.0.1",
        link_timeout: float | None = None,
        reachable: bool = False,
        unguarded: bool = False,
        network: str = "bootstrap",
        sidecar_dir: str | None = None,
    ) -> None:
        if unguarded:
            if routes_out():
                raise SystemExit(f"device_proc: --unguarded only in a closed namespace: {routes_out()}")
        elif not all(allowed_host(b.rpartition(":")[0]) for b in [*bootstrap, f"{host or '127.0.0.1'}:0"]):
            raise SystemExit("device_proc: loopback (or the test namespace's subnet) only")
        options = HyperswarmOptions(
            network=network,
            bootstrap=tuple(bootstrap),
            host=None if unguarded else host,
            loopback_only=not unguarded,
            refresh_interval=refresh,
            link_timeout=link_timeout,
            reachable=reachable,
            sidecar_dir=Path(sidecar_dir) if sidecar_dir else None,
        )
        self.engine = HyperswarmEngine(options)
        self.core = SwarmCore(self.engine, grace=0)
        self.tabs: dict[int, SwarmHandle] = {}

    def listener(self, tab: int) -> Any:
        def on(handle: SwarmHandle, event: HandleEvent) -> None:
            if isinstance(event, Connection):
                emit(
                    {
                        "event": "connection",
                        "tab": tab,
                        "peer": event.socket.id_hex,
                        "host": event.socket.address and event.socket.address[0],
                        "session": _text(event.socket.session_data),
                    }
                )
            elif isinstance(event, Messages):
                self.core.consumed(handle, event.socket, event.size)
                for payload in event.payloads:
                    emit(
                        {
                            "event": "message",
                            "tab": tab,
                            "peer": event.socket.id_hex,
                            "data": _text(payload),
                            "hex": payload.hex(),
                        }
                    )
            elif isinstance(event, SessionData):
                emit({"event": "session", "tab": tab, "peer": event.socket.id_hex, "data": _text(event.data)})
            elif isinstance(event, SocketClosed):
                emit({"event": "close", "tab": tab, "peer": event.socket.id_hex, "code": event.code})

        return on

    def command(self, cmd: dict[str, Any]) -> None:
        op, tab = cmd["op"], cmd.get("tab")
        if op == "join":
            key = SwarmKey.open(cmd["swarm"]) if cmd.get("swarm") else SwarmKey.for_origin(cmd["origin"])
            handle = self.core.join(cmd["origin"], cmd["identity"], key, ("tab", tab), self.listener(tab))
            self.tabs[tab] = handle
            emit({"event": "joined", "tab": tab, "id": handle.presence.id_hex})
            for s in handle.sockets():
                emit({"event": "connection", "tab": tab, "peer": s.id_hex, "session": _text(s.session_data)})
        elif op == "write":
            handle = self.tabs[tab]
            data = bytes.fromhex(cmd["binary"]) if "binary" in cmd else json.dumps(cmd["data"]).encode()
            self.core.write(handle, handle.require_socket(cmd["peer"]), data)
        elif op == "session":
            self.core.set_session_data(self.tabs[tab], json.dumps(cmd["data"]).encode())
        elif op == "close":
            self.core.close_handle(self.tabs.pop(tab))
        elif op == "info":
            emit({"event": "info", "info": self.engine.info})


def routes_out() -> list[str]:
    """Routes of this network namespace that lead through a gateway (a default route
    among them): none in a namespace a test made, always some on the host."""
    found = []
    for line in Path("/proc/net/route").read_text().splitlines()[1:]:
        f = line.split()
        if len(f) >= 4 and (int(f[3], 16) & 0x2 or f[1] == "00000000"):  # RTF_GATEWAY, default
            found.append(f"IPv4 via {f[0]}")
    ipv6 = Path("/proc/net/ipv6_route")
    for line in ipv6.read_text().splitlines() if ipv6.exists() else []:
        f = line.split()
        if len(f) >= 10 and f[9] != "lo" and (int(f[8], 16) & 0x2 or f[1] == "00"):
            found.append(f"IPv6 via {f[9]}")
    return found


def _text(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default="", help="HOST:PORT,... (network 'bootstrap')")
    parser.add_argument("--network", default="bootstrap", choices=("bootstrap", "lan"))
    parser.add_argument("--refresh", type=float, help="seconds between re-announcements")
    parser.add_argument("--host", help="address the DHT binds to (default: 127.0.0.1; lan: its own)")
    parser.add_argument("--link-timeout", type=float, help="seconds of silence that drop a link")
    parser.add_argument("--reachable", action="store_true", help="peers reach this device directly")
    parser.add_argument("--unguarded", action="store_true", help="no loopback guard (closed namespace only)")
    parser.add_argument("--sidecar-dir", help="another sidecar (an older one, for a benchmark's baseline)")
    args = parser.parse_args()
    if os.environ.get("DEVICE_PROC_DEBUG"):  # the engine's and the sidecar's logs on stderr
        logging.basicConfig(level=logging.DEBUG)
    host = args.host or (None if args.network == "lan" else "127.0.0.1")
    bootstrap = [b for b in args.bootstrap.split(",") if b]
    device = Device(
        bootstrap,
        args.refresh,
        host,
        args.link_timeout,
        args.reachable,
        args.unguarded,
        args.network,
        args.sidecar_dir,
    )
    await device.core.start()
    engine = device.engine
    state, detail = device.core.engine_state
    key = engine.public_key.hex() if engine.public_key else None
    emit(
        {
            "event": "ready",
            "state": state,
            "detail": detail,
            "key": key,
            "host": engine.info.get("host"),
            "info": engine.info,
        }
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            device.command(json.loads(line))
        except Exception as exc:  # report, keep running: the test decides
            emit({"event": "error", "error": f"{type(exc).__name__}: {exc}"})
    await device.core.close()


if __name__ == "__main__":
    asyncio.run(main())
