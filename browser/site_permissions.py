"""The window's side of the "connect to peers" permission.

:class:`SitePermissions` holds the policy (``browser/permissions.py``), saves
the user's decisions (``browser/permission_file.py``), keeps the questions
pages are waiting on, and acts on decisions: answering every waiting
question of that origin in every tab, and, when an origin loses its
permission, closing all its swarms at once (close code 1008, "permission
revoked") through ``SwarmCore.close_origin``.

Each tab gets a :class:`TabGate` for its bridge (``bridge/consent.py``). The
answer to a question is only ever given from here, by the window's widgets
(the permission bar, the peers indicator, the site-permissions dialog) or by
flags and config: nothing here is published to pages.
"""

from __future__ import annotations

import logging
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from bridge.consent import OnAnswer, PeerRequest
from browser.permission_file import MemoryPermissionFile, PermissionFile
from browser.permissions import (
    ALLOW,
    ASK,
    DENY,
    OPAQUE,
    SOURCE_BUILT_IN,
    SOURCE_COMMAND_LINE,
    SOURCE_CONFIG,
    SOURCE_SAVED,
    Answer,
    Decision,
    PermissionPolicy,
)
from swarm.core import SwarmCore

log = logging.getLogger("peerbrowser.permissions")

#: Close code and reason of the swarms of an origin whose permission was revoked.
CLOSE_REVOKED = 1008
REVOKED_REASON = "permission revoked"
#: ... and of those the user disconnected (the indicator's "Disconnect").
CLOSE_DISCONNECTED = 1001
DISCONNECTED_REASON = "disconnected by the user"


class PendingRequest:
    """One ``joinSwarm()`` waiting for the user's answer in one tab."""

    def __init__(
        self, owner: SitePermissions, tab: object, request: PeerRequest, on_answer: OnAnswer
    ) -> None:
        self._owner = owner
        self.tab = tab
        self.request = request
        self._on_answer: OnAnswer | None = on_answer

    @property
    def origin(self) -> str:
        return self.request.origin

    @property
    def done(self) -> bool:
        return self._on_answer is None

    def cancel(self) -> None:
        """The page left: forget the question without answering it."""
        if self._on_answer is not None:
            self._on_answer = None
            self._owner._remove(self)

    def answer(self, allowed: bool, why: str) -> None:
        on_answer, self._on_answer = self._on_answer, None
        if on_answer is None:
            return
        self._owner._remove(self)
        try:
            on_answer(allowed, why)
        except Exception:
            log.exception("a page's permission answer failed")

    def __repr__(self) -> str:
        return f"<PendingRequest {self.request.origin} {self.request.swarm!r}>"


class TabGate:
    """One tab's gate: what its bridge asks before every join."""

    def __init__(self, owner: SitePermissions, tab: object) -> None:
        self._owner = owner
        self._tab = tab

    def request(self, request: PeerRequest, on_answer: OnAnswer) -> PendingRequest | None:
        return self._owner._request(self._tab, request, on_answer)


class SitePermissions(QObject):
    """Decisions, waiting questions, and what follows from a decision.

    Signals:
        changed(): a decision changed (the indicator and the dialog follow).
        pendingChanged(object): the questions waiting in that tab changed.
        problem(str): something the user should know (the file could not be saved).
    """

    changed = pyqtSignal()
    pendingChanged = pyqtSignal(object)
    problem = pyqtSignal(str)

    def __init__(
        self,
        policy: PermissionPolicy | None = None,
        file: PermissionFile | None = None,
        *,
        core: SwarmCore | None = None,
        can_ask: bool = True,
        hide_addresses: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.file = file if file is not None else MemoryPermissionFile()
        self.policy = policy if policy is not None else PermissionPolicy(saved=self.file.load())
        self.core = core
        #: False in headless runs: nobody can answer, so "ask" refuses.
        self.can_ask = can_ask
        #: Pages see socket.info.host / .port as null (``--peer-addresses hide``).
        self.hide_addresses = hide_addresses
        self._pending: list[PendingRequest] = []

    @classmethod
    def allow_all(cls, **kwargs: Any) -> SitePermissions:
        """Every site allowed, nothing saved (benchmarks, tests of other things)."""
        return cls(PermissionPolicy(ALLOW), MemoryPermissionFile(), **kwargs)

    # --- questions --------------------------------------------------------------------

    def gate(self, tab: object) -> TabGate:
        return TabGate(self, tab)

    def answer_for(self, origin: str) -> Answer:
        return self.policy.answer(origin)

    def pending(self, tab: object | None = None) -> list[PendingRequest]:
        """The questions waiting in ``tab`` (every tab: None), oldest first."""
        return [p for p in self._pending if tab is None or p.tab is tab]

    def _request(self, tab: object, request: PeerRequest, on_answer: OnAnswer) -> PendingRequest | None:
        answer = self.policy.answer(request.origin)
        if answer == ALLOW:
            on_answer(True, "")
            return None
        if answer == DENY:
            on_answer(False, self.refusal(request.origin))
            return None
        if not self.can_ask:
            on_answer(False, "no one can answer the question in a headless run (--peers-permission ask)")
            return None
        pending = PendingRequest(self, tab, request, on_answer)
        self._pending.append(pending)
        log.info("%s asks to connect to peers (%s)", request.origin, request.swarm or "its origin swarm")
        self.pendingChanged.emit(tab)
        return pending

    def _remove(self, pending: PendingRequest) -> None:
        if pending in self._pending:
            self._pending.remove(pending)
            self.pendingChanged.emit(pending.tab)

    def refusal(self, origin: str) -> str:
        """Why ``origin`` is refused, as the page's error message says it."""
        if origin == OPAQUE:
            return "data:, file: and about: pages cannot be given permission (serve the page from http(s)://)"
        source = self.policy.source(origin)
        return {
            SOURCE_COMMAND_LINE: "the site is blocked by --site-permission",
            SOURCE_CONFIG: "the site is blocked in the config file ([permissions])",
            SOURCE_SAVED: "the user blocked this site",
            SOURCE_BUILT_IN: "the user blocked this site",
        }.get(source, "sites are refused unless allowed (--peers-permission deny)")

    def dismiss(self, tab: object) -> None:
        """The user closed the tab's permission bar: refuse its questions, decide nothing."""
        for pending in self.pending(tab):
            pending.answer(False, "the user dismissed the request")

    # --- decisions --------------------------------------------------------------------

    def decide(self, origin: str, decision: Decision) -> None:
        """The user's decision for ``origin``: saved, then acted on at once.

        Raises ValueError (``PinnedError``) for origins the command line or the
        config file decide, and for opaque origins.
        """
        self.policy.decide(origin, decision)
        log.info("site decision: %s %s", decision, origin)
        self._save()
        self._apply(origin)

    def forget(self, origin: str) -> None:
        """Remove the user's decision: the built-in or default answer applies again."""
        self.policy.forget(origin)
        log.info("site decision removed: %s", origin)
        self._save()
        self._apply(origin)

    def disconnect_origin(self, origin: str) -> None:
        """Close every swarm of ``origin`` now (its pages may join again)."""
        self._close_origin(origin, CLOSE_DISCONNECTED, DISCONNECTED_REASON)

    def _apply(self, origin: str) -> None:
        answer = self.policy.answer(origin)
        if answer != ALLOW:
            self._close_origin(origin, CLOSE_REVOKED, REVOKED_REASON)
        if answer != ASK:
            for pending in [p for p in self._pending if p.origin == origin]:
                pending.answer(answer == ALLOW, "" if answer == ALLOW else self.refusal(origin))
        self.changed.emit()

    def _close_origin(self, origin: str, code: int, reason: str) -> None:
        core = self.core
        if core is None or core.closed:
            return
        closed = core.close_origin(origin, code, reason)
        if closed:
            log.info("%s: %d swarm(s) closed (%s)", origin, closed, reason)

    def _save(self) -> None:
        try:
            self.file.save(self.policy.saved())
        except OSError as exc:
            message = f"could not save site decisions to {self.file.path}: {exc}"
            log.warning("%s", message)
            self.problem.emit(message)
