"""Process environment that must be in place before Qt WebEngine starts.

QtWebEngine reads ``QTWEBENGINE_CHROMIUM_FLAGS`` once, when its first profile
is created, and Qt the platform (``QT_QPA_PLATFORM``) when the application is
made: :func:`prepare_environment` sets both, and ``browser/qtstart.py`` calls it
before anything else, for the browser, the benchmarks and the tests alike.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import MutableMapping, Sequence

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


def chromium_flags(existing: str, *, as_root: bool, extra: Sequence[str] = ()) -> str:
    """Return ``existing`` with our flags, then ``extra``, appended (never replacing
    the user's).

    A flag the user already gave (by name, whatever its value) is not added again.
    """
    present = {_flag_name(f) for f in shlex.split(existing)}
    wanted = [*QUIET_NETWORK_FLAGS, *extra]
    if as_root:
        wanted.append("--no-sandbox")
    extra = [f for f in wanted if _flag_name(f) not in present]
    return " ".join(part for part in (existing.strip(), *extra) if part)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def prepare_environment(
    *,
    offscreen: bool = False,
    extra_flags: Sequence[str] = (),
    environ: MutableMapping[str, str] | None = None,
) -> None:
    """Set the variables QtWebEngine reads at start-up.

    ``offscreen`` forces ``QT_QPA_PLATFORM=offscreen`` (headless runs, tests);
    otherwise a platform the user chose is left alone. ``extra_flags`` are more
    Chromium flags (benchmarks), added like the browser's own.
    """
    env = os.environ if environ is None else environ
    as_root = running_as_root()
    if as_root and "--no-sandbox" not in shlex.split(env.get(FLAGS_VAR, "")):
        log.warning(
            "running as root: QtWebEngine's sandbox cannot run as root, starting it with --no-sandbox"
        )
    env[FLAGS_VAR] = chromium_flags(env.get(FLAGS_VAR, ""), as_root=as_root, extra=extra_flags)
    if offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
