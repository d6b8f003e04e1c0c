"""Before Qt starts: can its X11 platform plugin (xcb) load on this system?

PyQt6's wheels bring Qt, not the X11 libraries its ``xcb`` plugin links against
(libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...). Without them Qt aborts with
'Could not load the Qt platform plugin "xcb"'. This module asks the dynamic linker
(``ldd``) which of the plugin's libraries are missing, without loading anything, and
names the Debian/Ubuntu packages that provide them::

    python -m browser.qtlibs              the message (nothing when all is there)
    python -m browser.qtlibs --packages   the packages, one a line (for ./run)

No Qt import here: it must run before Qt does.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PLUGIN = Path("platforms") / "libqxcb.so"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")

#: Libraries whose Debian package name does not follow from the soname alone.
PACKAGE_OF = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libxkbcommon.so.0": "libxkbcommon0",
}


def debian_package(soname: str) -> str | None:
    """The Debian/Ubuntu package that ships ``soname`` (None for Qt's own libraries).

    Debian policy (8.1) names a library package after its soname: ``libxcb-icccm.so.4``
    is in ``libxcb-icccm4``, ``libxkbcommon-x11.so.0`` in ``libxkbcommon-x11-0`` (a
    hyphen when the name ends in a digit); :data:`PACKAGE_OF` lists the exceptions.
    """
    if soname.startswith("libQt6"):
        return None  # part of PyQt6 itself
    if soname in PACKAGE_OF:
        return PACKAGE_OF[soname]
    name, sep, version = soname.partition(".so.")
    if not sep:
        return name.removesuffix(".so").lower()
    major = version.split(".")[0]
    return f"{name}{'-' if name[-1].isdigit() else ''}{major}".lower()


def missing_libraries(library: Path) -> list[str]:
    """Sonames ``library`` needs (directly or not) that the dynamic linker cannot find.

    Empty when all are there, or when ``ldd`` is not available to tell.
    """
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({m.group(1) for line in out.splitlines() if (m := _NOT_FOUND.match(line))})


def plugin_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for plugins: ``$QT_PLUGIN_PATH``, then PyQt6's own."""
    dirs = [Path(p) for p in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec("PyQt6")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "Qt6" / "plugins")
    return dirs


def uses_xcb(environ: Mapping[str, str]) -> bool:
    """True when Qt would open its windows through X11 (xcb)."""
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return sys.platform.startswith("linux") and bool(environ.get("DISPLAY"))


@dataclass(frozen=True)
class MissingLibraries:
    plugin: Path
    sonames: tuple[str, ...]

    @property
    def packages(self) -> list[str]:
        found = {debian_package(s) for s in self.sonames}
        return sorted(p for p in found if p)

    def install_command(self) -> str:
        sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
        return f"{sudo}apt-get install {' '.join(self.packages)}"

    def message(self) -> str:
        lines = [
            "peerbrowser: Qt cannot open a window here: its X11 platform plugin (xcb) needs "
            f"libraries this system does not have: {', '.join(self.sonames)}."
        ]
        if self.packages:
            lines += [
                "Install them (Debian/Ubuntu):",
                f"    {self.install_command()}",
            ]
        qt_own = [s for s in self.sonames if debian_package(s) is None]
        if qt_own:
            lines.append(
                f"{', '.join(qt_own)} belong to PyQt6 itself ({self.plugin}): reinstall PyQt6 and PyQt6-Qt6."
            )
        lines.append(
            "Without a window, `peerbrowser --demo-headless` runs the chat demo and "
            "`peerbrowser --headless URL` runs pages."
        )
        return "\n".join(lines)


def check_window_libraries(environ: Mapping[str, str] | None = None) -> MissingLibraries | None:
    """What keeps Qt's xcb plugin from loading, or None (all there, or not using xcb)."""
    env = os.environ if environ is None else environ
    if not uses_xcb(env):
        return None
    for directory in plugin_dirs(env):
        plugin = directory / PLUGIN
        if plugin.is_file():
            missing = missing_libraries(plugin)
            # Qt takes the first plugin it finds for a platform
            return MissingLibraries(plugin, tuple(missing)) if missing else None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m browser.qtlibs", description=__doc__.splitlines()[0])
    parser.add_argument("--packages", action="store_true", help="print only the packages to install")
    args = parser.parse_args(argv)
    # as if there were a display: this asks whether a window could open
    env = {**os.environ, "DISPLAY": os.environ.get("DISPLAY") or ":0"}
    report = check_window_libraries(env)
    if report is not None:
        print("\n".join(report.packages) if args.packages else report.message())
    return 0


if __name__ == "__main__":
    sys.exit(main())
