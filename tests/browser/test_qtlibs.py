"""A desktop without Qt's X11 libraries: told what to install, before Qt starts.

The "missing library" is real: a copy of PyQt6's xcb plugin whose dependency on
libxcb-cursor.so.0 is renamed to a soname no system has (libxcb-cursor.so.9), found
by Qt's own QT_PLUGIN_PATH. ldd then reports it missing, as it reports the ten
libraries of the issue on a bare Debian 12.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from browser.qtlibs import check_window_libraries, debian_package, plugin_dirs

REPO = Path(__file__).resolve().parents[2]
PEERBROWSER = Path(sys.executable).with_name("peerbrowser")

pytestmark = pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd (libc-bin) is not installed")


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libQt6XcbQpa.so.6", None),
    ],
)
def test_sonames_map_to_debian_packages(soname: str, package: str | None) -> None:
    assert debian_package(soname) == package


@pytest.fixture
def broken_plugins(tmp_path: Path) -> Path:
    """A plugin directory whose xcb plugin needs a library that is nowhere."""
    real = next(d for d in plugin_dirs({}) if (d / "platforms" / "libqxcb.so").is_file())
    plugins = tmp_path / "Qt6" / "plugins"
    (plugins / "platforms").mkdir(parents=True)
    (tmp_path / "Qt6" / "lib").symlink_to(real.parent / "lib")  # its RUNPATH: $ORIGIN/../../lib
    data = (real / "platforms" / "libqxcb.so").read_bytes()
    assert data.count(b"\0libxcb-cursor.so.0\0") == 1
    patched = data.replace(b"\0libxcb-cursor.so.0\0", b"\0libxcb-cursor.so.9\0")
    (plugins / "platforms" / "libqxcb.so").write_bytes(patched)
    return plugins


def test_missing_libraries_are_named_with_their_packages(broken_plugins: Path) -> None:
    report = check_window_libraries({"DISPLAY": ":99", "QT_PLUGIN_PATH": str(broken_plugins)})
    assert report is not None
    assert report.plugin == broken_plugins / "platforms" / "libqxcb.so"
    assert "libxcb-cursor.so.9" in report.sonames and "libxcb-cursor9" in report.packages
    message = report.message()
    assert "X11 platform plugin (xcb)" in message and "libxcb-cursor.so.9" in message
    assert f"apt-get install {' '.join(report.packages)}" in message
    assert "peerbrowser --demo-headless" in message


def test_nothing_to_say_without_xcb(broken_plugins: Path) -> None:
    path = str(broken_plugins)
    assert check_window_libraries({"QT_PLUGIN_PATH": path}) is None  # no display
    assert check_window_libraries({"DISPLAY": ":99", "QT_QPA_PLATFORM": "offscreen", "QT_PLUGIN_PATH": path}) is None
    assert check_window_libraries({"QT_QPA_PLATFORM": "xcb", "QT_PLUGIN_PATH": path}) is not None


def _desktop_env(plugins: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    return {**env, "DISPLAY": ":99", "QT_PLUGIN_PATH": str(plugins), "PEERBROWSER_LOOPBACK_ONLY": "1"}


def test_peerbrowser_says_what_to_install_before_qt_starts(broken_plugins: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(PEERBROWSER), "--network", "none"],
        env=_desktop_env(broken_plugins),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "libxcb-cursor.so.9" in result.stderr and "apt-get install" in result.stderr
    assert "libxcb-cursor9" in result.stderr
    # Qt never started: neither its plugin error nor the sandbox warning of our start-up
    assert "Could not load the Qt platform plugin" not in result.stderr
    assert "QtWebEngine" not in result.stderr


def test_run_falls_back_to_the_headless_demo_with_that_message(broken_plugins: Path, tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [str(REPO / "run"), "--network", "none", "--screenshot", str(shot)],
        env={**_desktop_env(broken_plugins), "PEERBROWSER_NO_APT": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "libxcb-cursor9" in result.stderr and "apt-get install" in result.stderr
    assert "running the headless chat demo instead" in result.stderr
    assert "peerbrowser demo: both tabs saw both lines" in result.stdout
    assert shot.read_bytes().startswith(b"\x89PNG")
