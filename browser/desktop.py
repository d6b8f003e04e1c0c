"""The desktop menu entry: ``peerbrowser.desktop`` and its icon, shipped in the wheel.

``pip install --user`` puts both under ``~/.local/share`` (setup.cfg's data_files),
where the menu finds them. A venv or pipx keeps its ``share/`` to itself, so
``peerbrowser setup --desktop`` copies them to ``$XDG_DATA_HOME`` (``~/.local/share``)
with ``Exec=`` naming this installation's ``peerbrowser``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from browser.paths import package_dir

DESKTOP_NAME = "peerbrowser.desktop"
ICON_NAME = "peerbrowser.svg"


def data_dir() -> Path:
    """``browser/data``: the menu entry and the icon."""
    return package_dir("browser") / "data"


def icon_path() -> Path:
    return data_dir() / ICON_NAME


def peerbrowser_command() -> str:
    """The ``peerbrowser`` script of this installation (beside its Python), else on PATH."""
    beside = Path(sys.executable).with_name("peerbrowser")
    if beside.is_file():
        return str(beside)
    return shutil.which("peerbrowser") or "peerbrowser"


#: Characters that make an Exec= argument need quotes (Desktop Entry spec, "Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_argument(arg: str) -> str:
    """One argument of an ``Exec=`` line, quoted and escaped as the spec asks."""
    arg = arg.replace("%", "%%")
    if _RESERVED.isdisjoint(arg):
        return arg
    quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return quoted.replace("\\", "\\\\")  # and as a string value, each backslash is doubled


def desktop_entry(command: str, icon: str = "peerbrowser") -> str:
    """The packaged ``.desktop`` text with ``Exec=`` and ``Icon=`` filled in."""
    lines = []
    for line in (data_dir() / DESKTOP_NAME).read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_argument(command)} %U"
        elif line.startswith("Icon="):
            line = f"Icon={icon}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install_desktop_entry(environ: dict[str, str] | None = None) -> Path:
    """Write the menu entry and the icon under ``$XDG_DATA_HOME``; return the entry's path."""
    env = os.environ if environ is None else environ
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    icon = base / "icons" / "hicolor" / "scalable" / "apps" / ICON_NAME
    icon.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(icon_path(), icon)
    entry = base / "applications" / DESKTOP_NAME
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_suffix(".tmp")
    tmp.write_text(desktop_entry(peerbrowser_command(), str(icon)), encoding="utf-8")
    tmp.replace(entry)
    return entry
