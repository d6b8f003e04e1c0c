"""Which origins may connect to peers: the permission policy (no Qt, no I/O).

A page reaches peers (``PeerSocket.joinSwarm()``) only with its origin's
permission. For one origin the answer comes from the first of these that
has one:

1. the command line (``--site-permission ORIGIN=allow|deny``);
2. the config file (``[permissions]`` table);
3. the decisions the user made in the window (saved, see
   ``browser/permission_file.py``);
4. the built-in ``peerapp://`` demo apps: allowed;
5. the answer for origins with no decision (``--peers-permission``, else
   ``peers_permission`` in the config file, else ``ask`` with a window and
   ``allow`` headless).

Decisions from 1 and 2 are *pinned*: the window shows them and cannot change
them. Pages with an opaque origin (``data:``, ``file:``, ``about:``) share one
serialized origin, ``"null"``: nothing can be decided for them, and they are
allowed only when the default answer is ``allow`` (never asked).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Decision = Literal["allow", "deny"]
Answer = Literal["allow", "deny", "ask"]

ALLOW: Decision = "allow"
DENY: Decision = "deny"
ASK: Answer = "ask"
DECISIONS: tuple[Decision, ...] = (ALLOW, DENY)
ANSWERS: tuple[Answer, ...] = ("ask", "allow", "deny")

#: The serialized opaque origin (``bridge.origin.origin_of``).
OPAQUE = "null"
#: Where a decision comes from, as the window names it.
SOURCE_COMMAND_LINE = "command line"
SOURCE_CONFIG = "config file"
SOURCE_SAVED = "saved"
SOURCE_BUILT_IN = "built-in app"
SOURCE_DEFAULT = "default"

MAX_ORIGIN_LEN = 2048
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


def normalize_origin(text: str) -> str:
    """``"HTTPS://Example.org:443/"`` -> ``"https://example.org"``; ValueError if not an origin.

    The result is what the bridge derives from a page's URL (``bridge/origin.py``):
    scheme and host in lower case, IDNA hosts in ASCII, default ports left out,
    IPv6 literals in brackets. Paths other than ``/``, queries, fragments and
    user names are refused: a permission is for a whole origin.
    """
    if not isinstance(text, str) or not text or len(text) > MAX_ORIGIN_LEN:
        raise ValueError(f"{text!r} is not an origin like \"https://example.org\"")
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} is not an origin like \"https://example.org\"") from None
    host = parts.hostname or ""
    if not parts.scheme or not host or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{text!r} is not an origin like \"https://example.org\" (scheme://host[:port])")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{text!r}: an origin has no user name")
    scheme = parts.scheme.lower()
    if ":" in host:
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ValueError(f"{text!r}: the host is not a valid domain name") from None
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def check_decision(value: object) -> Decision:
    if value == ALLOW:
        return ALLOW
    if value == DENY:
        return DENY
    raise ValueError(f"{value!r} is not a decision: use \"allow\" or \"deny\"")


def check_answer(value: object) -> Answer:
    if value == "ask" or value == "allow" or value == "deny":
        return value
    raise ValueError(f"{value!r} is not an answer: use \"ask\", \"allow\" or \"deny\"")


def parse_site_permission(text: str) -> tuple[str, Decision]:
    """``"https://example.org=allow"`` (the ``--site-permission`` argument)."""
    origin, sep, decision = text.rpartition("=")
    if not sep:
        raise ValueError(f"{text!r} is not ORIGIN=allow or ORIGIN=deny")
    return normalize_origin(origin), check_decision(decision.strip())


def check_decisions(table: Mapping[str, object]) -> dict[str, Decision]:
    """A table of ``origin -> "allow" | "deny"``, checked and normalized (ValueError)."""
    out: dict[str, Decision] = {}
    for origin, decision in table.items():
        try:
            out[normalize_origin(origin)] = check_decision(decision)
        except ValueError as exc:
            raise ValueError(f"permissions: {exc}") from None
    return out


def default_answer(cli: Answer | None, config: Answer | None, *, headless: bool) -> Answer:
    """The answer for origins with no decision: the command line, then the config
    file, then ``ask`` with a window and ``allow`` headless."""
    if cli is not None:
        return cli
    if config is not None:
        return config
    return ALLOW if headless else ASK


@dataclass(frozen=True)
class Entry:
    """One decision as the window lists it."""

    origin: str
    decision: Decision
    source: str

    @property
    def pinned(self) -> bool:
        return self.source in (SOURCE_COMMAND_LINE, SOURCE_CONFIG)


class PinnedError(ValueError):
    """The origin's decision is set by the command line or the config file."""


class PermissionPolicy:
    """Per-origin decisions and the answer for the rest."""

    def __init__(
        self,
        default: Answer = ASK,
        *,
        command_line: Mapping[str, Decision] | None = None,
        config: Mapping[str, Decision] | None = None,
        saved: Mapping[str, Decision] | None = None,
        built_in: Iterable[str] = (),
    ) -> None:
        self.default = check_answer(default)
        self._layers: tuple[tuple[str, dict[str, Decision]], ...] = (
            (SOURCE_COMMAND_LINE, check_decisions(command_line or {})),
            (SOURCE_CONFIG, check_decisions(config or {})),
            (SOURCE_SAVED, check_decisions(saved or {})),
            (SOURCE_BUILT_IN, {normalize_origin(o): ALLOW for o in built_in}),
        )
        self._saved = self._layers[2][1]
        self._saved.pop(OPAQUE, None)

    def entry(self, origin: str) -> Entry | None:
        """The decision that applies to ``origin``, or None (the default answer applies)."""
        if origin == OPAQUE:
            return None
        for source, decisions in self._layers:
            decision = decisions.get(origin)
            if decision is not None:
                return Entry(origin, decision, source)
        return None

    def answer(self, origin: str) -> Answer:
        """``allow``, ``deny``, or ``ask`` (ask the user in the window)."""
        entry = self.entry(origin)
        if entry is not None:
            return entry.decision
        if origin == OPAQUE and self.default == ASK:
            return DENY  # one "null" origin for every such page: nothing to ask about
        return self.default

    def source(self, origin: str) -> str:
        entry = self.entry(origin)
        return entry.source if entry is not None else SOURCE_DEFAULT

    def pinned(self, origin: str) -> bool:
        entry = self.entry(origin)
        return entry is not None and entry.pinned

    def can_decide(self, origin: str) -> bool:
        """Whether the user's decision for ``origin`` would count (not opaque, not pinned)."""
        return origin != OPAQUE and not self.pinned(origin)

    def decide(self, origin: str, decision: Decision) -> None:
        """Record the user's decision (the caller saves :meth:`saved`)."""
        decision = check_decision(decision)
        self._check_decidable(origin)
        self._saved[origin] = decision

    def forget(self, origin: str) -> None:
        """Remove the user's decision: the built-in or default answer applies again."""
        self._check_decidable(origin)
        self._saved.pop(origin, None)

    def _check_decidable(self, origin: str) -> None:
        if origin == OPAQUE:
            raise ValueError("pages with an opaque origin (data:, file:, about:) cannot be given a decision")
        if origin != normalize_origin(origin):
            raise ValueError(f"{origin!r} is not a serialized origin")
        entry = self.entry(origin)
        if entry is not None and entry.pinned:
            raise PinnedError(f"the decision for {origin} is set by the {entry.source}")

    def saved(self) -> dict[str, Decision]:
        """The user's decisions (what the permissions file holds)."""
        return dict(self._saved)

    def entries(self) -> list[Entry]:
        """Every decision that applies, one per origin, pinned ones included; by origin."""
        seen: dict[str, Entry] = {}
        for source, decisions in self._layers:
            if source == SOURCE_BUILT_IN:
                continue
            for origin, decision in decisions.items():
                seen.setdefault(origin, Entry(origin, decision, source))
        return sorted(seen.values(), key=lambda e: e.origin)


def describe_swarm(name: str | None, limit: int = 48) -> str:
    """How the window names a requested swarm: ``'pauls-chat-room'`` or ``its own swarm``.

    The name comes from the page: characters that are not printable (controls,
    bidirectional overrides, line breaks) are shown escaped, and a long name is
    cut, so a page cannot make the prompt say something else.
    """
    if name is None:
        return "its own swarm"
    shown = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in name)
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"'{shown}'"


def describe_request(origin: str, swarms: Iterable[str | None]) -> str:
    """``"peerapp://chat wants to connect to peers in 'pauls-chat-room'"``; several
    swarms are listed (the first few, then how many more)."""
    names: list[str] = []
    for swarm in swarms:
        shown = describe_swarm(swarm)
        if shown not in names:
            names.append(shown)
    if not names:
        names = [describe_swarm(None)]
    if len(names) > 3:
        names = [*names[:2], f"{len(names) - 2} more swarms"]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{origin} wants to connect to peers in {listed}"
