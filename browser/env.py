"""Process environment that must be in place before Qt WebEngine starts.

QtWebEngine reads ``QTWEBENGINE_CHROMIUM_FLAGS`` once, when its first profile
is created, and Qt the platform (``QT_QPA_PLATFORM``) when the application is
made: :func:`prepare_environment` sets both, and ``browser/qtstart.py`` calls it
before anything else, for the browser, the benchmarks and the tests alike.
"""

from __future__ import annotations

import logging
import os
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


#: V8 flags for every renderer, merged into the ``--js-flags`` the user gave (V8 takes
#: them comma-separated; of several ``--js-flags`` Chromium keeps only the last).
#:
#: ``--initial-old-space-size``: the old generation a page may fill before V8's first
#: full collection. Without it V8 starts with a limit of hundreds of MiB, and in
#: QtWebEngine nothing collects sooner: a page that exchanges messages promotes a few
#: KiB of garbage per round trip, and a page that was sent a flood keeps it, so a
#: renderer only grew (measured: a pinging tab's JS heap rose 0.6 MiB/s for 70 s, to
#: 229 MiB and a 463 MiB renderer; an idle tab that had read 50 MB of messages held
#: 44-62 MiB for 60 s). With 8 MiB the heap falls back to what is live at each limit;
#: past that V8 sizes the limit from the live heap as usual, so a page that needs
#: more memory gets it (unlike ``--max-old-space-size``). 8 rather than 16: after a
#: hostile device's floods the browser's tree kept +7 to +21 MiB instead of +13 to
#: +33, with the same RTT and msgs/s (docs/RELIABILITY.md, "Renderer garbage").
V8_FLAGS: tuple[str, ...] = ("--initial-old-space-size=8",)

JS_FLAGS = "--js-flags"


def _flag_name(flag: str) -> str:
    return flag.split("=", 1)[0]


def _with_v8_flags(parts: list[str], v8_flags: Sequence[str]) -> list[str]:
    """``parts`` with ``v8_flags`` added to its last ``--js-flags`` (one made if none);
    a V8 flag the user set there already (by name) is left as the user set it."""
    last = max((i for i, part in enumerate(parts) if _flag_name(part) == JS_FLAGS), default=None)
    given = parts[last].split("=", 1)[1] if last is not None and "=" in parts[last] else ""
    have = [flag for flag in given.split(",") if flag]
    names = {_flag_name(flag) for flag in have}
    value = ",".join([*have, *(f for f in v8_flags if _flag_name(f) not in names)])
    if not value:
        return parts
    merged = f"{JS_FLAGS}={value}"
    return [*parts[:last], merged, *parts[last + 1 :]] if last is not None else [*parts, merged]


def chromium_flags(
    existing: str, *, as_root: bool, extra: Sequence[str] = (), v8_flags: Sequence[str] = V8_FLAGS
) -> str:
    """Return ``existing`` with our flags, then ``extra``, appended (never replacing
    the user's), and ``v8_flags`` added to the user's ``--js-flags``.

    A flag the user already gave (by name, whatever its value) is not added again.
    QtWebEngine splits the variable at spaces, so that is how it is read here too.
    """
    parts = existing.split()
    present = {_flag_name(f) for f in parts}
    wanted = [*QUIET_NETWORK_FLAGS, *extra]
    if as_root:
        wanted.append("--no-sandbox")
    parts += [f for f in wanted if _flag_name(f) not in present]
    return " ".join(_with_v8_flags(parts, v8_flags))


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
    if as_root and "--no-sandbox" not in env.get(FLAGS_VAR, "").split():
        log.warning(
            "running as root: QtWebEngine's sandbox cannot run as root, starting it with --no-sandbox"
        )
    env[FLAGS_VAR] = chromium_flags(env.get(FLAGS_VAR, ""), as_root=as_root, extra=extra_flags)
    if offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
