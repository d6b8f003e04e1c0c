"""The permission bar: a strip above a tab's page that asks "connect to peers?".

It shows while the tab's page has a ``joinSwarm()`` waiting for an answer
(``SitePermissions.pending(tab)``), names the origin (as the browser sees
it) and the swarms it asks for, and offers Allow and Block (remembered for
the origin) and a close button (refuses the waiting calls, decides nothing).

The text is plain text, with the page-chosen swarm names escaped and cut
(``browser.permissions.describe_request``): a page cannot style or reword
the question. Allow and Block accept clicks only ``INPUT_PROTECTION_MS``
after the bar appears (or turns to another origin), so a page cannot make
the bar pop up under a click the user was already making; the same holds
each time the bar is shown again (its tab brought to the front).
"""

from __future__ import annotations

import contextlib

from PyQt6 import sip
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QShowEvent
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from browser.permissions import ALLOW, DENY, describe_request
from browser.site_permissions import SitePermissions

INPUT_PROTECTION_MS = 500


class PermissionBar(QFrame):
    """The bar of one tab (``tab``: the key its gate and questions carry)."""

    def __init__(self, permissions: SitePermissions, tab: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("permission-bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self._permissions = permissions
        self._tab = tab
        self.origin: str | None = None
        self.label = QLabel()
        self.label.setObjectName("permission-text")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.allow_button = QPushButton("Allow")
        self.allow_button.setObjectName("permission-allow")
        self.block_button = QPushButton("Block")
        self.block_button.setObjectName("permission-block")
        self.dismiss_button = QToolButton()
        self.dismiss_button.setObjectName("permission-dismiss")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Dismiss: refuse this time, ask again next time")
        for button in (self.allow_button, self.block_button):
            button.setAutoDefault(False)
            button.setToolTip("Remembered for this site; change it in Site permissions")
        self.allow_button.clicked.connect(lambda _=False: self._decide(ALLOW))
        self.block_button.clicked.connect(lambda _=False: self._decide(DENY))
        self.dismiss_button.clicked.connect(lambda _=False: self._permissions.dismiss(self._tab))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.allow_button)
        layout.addWidget(self.block_button)
        layout.addWidget(self.dismiss_button)
        self._armed = QTimer(self)
        self._armed.setSingleShot(True)
        self._armed.setInterval(INPUT_PROTECTION_MS)
        self._armed.timeout.connect(self._enable)
        permissions.pendingChanged.connect(self._on_pending_changed)
        self.hide()

    def detach(self) -> None:
        """The tab is closing: stop following the questions."""
        self._armed.stop()
        with contextlib.suppress(TypeError, RuntimeError):
            self._permissions.pendingChanged.disconnect(self._on_pending_changed)

    def _on_pending_changed(self, tab: object) -> None:
        if tab is self._tab and not sip.isdeleted(self):
            self.refresh()

    def refresh(self) -> None:
        pending = self._permissions.pending(self._tab)
        if not pending:
            self.origin = None
            self._armed.stop()
            self.hide()
            return
        origin = pending[0].origin
        swarms = [p.request.swarm for p in pending if p.origin == origin]
        self.label.setText(describe_request(origin, swarms))
        if origin != self.origin:
            self.origin = origin
            self._arm()
        self.show()

    def showEvent(self, event: QShowEvent | None) -> None:
        # shown, or its tab brought to the front: the page may have timed it
        super().showEvent(event)
        self._arm()

    def _arm(self) -> None:
        self.allow_button.setEnabled(False)
        self.block_button.setEnabled(False)
        self._armed.start()

    def _enable(self) -> None:
        self.allow_button.setEnabled(True)
        self.block_button.setEnabled(True)

    def _decide(self, decision: str) -> None:
        if self.origin is None or not self.allow_button.isEnabled():
            return
        self._permissions.decide(self.origin, ALLOW if decision == ALLOW else DENY)
