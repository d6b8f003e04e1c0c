"""Run a command inside a network namespace of its own, for the WebRTC baseline.

    unshare -rn -- python -m bench.netns COMMAND...     (as root: unshare -n)

Refuses to run unless the namespace is fresh (loopback only). Then it brings up
loopback and a veth pair with private test addresses (10.199.0.1/24 and
10.199.0.2/24) and a default route on it, so Chromium's WebRTC finds host
candidates. Nothing leaves the namespace: the veth pair's two ends are both in
it. Chromium's mDNS candidate hiding is switched off
(``--disable-features=WebRtcHideLocalIpsWithMdns``), so no mDNS is sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VETH = ("pbench0", "pbench1")
ADDRESSES = ("10.199.0.1/24", "10.199.0.2/24")
MARK = "PEERBENCH_NETNS"
MDNS_FEATURE = "WebRtcHideLocalIpsWithMdns"


def interfaces() -> set[str]:
    """Interfaces of the namespace this process is in (/proc/self/net is per namespace)."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return {line.split(":", 1)[0].strip() for line in lines if ":" in line}


def in_private_netns() -> bool:
    """True only inside a namespace set up by this module: loopback and our veth pair."""
    return os.environ.get(MARK) == "1" and interfaces() <= {"lo", *VETH}


def with_flag(flags: str) -> str:
    """Add the feature to Chromium's --disable-features, keeping flags already there."""
    parts = flags.split()
    for i, part in enumerate(parts):
        if part.startswith("--disable-features="):
            features = part.split("=", 1)[1].split(",")
            if MDNS_FEATURE not in features:
                parts[i] = part + "," + MDNS_FEATURE
            return " ".join(parts)
    return " ".join([*parts, f"--disable-features={MDNS_FEATURE}"])


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def setup() -> None:
    found = interfaces()
    if found != {"lo"}:
        raise SystemExit(f"bench.netns: not a fresh network namespace (interfaces {sorted(found)}); refusing")
    _ip("link", "set", "lo", "up")
    _ip("link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1])
    for name, address in zip(VETH, ADDRESSES, strict=True):
        _ip("addr", "add", address, "dev", name)
        _ip("link", "set", name, "up")
    _ip("route", "add", "default", "dev", VETH[0])


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: unshare -rn -- python -m bench.netns COMMAND...", file=sys.stderr)
        return 2
    setup()
    env = dict(os.environ)
    env[MARK] = "1"
    env["QTWEBENGINE_CHROMIUM_FLAGS"] = with_flag(env.get("QTWEBENGINE_CHROMIUM_FLAGS", ""))
    return subprocess.run(argv, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
