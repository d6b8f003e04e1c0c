"""The permission gate a page's ``joinSwarm()`` passes before the core hears of it.

No Qt here. The bridge asks its gate once per join, before it calls
``SwarmCore.join``: so a join that is refused, or still waiting for the
user, has created no presence and announced nothing.

``gate.request(request, on_answer)`` either answers at once (it calls
``on_answer`` before it returns, and returns None) or later: it returns a
:class:`Ticket`, and calls ``on_answer`` exactly once when the user (or a
decision made meanwhile) answers, unless the ticket was cancelled first. The
bridge cancels the ticket when the page's document goes away (navigation,
reload, the tab closing). The answer is never reachable from the page: only
the browser, which made the gate, holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

#: A page may have this many joins waiting for an answer at once.
MAX_PENDING_JOINS = 64

#: ``on_answer(allowed, why)``: ``why`` says, for a refusal, what refused it.
OnAnswer = Callable[[bool, str], None]


@dataclass(frozen=True)
class PeerRequest:
    """What a page asks: to connect to peers of ``swarm`` (None: its origin swarm)."""

    origin: str
    swarm: str | None


class Ticket(Protocol):
    def cancel(self) -> None:
        """The question is moot (the page left): forget it, never answer it."""


class Gate(Protocol):
    def request(self, request: PeerRequest, on_answer: OnAnswer) -> Ticket | None:
        """Answer now (call ``on_answer``, return None) or later (return a Ticket)."""


class RefuseAll:
    """The gate of a page the browser gave none: nothing reaches peers."""

    def request(self, request: PeerRequest, on_answer: OnAnswer) -> None:
        on_answer(False, "this page has no permission to connect to peers")


class AllowAll:
    """Every join allowed (benchmarks; tests of other things)."""

    def request(self, request: PeerRequest, on_answer: OnAnswer) -> None:
        on_answer(True, "")


