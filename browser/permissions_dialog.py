"""The "Site permissions" dialog: every decision about connecting to peers.

It lists the saved decisions (the ones made in the window) with Allow,
Block and Remove, and also the ones the command line or the config file set,
which it shows but cannot change. It is not modal (nothing modal runs while
asyncio shares the Qt loop) and follows changes made elsewhere (the
permission bar, the indicator) while it is open.
"""

from __future__ import annotations

import contextlib

from PyQt6 import sip
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from browser.permission_file import MemoryPermissionFile
from browser.permissions import ALLOW, DENY, Decision, Entry
from browser.site_permissions import SitePermissions

COLUMNS = ("Site", "Connect to peers", "Set by")
SHOWN = {ALLOW: "Allow", DENY: "Block"}
DEFAULTS = {
    "ask": "ask in the window",
    "allow": "allow",
    "deny": "block",
}


class SitePermissionsDialog(QDialog):
    def __init__(self, permissions: SitePermissions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("site-permissions-dialog")
        self.setWindowTitle("Site permissions")
        self.setModal(False)
        self.resize(560, 360)
        self._permissions = permissions
        self.entries: list[Entry] = []
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("site-permissions-table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        header = self.table.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.allow_button = QPushButton("Allow")
        self.allow_button.setObjectName("site-allow")
        self.block_button = QPushButton("Block")
        self.block_button.setObjectName("site-block")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("site-remove")
        self.remove_button.setToolTip("Forget the decision: the site is asked again (or gets the default)")
        self.close_button = QPushButton("Close")
        for button in (self.allow_button, self.block_button, self.remove_button, self.close_button):
            button.setAutoDefault(False)
        self.allow_button.clicked.connect(lambda _=False: self._decide(ALLOW))
        self.block_button.clicked.connect(lambda _=False: self._decide(DENY))
        self.remove_button.clicked.connect(lambda _=False: self._remove())
        self.close_button.clicked.connect(lambda _=False: self.close())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        buttons.addWidget(self.allow_button)
        buttons.addWidget(self.block_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        permissions.changed.connect(self.refresh)
        self.refresh()

    def detach(self) -> None:
        with contextlib.suppress(TypeError, RuntimeError):
            self._permissions.changed.disconnect(self.refresh)

    def refresh(self) -> None:
        if sip.isdeleted(self):
            return
        selected = self.selected()
        policy = self._permissions.policy
        file = self._permissions.file
        kept = (
            "last for this run only"
            if isinstance(file, MemoryPermissionFile)
            else f"are saved in {file.path}"
        )
        self.intro.setText(
            "Sites that may connect to peers (PeerSocket.joinSwarm). Sites with no decision: "
            f"{DEFAULTS[policy.default]}. The built-in peerapp:// apps are allowed. "
            f"Decisions made here {kept}; the command line and the config file set the others."
        )
        self.entries = policy.entries()
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            cells = (entry.origin, SHOWN[entry.decision], entry.source)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
                if entry.pinned:
                    item.setToolTip(f"Set by the {entry.source}: change it there")
                self.table.setItem(row, column, item)
        self.table.resizeColumnToContents(1)
        self.table.resizeColumnToContents(2)
        if selected is not None:
            self.select(selected.origin)
        self._update_buttons()

    def select(self, origin: str) -> bool:
        for row, entry in enumerate(self.entries):
            if entry.origin == origin:
                self.table.selectRow(row)
                return True
        self.table.clearSelection()
        return False

    def selected(self) -> Entry | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _update_buttons(self) -> None:
        entry = self.selected()
        editable = entry is not None and not entry.pinned
        self.allow_button.setEnabled(editable and entry is not None and entry.decision != ALLOW)
        self.block_button.setEnabled(editable and entry is not None and entry.decision != DENY)
        self.remove_button.setEnabled(editable)

    def _decide(self, decision: Decision) -> None:
        entry = self.selected()
        if entry is not None and not entry.pinned:
            self._permissions.decide(entry.origin, decision)

    def _remove(self) -> None:
        entry = self.selected()
        if entry is not None and not entry.pinned:
            self._permissions.forget(entry.origin)
