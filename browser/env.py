"""Process environment that must be in place before Qt WebEngine starts.

Both ``browser.main`` and the tests call :func:`prepare_environment` before a
``QApplication`` exists: QtWebEngine reads ``QTWEBENGINE_CHROMIUM_FLAGS`` once,
when its first profile is created.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import MutableMapping

log = logging.getLogger("peerbrowser.browser")

FLAGS_VAR = "QTWEBENGINE_CHROMIUM_FLAGS"

#: Flags that keep the engine from talking to the network on its own.
#: QtWebEngine 6.11 is built without Chrome's component updater, sync and
#: background services, so the first two are no-ops there today; they are kept
#: so a build that has those services does not start them. ``--no-pings``
#: (hyperlink auditing) and ``--disable-breakpad`` (crash uploads) are known to
#: this build (checked against the switch names in libQt6WebEngineCore).
QUIET_NETWORK_FLAGS: tuple[str, ...] = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-pings",
    "--disable-breakpad",
)


def _flag_name(flag: str) -> str:
    return flag.split("=", 1)[0]


def chromium_flags(existing: str, *, as_root: bool) -> str:
    """Return ``existing`` with our flags appended (never replacing the user's).

    A flag the user already gave (by name, whatever its value) is not added again.
    """
    present = {_flag_name(f) for f in shlex.split(existing)}
    wanted = list(QUIET_NETWORK_FLAGS)
    if as_root:
        wanted.append("--no-sandbox")
    extra = [f for f in wanted if _flag_name(f) not in present]
    return " ".join(part for part in (existing.strip(), *extra) if part)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def prepare_environment(*, offscreen: bool = False, environ: MutableMapping[str, str] | None = None) -> None:
    """Set the variables QtWebEngine reads at start-up.

    ``offscreen`` forces ``QT_QPA_PLATFORM=offscreen`` (headless runs, tests);
    otherwise a platform the user chose is left alone.
    """
    env = os.environ if environ is None else environ
    as_root = running_as_root()
    if as_root and "--no-sandbox" not in shlex.split(env.get(FLAGS_VAR, "")):
        log.warning(
            "running as root: QtWebEngine's sandbox cannot run as root, starting it with --no-sandbox"
        )
    env[FLAGS_VAR] = chromium_flags(env.get(FLAGS_VAR, ""), as_root=as_root)
    if offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
