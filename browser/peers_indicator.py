"""The peers indicator: a button in the address bar with the current tab's live
peer count, and its popover.

The count is the number of distinct peers the tab's origin is connected to:
every presence of the origin (every debug identity), every swarm, open
sockets only, the loopback not counted. It comes from the swarm core, never
from the page: ``core.origin_snapshot(origin)``, the origin's presences in
the shape of ``core.snapshot()["presences"]``. Like the PeerSocket panel, the
indicator coalesces the core's change notifications (``REFRESH_MS``).

Clicking the button opens a popover listing the origin's swarms, its peers
(id, and ``host:port`` or "this device"; shown even with ``--peer-addresses
hide``, which hides them from pages only), messages in and out, and two
actions: "Disconnect" (close the origin's swarms now) and "Block this site"
(revoke its permission: ``SitePermissions.decide(origin, "deny")``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from browser.panel import address, short_id
from browser.permissions import ALLOW, DENY, OPAQUE, SOURCE_DEFAULT
from browser.site_permissions import SitePermissions
from swarm.core import SwarmCore

log = logging.getLogger("peerbrowser.indicator")

REFRESH_MS = 150
COLUMNS = ("Swarm / peer", "Address", "In", "Out")


# --- what the indicator shows (no Qt) ---------------------------------------------------


@dataclass(frozen=True)
class PeerRow:
    id: str
    address: str  # "host:port", or "this device"
    received: int
    sent: int


@dataclass(frozen=True)
class SwarmRow:
    name: str  # "open swarm 'room'" or "origin swarm"
    topic: str
    identity: int
    state: str  # "joined", or "leaving" (in its grace period)
    peers: list[PeerRow]

    @property
    def received(self) -> int:
        return sum(p.received for p in self.peers)

    @property
    def sent(self) -> int:
        return sum(p.sent for p in self.peers)


@dataclass(frozen=True)
class OriginSummary:
    origin: str
    swarms: list[SwarmRow] = field(default_factory=list)
    peer_ids: frozenset[str] = frozenset()

    @property
    def peers(self) -> int:
        return len(self.peer_ids)

    @property
    def topics(self) -> int:
        """Distinct swarms (two identities of the origin in one swarm count once)."""
        return len({s.topic for s in self.swarms})

    @property
    def identities(self) -> list[int]:
        return sorted({s.identity for s in self.swarms})

    @property
    def received(self) -> int:
        return sum(s.received for s in self.swarms)

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.swarms)


def summarize(origin: str, presences: Iterable[Mapping[str, Any]]) -> OriginSummary:
    """The origin's swarms and peers from its presences (``core.origin_snapshot``)."""
    swarms: list[SwarmRow] = []
    peer_ids: set[str] = set()
    for presence in presences:
        if presence.get("origin") != origin:
            continue
        identity = int(presence.get("identity", 0))
        for swarm in presence.get("swarms") or ():
            peers = []
            for sock in swarm.get("sockets") or ():
                if sock.get("loopback") or sock.get("state") != "open":
                    continue
                peer_ids.add(str(sock.get("id")))
                peers.append(
                    PeerRow(
                        id=str(sock.get("id")),
                        address=address(sock.get("host"), sock.get("port")) or "this device",
                        received=int(sock.get("received", 0)),
                        sent=int(sock.get("sent", 0)),
                    )
                )
            name = f"open swarm '{swarm['name']}'" if swarm.get("type") == "open" else "origin swarm"
            state = str(swarm.get("state", ""))
            swarms.append(SwarmRow(name, str(swarm.get("topic")), identity, state, peers))
    return OriginSummary(origin, swarms, frozenset(peer_ids))


def count_text(summary: OriginSummary, blocked: bool) -> str:
    if blocked:
        return "Blocked"
    n = summary.peers
    return f"{n} peer" if n == 1 else f"{n} peers"


# --- the widgets ----------------------------------------------------------------------------


class PeersPopover(QFrame):
    """The popover under the indicator (a popup: a click elsewhere closes it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("peers-popover")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.origin: str | None = None
        self.title = QLabel()
        self.title.setObjectName("peers-title")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.status = QLabel()
        self.status.setObjectName("peers-status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("peers-tree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        self.tree.setMinimumWidth(440)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("peers-disconnect")
        self.disconnect_button.setToolTip("Close this site's swarms now (it may join again)")
        self.block_button = QPushButton("Block this site")
        self.block_button.setObjectName("peers-block")
        self.settings_button = QPushButton("Site permissions…")
        self.settings_button.setObjectName("peers-settings")
        for button in (self.disconnect_button, self.block_button, self.settings_button):
            button.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.disconnect_button)
        buttons.addWidget(self.block_button)
        buttons.addStretch(1)
        buttons.addWidget(self.settings_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)

    def show_summary(self, summary: OriginSummary, permission: str) -> None:
        self.origin = summary.origin
        self.title.setText(summary.origin)
        swarms = summary.topics
        identities = summary.identities
        who = f" (identities {', '.join(f'#{n}' for n in identities)})" if len(identities) > 1 else ""
        self.status.setText(
            f"{permission}. {count_text(summary, False)} in {swarms} swarm{'s' if swarms != 1 else ''}"
            f"{who}; messages in {summary.received}, out {summary.sent}."
        )
        self.tree.clear()
        for swarm in summary.swarms:
            state = "" if swarm.state == "joined" else f", {swarm.state}"
            item = QTreeWidgetItem(
                self.tree,
                [f"{swarm.name} (#{swarm.identity}{state})", "", str(swarm.received), str(swarm.sent)],
            )
            for peer in swarm.peers:
                row = [short_id(peer.id), peer.address, str(peer.received), str(peer.sent)]
                child = QTreeWidgetItem(item, row)
                child.setToolTip(0, peer.id)
        self.tree.expandAll()
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)


class PeersIndicator(QObject):
    """The address-bar button and its popover, following the current tab.

    ``current_origin()`` gives the serialized origin of the current tab (None:
    no tab). ``open_settings()`` opens the site-permissions dialog.
    """

    #: The button's text changed (tests and accessibility follow it).
    updated = pyqtSignal(str)

    def __init__(
        self,
        address_bar: QLineEdit,
        core: SwarmCore | None,
        permissions: SitePermissions,
        current_origin: Callable[[], str | None],
        open_settings: Callable[[], object],
    ) -> None:
        super().__init__(address_bar)
        self._bar = address_bar
        self._core = core
        self._permissions = permissions
        self._current_origin = current_origin
        self.button = QToolButton(address_bar)
        self.button.setObjectName("peers-indicator")
        self.button.setCursor(Qt.CursorShape.ArrowCursor)
        self.button.setAutoRaise(True)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.clicked.connect(lambda _=False: self.open_popover())
        self.popover = PeersPopover(address_bar)
        self.popover.disconnect_button.clicked.connect(lambda _=False: self._disconnect())
        self.popover.block_button.clicked.connect(lambda _=False: self._block())
        self._open_settings = open_settings
        self.popover.settings_button.clicked.connect(lambda _=False: self._settings())
        self.summary = OriginSummary("")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._observing = False
        if core is not None:
            core.add_observer(self._on_core_changed)
            self._observing = True
        permissions.changed.connect(self.refresh)
        address_bar.installEventFilter(self)
        self.refresh()

    @property
    def origin(self) -> str | None:
        return self._current_origin()

    def detach(self) -> None:
        """Stop observing the core (before it, or the window, goes away)."""
        self._timer.stop()
        if self._observing and self._core is not None:
            self._observing = False
            self._core.remove_observer(self._on_core_changed)
        with contextlib.suppress(TypeError, RuntimeError):
            self._permissions.changed.disconnect(self.refresh)

    def _on_core_changed(self) -> None:
        if self._observing and not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        """Recount now (also called on tab switches and navigations)."""
        if sip.isdeleted(self.button):
            return
        origin = self.origin
        if origin is None:
            self.summary = OriginSummary("")
            self.button.hide()
            self._place()
            return
        presences: list[Mapping[str, Any]] = []
        if self._observing and self._core is not None and origin != OPAQUE:
            try:
                presences = list(self._core.origin_snapshot(origin))
            except Exception:
                log.exception("core.origin_snapshot() failed")
        self.summary = summarize(origin, presences)
        blocked = self._permissions.answer_for(origin) == DENY
        text = count_text(self.summary, blocked)
        if self.button.text() != text:
            self.button.setText(text)
        self.button.setToolTip(
            f"{origin}: {count_text(self.summary, False)} connected"
            f"{' (blocked from connecting to peers)' if blocked else ''}. Click for details"
        )
        if self.button.isHidden():
            self.button.show()
        self._place()
        if self.popover.isVisible():
            self._fill_popover()
        self.updated.emit(text)

    def open_popover(self) -> None:
        self.refresh()
        if self.origin is None:
            return
        self._fill_popover()
        self.popover.adjustSize()
        below = self.button.mapToGlobal(QPoint(0, self.button.height()))
        self.popover.move(below)
        self.popover.show()

    def _fill_popover(self) -> None:
        origin = self.summary.origin
        permissions = self._permissions
        answer = permissions.answer_for(origin)
        source = permissions.policy.source(origin)
        by = "" if source == SOURCE_DEFAULT else f" ({source})"
        if origin == OPAQUE:
            permission = "A page with no origin (data:, file:, about:)"
        elif answer == ALLOW:
            permission = f"Allowed to connect to peers{by}"
        elif answer == DENY:
            permission = f"Blocked from connecting to peers{by}"
        else:
            permission = "Asks before connecting to peers"
        self.popover.show_summary(self.summary, permission)
        self.popover.disconnect_button.setEnabled(bool(self.summary.swarms))
        can_block = permissions.policy.can_decide(origin) and answer != DENY
        self.popover.block_button.setEnabled(can_block)
        self.popover.block_button.setToolTip(
            "Revoke this site's permission: its swarms close in every tab, later joins are refused"
            if permissions.policy.can_decide(origin)
            else f"Set by the {source}: change it there"
        )

    def _settings(self) -> None:
        self.popover.hide()
        self._open_settings()

    def _disconnect(self) -> None:
        origin = self.popover.origin
        if origin:
            self._permissions.disconnect_origin(origin)

    def _block(self) -> None:
        origin = self.popover.origin
        if origin and self._permissions.policy.can_decide(origin):
            self._permissions.decide(origin, DENY)

    # --- placement inside the address bar -------------------------------------------------

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if obj is self._bar and event is not None and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        """At the leading edge of the address bar; the text starts after it.

        Only what changed is set: QLineEdit.setTextMargins() lays out and repaints the
        bar (and the window around it) even when the margins are the same, and the
        indicator refreshes while the core is busy (every ``REFRESH_MS``, in every
        window), where that repainting took a fifth of the main thread in a profile of
        two tabs exchanging messages."""
        if self.button.isHidden():
            margins = QMargins(0, 0, 0, 0)
        else:
            hint = self.button.sizeHint()
            height = min(hint.height(), max(self._bar.height() - 4, 1))
            geometry = QRect(2, (self._bar.height() - height) // 2, hint.width(), height)
            if self.button.geometry() != geometry:
                self.button.setGeometry(geometry)
            margins = QMargins(hint.width() + 2, 0, 0, 0)
        if self._bar.textMargins() != margins:
            self._bar.setTextMargins(margins)
