"""The PeerSocket panel: what the swarm core is doing, per origin.

A dock widget with a tree built from ``core.snapshot()`` (the schema is
``swarm/snapshot.py``). The core calls the observer registered with
``core.add_observer(callback)`` on every change; the panel coalesces those
calls with a single-shot timer (``REFRESH_MS``) and rebuilds the tree once,
and only while it is shown. Without a core it says so instead.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QShowEvent
from PyQt6.QtWidgets import QDockWidget, QLabel, QStackedWidget, QTreeWidget, QTreeWidgetItem, QWidget

from swarm.core import SwarmCore
from swarm.limits import KiB, MiB
from swarm.snapshot import DeviceSnapshot, PresenceSnapshot, SocketSnapshot, SwarmSnapshot

log = logging.getLogger("peerbrowser.panel")

REFRESH_MS = 150
UNAVAILABLE_TEXT = "swarm core not available"
COLUMNS = ("Name", "In", "Out", "State", "Id", "Address")


def short_id(hex_id: str | None) -> str:
    text = hex_id or ""
    return text[:8] + "…" if len(text) > 8 else text


def size(nbytes: int) -> str:
    """``nbytes`` for a person: 512 B, 12 KiB, 1.5 MiB."""
    if nbytes < KiB:
        return f"{nbytes} B"
    if nbytes < MiB:
        return f"{nbytes / KiB:.3g} KiB"
    return f"{nbytes / MiB:.3g} MiB"


def socket_state(sock: SocketSnapshot) -> str:
    """A socket's state, and what it has that was not read yet on either side (a reader
    that stopped reading shows here: its writer's messages pile up to the window)."""
    parts: list[str] = [sock["state"]]
    if sock["to_read"]:
        parts.append(f"{size(sock['to_read'])} unread here")
    if sock["unread"]:
        parts.append(f"{size(sock['unread'])} unread by the peer")
    return ", ".join(parts)


def address(host: str | None, port: int | None) -> str:
    if not host:
        return ""
    host_text = f"[{host}]" if ":" in host else host
    return f"{host_text}:{port}" if port else host_text


class PeerSocketPanel(QDockWidget):
    """Dock widget showing device, presences, swarms and sockets of the core."""

    def __init__(self, core: SwarmCore | None, parent: QWidget | None = None) -> None:
        super().__init__("PeerSocket", parent)
        self.setObjectName("peersocket-panel")
        self.setMinimumWidth(320)
        self._core = core
        self._tree = QTreeWidget()
        self._tree.setColumnCount(len(COLUMNS))
        self._tree.setHeaderLabels(list(COLUMNS))
        self._tree.setUniformRowHeights(True)
        self._tree.setIndentation(12)
        self._tree.setAlternatingRowColors(True)
        self._message = QLabel(UNAVAILABLE_TEXT)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._tree)
        self._stack.addWidget(self._message)
        self.setWidget(self._stack)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._observing = False
        self._stale = False
        if core is not None:
            core.add_observer(self._on_core_changed)
            self._observing = True
        self.refresh()

    @property
    def tree(self) -> QTreeWidget:
        return self._tree

    @property
    def message(self) -> QLabel:
        return self._message

    def detach(self) -> None:
        """Stop observing the core (call before the core or the panel goes away)."""
        self._timer.stop()
        if self._observing and self._core is not None:
            self._observing = False
            self._core.remove_observer(self._on_core_changed)

    def _on_core_changed(self) -> None:
        if not self._observing:
            return
        if not self.isVisible():
            self._stale = True  # nobody is looking: rebuild when shown, not now
            return
        if not self._timer.isActive():
            self._timer.start()

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the tree from ``core.snapshot()`` now."""
        if self._core is None:
            self._stack.setCurrentWidget(self._message)
            return
        try:
            snapshot = self._core.snapshot()
        except Exception as exc:
            log.exception("core.snapshot() failed")
            self._message.setText(f"swarm core snapshot failed: {exc}")
            self._stack.setCurrentWidget(self._message)
            return
        self._stack.setCurrentWidget(self._tree)
        self._tree.clear()
        self._add_device(snapshot["device"])
        self._add_presences(snapshot["presences"])
        self._tree.expandAll()
        for column in range(len(COLUMNS)):
            self._tree.resizeColumnToContents(column)

    # -- tree building ---------------------------------------------------------

    def _item(
        self,
        parent: QTreeWidget | QTreeWidgetItem,
        name: str,
        *,
        tooltip: str = "",
        **columns: object,
    ) -> QTreeWidgetItem:
        """One row; ``columns`` by lower-case column name (``in_`` for "In")."""
        values = {"name": name, **{k.rstrip("_"): str(v) for k, v in columns.items()}}
        item = QTreeWidgetItem(parent, [values.get(c.lower(), "") for c in COLUMNS])
        if tooltip:
            item.setToolTip(0, tooltip)
        return item

    def _add_device(self, device: DeviceSnapshot) -> None:
        engine, links = device["engine"], device["links"]
        item = self._item(
            self._tree,
            f"This device: {len(links)} link(s)",
            id=short_id(device["key"]),
            state=engine["state"],
            tooltip=engine["detail"],
        )
        if engine["detail"]:
            # what the network engine is doing, or what to do about it (installing, failed)
            detail = engine["detail"]
            self._item(item, f"network: {detail}", state=engine["state"], tooltip=detail)
        lan_devices = engine.get("lan_devices")
        if lan_devices is not None:  # the 'lan' network: devices found by multicast DNS
            self._item(
                item,
                f"LAN: {lan_devices} other device(s) seen",
                tooltip="other Peerbrowser devices on this LAN, found by multicast DNS",
            )
        for link in links:
            self._item(
                item,
                "link",
                id=short_id(link["remote"]),
                address=address(link["host"], link["port"]),
                state=link["state"],
            )

    def _add_presences(self, presences: list[PresenceSnapshot]) -> None:
        origins: dict[str, QTreeWidgetItem] = {}
        for presence in presences:
            origin = presence["origin"]
            if origin not in origins:
                origins[origin] = self._item(self._tree, origin)
            p_item = self._item(
                origins[origin],
                f"identity #{presence['identity']}",
                id=short_id(presence["id"]),
                tooltip=presence["id"],
            )
            for swarm in presence["swarms"]:
                self._add_swarm(p_item, swarm)

    def _add_swarm(self, parent: QTreeWidgetItem, swarm: SwarmSnapshot) -> None:
        kind = swarm["type"]
        name = f"{kind} swarm: {swarm['name']}" if swarm["name"] else f"{kind} swarm"
        sockets = swarm["sockets"]
        peers = sum(1 for s in sockets if not s["loopback"])
        s_item = self._item(
            parent,
            name,
            in_=sum(s["received"] for s in sockets),
            out=sum(s["sent"] for s in sockets),
            state=f"{peers} peer(s), {swarm['tabs']} tab(s)",
            id=short_id(swarm["topic"]),
            tooltip=f"topic {swarm['topic']}",
        )
        for sock in sockets:
            self._item(
                s_item,
                "loopback" if sock["loopback"] else "peer",
                in_=sock["received"],
                out=sock["sent"],
                state=socket_state(sock),
                id=short_id(sock["id"]),
                address=address(sock["host"], sock["port"]) or "this device",
                tooltip=sock["id"],
            )
