"""Test hosts in network namespaces that the test makes itself.

    lab = Lab()                    # a hub namespace with a bridge
    addr = lab.add("a")            # namespace "a", joined to the hub by a veth pair
    addr = lab.add_alone("h", "192.0.2.2/24")  # a namespace joined to nothing
    Proc(lab.exec("a", argv), env=lab.env())
    lab.cut("a"); lab.restore("a") # its cable pulled and plugged back
    lab.detach("a"); lab.attach("a") # its switch port off and on (its link stays up)
    lab.close()

Every namespace has only its loopback and its one veth in a private /24 picked at
random: nothing routes out of it, so traffic stays inside the lab. ``lab.env()`` sets
PEERBROWSER_NETNS_CIDR, which lets the loopback guard allow that subnet (it checks that
the namespace routes nowhere else). Needs root and iproute2; ``Lab.unavailable()`` says
why not.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import subprocess


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


class Lab:
    def __init__(self) -> None:
        self.tag = "pb" + secrets.token_hex(3)
        self.subnet = ipaddress.IPv4Network(f"10.213.{secrets.randbelow(256)}.0/24")
        self.hub = f"{self.tag}-hub"
        self.hosts: dict[str, tuple[str, str]] = {}  # name -> (namespace, hub-side veth)
        self._next = 1
        self._namespaces: list[str] = []
        try:
            self._netns(self.hub)
            _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def unavailable() -> str | None:
        """Why namespaces cannot be made here, or None."""
        if shutil.which("ip") is None:
            return "iproute2 ('ip') is not installed"
        if os.geteuid() != 0:
            return "making network namespaces needs root"
        probe = "pbprobe" + secrets.token_hex(3)
        try:
            _ip("netns", "add", probe)
        except subprocess.CalledProcessError as exc:
            return f"ip netns add failed: {exc.stderr.strip()}"
        _ip("netns", "del", probe)
        return None

    def _netns(self, name: str) -> None:
        _ip("netns", "add", name)
        self._namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def add(self, name: str) -> str:
        """A new host joined to the hub; returns its address."""
        ns = f"{self.tag}-{name}"
        self._netns(ns)
        index = self._next
        self._next += 1
        inner, outer = f"{self.tag}i{index}", f"{self.tag}o{index}"
        address = str(self.subnet.network_address + index)
        _ip("link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer, "netns", self.hub)
        _ip("-n", self.hub, "link", "set", outer, "master", "br0")
        _ip("-n", self.hub, "link", "set", outer, "up")
        _ip("-n", ns, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", inner)
        _ip("-n", ns, "link", "set", inner, "up")
        self.hosts[name] = (ns, outer)
        return address

    def add_alone(self, name: str, address: str) -> str:
        """A host joined to nothing: its loopback and one veth pair, both ends inside it,
        one of them with ``address`` (an interface address as a machine's own network card
        has, e.g. "192.0.2.2/24"). Packets to that address stay inside; nothing else routes."""
        ns = f"{self.tag}-{name}"
        self._netns(ns)
        index = self._next
        self._next += 1
        inner, outer = f"{self.tag}i{index}", f"{self.tag}o{index}"
        _ip("-n", ns, "link", "add", inner, "type", "veth", "peer", "name", outer)
        _ip("-n", ns, "addr", "add", address, "dev", inner)
        _ip("-n", ns, "link", "set", inner, "up")
        _ip("-n", ns, "link", "set", outer, "up")
        self.hosts[name] = (ns, outer)
        return address.partition("/")[0]

    def exec(self, name: str, argv: list[str]) -> list[str]:
        """argv run inside host ``name`` (``ip netns exec`` execs it: same PID)."""
        return ["ip", "netns", "exec", self.hosts[name][0], *argv]

    def env(self) -> dict[str, str]:
        return {"PEERBROWSER_NETNS_CIDR": str(self.subnet)}

    def cut(self, name: str) -> None:
        """Pull the host's cable: every packet to and from it is dropped."""
        _ip("-n", self.hub, "link", "set", self.hosts[name][1], "down")

    def restore(self, name: str) -> None:
        _ip("-n", self.hub, "link", "set", self.hosts[name][1], "up")

    def detach(self, name: str) -> None:
        """Turn the host's switch port off: its link stays up (its address stays usable,
        as on a switch that forwards nothing yet) but nothing gets to or from the others."""
        _ip("-n", self.hub, "link", "set", self.hosts[name][1], "nomaster")

    def attach(self, name: str) -> None:
        _ip("-n", self.hub, "link", "set", self.hosts[name][1], "master", "br0")

    def close(self) -> None:
        """Delete every namespace made (the processes in them must be stopped first)."""
        for ns in reversed(self._namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self._namespaces.clear()
