"""The user's saved site decisions, in a file of their own (no Qt).

The web profile is off the record (nothing of a page is written to disk), so
the decisions a user makes in the window ("connect to peers": allow or block,
per origin) live in ``$XDG_DATA_HOME/peerbrowser/permissions.json``
(``~/.local/share/peerbrowser/permissions.json`` by default)::

    {"version": 1, "peers": {"https://example.org": "allow", "https://ads.example": "deny"}}

It is read once at start and rewritten whole after each decision: written
to a temporary file in the same directory, flushed to disk, then renamed
over the old one, so a crash leaves the old file or the new one, never half
of one. A file that cannot be read is set aside as ``permissions.json.bad``
(with a warning) and the browser starts with no saved decisions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from browser.permissions import Decision, check_decisions

log = logging.getLogger("peerbrowser.permissions")

VERSION = 1
FILE_NAME = "permissions.json"
#: A file bigger than this is not read (a few hundred thousand decisions).
MAX_FILE_BYTES = 16 * 1024 * 1024


def default_permissions_path() -> Path:
    """``$XDG_DATA_HOME/peerbrowser/permissions.json`` (``~/.local/share/...`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "peerbrowser" / FILE_NAME


class PermissionFile:
    """Load and save the saved decisions at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Decision]:
        """The saved decisions; none when the file does not exist or cannot be read."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cannot read %s (%s): starting with no saved site decisions", self.path, exc)
            return {}
        try:
            if size > MAX_FILE_BYTES:
                raise ValueError(f"over {MAX_FILE_BYTES} bytes")
            data = json.loads(self.path.read_bytes())
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError(f"not a version {VERSION} permissions file")
            peers = data.get("peers")
            if not isinstance(peers, dict):
                raise ValueError("no \"peers\" table")
        except (OSError, ValueError, RecursionError) as exc:
            bad = self.path.with_name(self.path.name + ".bad")
            log.warning(
                "%s is not a permissions file (%s): set aside as %s; starting with no saved site decisions",
                self.path,
                exc,
                bad.name,
            )
            with contextlib.suppress(OSError):
                os.replace(self.path, bad)
            return {}
        decisions: dict[str, Decision] = {}
        for origin, decision in peers.items():
            try:
                decisions.update(check_decisions({origin: decision}))
            except ValueError as exc:
                log.warning("%s: entry skipped: %s", self.path, exc)
        return decisions

    def save(self, decisions: Mapping[str, Decision]) -> None:
        """Replace the file with ``decisions``, atomically. Raises OSError on failure."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": VERSION, "peers": dict(sorted(decisions.items()))}, indent=2)
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # the rename itself, on filesystems that need it
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


class MemoryPermissionFile(PermissionFile):
    """Decisions kept in memory only (tests, and runs that must write nothing)."""

    def __init__(self, decisions: Mapping[str, Decision] | None = None) -> None:
        super().__init__(Path(os.devnull))
        self.decisions: dict[str, Decision] = dict(decisions or {})
        self.saves = 0

    def load(self) -> dict[str, Decision]:
        return dict(self.decisions)

    def save(self, decisions: Mapping[str, Decision]) -> None:
        self.decisions = dict(decisions)
        self.saves += 1
