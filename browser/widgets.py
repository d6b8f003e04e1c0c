"""Small widgets of the browser window: the identity menu, the tab-bar middle click."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QAction, QMouseEvent
from PyQt6.QtWidgets import QMenu, QTabBar, QToolButton, QWidget

IDENTITY_MENU_SIZE = 10


class MiddleClickCloser(QObject):
    """Closes the tab under the mouse on a middle click."""

    def __init__(self, bar: QTabBar, close: Callable[[int], None]) -> None:
        super().__init__(bar)
        self._bar = bar
        self._close = close
        bar.installEventFilter(self)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if (
            obj is self._bar
            and event is not None
            and event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.MiddleButton
        ):
            index = self._bar.tabAt(event.position().toPoint())
            if index >= 0:
                self._close(index)
                return True
        return False


def identity_menu(parent: QWidget, new_tab: Callable[..., object], next_free: Callable[[], int]) -> QMenu:
    """The "New tab as identity…" menu: the next identity no tab uses, then #0 .. #9.

    A menu, not a dialog: nothing modal runs while asyncio shares the Qt loop.
    """
    menu = QMenu("New tab as identity…", parent)
    menu.setObjectName("identity-menu")
    free = QAction("Next free identity", menu)
    free.setObjectName("identity-next-free")
    free.triggered.connect(lambda _c=False: new_tab(identity=next_free()))
    menu.addAction(free)
    menu.addSeparator()
    for n in range(IDENTITY_MENU_SIZE):
        action = QAction(f"Identity #{n}", menu)
        action.setObjectName(f"identity-{n}")
        action.triggered.connect(lambda _c=False, n=n: new_tab(identity=n))
        menu.addAction(action)
    return menu


def menu_button(menu: QMenu, name: str) -> QToolButton:
    """A toolbar button that opens ``menu`` at once."""
    button = QToolButton()
    button.setObjectName(name)
    button.setText(menu.title())
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    return button
