"""The peerbrowser command and its installation: headless runs, signals, the dht subcommand,
the demo, the version and the menu entry."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS

REPO = Path(__file__).resolve().parents[2]
PEERBROWSER = Path(sys.executable).with_name("peerbrowser")


def _stderr_lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue[str | None], needle: str, timeout: float) -> list[str]:
    seen: list[str] = []
    while True:
        line = lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"process ended before {needle!r}:\n{''.join(seen)}")
        seen.append(line)
        if needle in line:
            return seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_headless_browser_exits_cleanly_on_signal(signum: signal.Signals) -> None:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [str(PEERBROWSER), "--headless", "--network", "none", "peerapp://chat/?identity=1", "peerapp://board/"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        lines = _stderr_lines(proc)
        _wait_for_line(lines, "ready: 2 tab(s) (headless)", timeout=60)
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 0
        rest = []
        while (line := lines.get(timeout=10)) is not None:
            rest.append(line)
        assert any("shut down cleanly" in line for line in rest), "".join(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dht_subcommand_runs_a_bootstrap_node_until_terminated() -> None:
    port = _free_udp_port()
    proc = subprocess.Popen(
        [str(PEERBROWSER), "dht", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PEERBROWSER_LOOPBACK_ONLY": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line) == {"bootstrap": f"127.0.0.1:{port}"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_arguments_are_refused() -> None:
    result = subprocess.run(
        [str(PEERBROWSER), "--bootstrap", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr


def test_headless_chat_demo_passes(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [str(PEERBROWSER), "--demo-headless", "--network", "none", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[#1] alice: hello from alice" in result.stdout
    assert "[#2] bob: hi alice, bob here" in result.stdout
    assert shot.read_bytes().startswith(b"\x89PNG")


_BROKEN_DEMO = """
import sys
from pathlib import Path
import browser.paths as paths
if sys.argv[1] == "no-script":
    paths.peersocket_js = lambda js=None: Path("/nonexistent/peersocket.js")
else:
    paths.apps_dir = lambda: Path("/nonexistent/apps")
from browser.main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("no-script", "the PeerSocket page script is missing (/nonexistent/peersocket.js)"),
        ("no-apps", "the chat app is missing (/nonexistent/apps/chat)"),
    ],
)
def test_headless_demo_of_an_incomplete_install_fails_at_once_saying_why(
    tmp_path: Path, broken: str, why: str
) -> None:
    """As an install without its package data was: no waiting out the deadline."""
    result = subprocess.run(
        [sys.executable, "-c", _BROKEN_DEMO, broken, "--demo-headless", "--network", "none",
         "--screenshot", str(tmp_path / "demo.png")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"peerbrowser demo FAILED: {why}: this installation is incomplete" in result.stderr
    assert "both tabs saw both lines" not in result.stdout
    assert "timed out" not in result.stderr


def test_the_demo_watchdog_ends_a_hung_process_saying_where_it_hung() -> None:
    code = (
        "import threading\n"
        "from browser.demo import Watchdog\n"
        "dog = Watchdog(limit=0.5).start()\n"
        "dog.step = 'waiting for Qt'\n"
        "threading.Event().wait()  # a hang\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 1
    assert "peerbrowser demo FAILED: no result after 0.5 s (stuck while waiting for Qt)" in result.stderr


_CLOSE_WINDOW_WHEN_LOADED = """
import sys
from PyQt6.QtCore import QTimer
from browser import main, window

shown = window.BrowserWindow.show

def show_then_close(self):
    shown(self)
    timer = QTimer(self)
    timer.timeout.connect(lambda: all(t.progress >= 100 for t in self.tabs()) and self.close())
    timer.start(20)

window.BrowserWindow.show = show_then_close
sys.exit(main.main(["peerapp://chat/", "peerapp://board/"]))
"""


def test_closing_the_window_ends_the_run_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CLOSE_WINDOW_WHEN_LOADED],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert "stopping: window closed" in result.stderr
    assert "shut down cleanly" in result.stderr


def test_no_display_and_no_headless_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [str(PEERBROWSER), "peerapp://chat/"], capture_output=True, text=True, timeout=60, cwd=REPO, env=env
    )
    assert result.returncode == 2
    assert "--headless" in result.stderr


def test_version_is_the_one_in_browser_init(capsys: pytest.CaptureFixture[str]) -> None:
    from browser import __version__
    from browser import main as main_module

    with pytest.raises(SystemExit) as info:
        main_module.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"peerbrowser {__version__}"
    setup_cfg = (REPO / "setup.cfg").read_text()
    assert "version = attr: browser.__version__" in setup_cfg


def test_the_menu_entry_runs_this_installation(tmp_path: Path) -> None:
    import configparser

    from browser.desktop import exec_argument, install_desktop_entry

    assert exec_argument("/usr/bin/peerbrowser") == "/usr/bin/peerbrowser"
    assert exec_argument("/home/a b/bin/peerbrowser") == '"/home/a b/bin/peerbrowser"'
    assert exec_argument('/x/"q"$/p') == '"/x/\\\\"q\\\\"\\\\$/p"'
    entry = install_desktop_entry({"XDG_DATA_HOME": str(tmp_path)})
    assert entry == tmp_path / "applications" / "peerbrowser.desktop"
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.read(entry)
    section = desktop["Desktop Entry"]
    assert section["Exec"] == f"{exec_argument(str(PEERBROWSER))} %U"
    icon = Path(section["Icon"])
    assert icon == tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "peerbrowser.svg"
    assert icon.read_text().startswith("<svg")
    assert (section["Type"], section["Name"], section["Terminal"]) == ("Application", "Peerbrowser", "false")
