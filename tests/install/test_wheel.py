"""Peerbrowser as a user installs it: sdist and wheel, a fresh venv, run from elsewhere.

The sdist is built from the working tree's files (as a clean clone would have them),
the wheel from that sdist (`python -m build`), and the wheel installed with its
dependencies into a new venv outside the checkout (no system site-packages; pip's
cache makes a second run fast). The installed `peerbrowser` then runs from another
directory with its own XDG_CACHE_HOME: the headless demo, and two headless browsers
that meet on the local network (127.0.0.1, a free port, never 49736) after setting up
the sidecar on first use (the real `npm ci` from the packaged lockfile).

Needs the package index (as CI has); skipped, saying why, when it cannot be reached.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from browser import __version__
from tests.network.processes import Proc

pytestmark = pytest.mark.install

REPO = Path(__file__).resolve().parents[2]
#: Generous bounds for pip over the network; only so that a broken run ends.
PIP_GUARD = 1500
SAYS = re.compile(r"([0-9a-f]{64}) says (.+)$")


def _clean_env() -> dict[str, str]:
    """This environment without the checkout on PYTHONPATH (tests/conftest.py puts it
    there): pip would take the checkout's ``peerbrowser.egg-info`` for an installed
    peerbrowser and install nothing, and the installed browser must not import it."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _run(argv: list[str], *, timeout: float = PIP_GUARD, **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("env", _clean_env())
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def _index_reachable() -> str | None:
    """None when pip can reach its package index, else why not."""
    probe = _run([sys.executable, "-m", "pip", "index", "versions", "PyQt6-WebEngine"], timeout=180)
    if probe.returncode == 0:
        return None
    return (probe.stderr.strip().splitlines() or ["no answer"])[-1]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _working_tree(dest: Path) -> Path:
    """The files a clean clone of the working tree has (tracked and new, not ignored)."""
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@dataclass
class Installed:
    venv: Path
    wheel: Path
    sdist: Path
    home: Path  # a directory outside the checkout to run from

    @property
    def peerbrowser(self) -> str:
        return str(self.venv / "bin" / "peerbrowser")

    def env(self, **extra: str) -> dict[str, str]:
        """A user's environment: the venv's bin first, caches and config of its own."""
        env = _clean_env()
        env.update(
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            XDG_CACHE_HOME=str(self.home / "cache"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_DATA_HOME=str(self.home / "data"),
            PEERBROWSER_LOOPBACK_ONLY="1",
            QT_QPA_PLATFORM="offscreen",
        )
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    why = _index_reachable()
    if why is not None:
        pytest.skip(f"the package index is not reachable ({why}): cannot install the wheel's dependencies")
    base = tmp_path_factory.mktemp("install")
    src = _working_tree(base / "src")
    dist = base / "dist"
    built = _run([sys.executable, "-m", "build", "--outdir", str(dist), str(src)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("peerbrowser-*.whl")
    (sdist,) = dist.glob("peerbrowser-*.tar.gz")
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    assert made.returncode == 0, made.stderr
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", str(wheel)])
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    home = base / "elsewhere"
    home.mkdir()
    yield Installed(venv, wheel, sdist, home)


def test_the_wheel_and_the_sdist_carry_what_the_browser_needs(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tops = {n.split("/")[0] for n in names}
    assert {"browser", "bridge", "js", "swarm"} <= tops
    assert tops - {"browser", "bridge", "js", "swarm"} == {
        f"peerbrowser-{__version__}.dist-info",
        f"peerbrowser-{__version__}.data",
    }
    needed = [
        "js/peersocket.js",
        "js/apps/chat/index.html",
        "js/apps/chat/chat.js",
        "js/apps/board/board.js",
        "js/apps/proposal/index.html",
        "js/apps/start/index.html",
        "swarm/sidecar/sidecar.js",
        "swarm/sidecar/loopback-guard.cjs",
        "swarm/sidecar/package.json",
        "swarm/sidecar/package-lock.json",
        "browser/data/peerbrowser.desktop",
        "browser/data/peerbrowser.svg",
        f"peerbrowser-{__version__}.data/data/share/applications/peerbrowser.desktop",
        f"peerbrowser-{__version__}.data/data/share/icons/hicolor/scalable/apps/peerbrowser.svg",
    ]
    assert [n for n in needed if n not in names] == []
    # every file of js/ and of the sidecar (what the checkout tracks), none of node_modules
    listed = _run(["git", "ls-files", "js", "swarm/sidecar"], cwd=REPO, timeout=60).stdout.split()
    tracked = [n for n in listed if not n.startswith("js/tests/")]  # the JS tests stay out
    assert tracked and [n for n in tracked if n not in names] == []
    assert not any("node_modules" in n for n in names)
    with tarfile.open(installed.sdist) as sdist:
        in_sdist = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert [n for n in tracked if n not in in_sdist] == []


def test_installed_files_come_from_the_venv_not_the_checkout(installed: Installed) -> None:
    code = (
        "import browser, bridge, js, swarm\n"
        "from browser import paths\n"
        "from swarm.sidecar_install import PACKAGED_DIR, runs_in_place\n"
        "for m in (browser, bridge, js, swarm): print(m.__file__)\n"
        "print(paths.peersocket_js()); print(paths.apps_dir()); print(PACKAGED_DIR)\n"
        "print(runs_in_place(PACKAGED_DIR))\n"
    )
    result = _run([str(installed.venv / "bin" / "python"), "-c", code], cwd=installed.home, env=installed.env())
    assert result.returncode == 0, result.stderr
    *paths, in_place = result.stdout.splitlines()
    site = str(installed.venv / "lib")
    assert all(p.startswith(site) for p in paths), paths
    assert in_place == "False"  # an install uses the cache, not site-packages
    version = _run([installed.peerbrowser, "--version"], cwd=installed.home, env=installed.env(), timeout=120)
    assert version.stdout.strip() == f"peerbrowser {__version__}"


def test_the_installed_headless_demo_runs_from_another_directory(installed: Installed) -> None:
    shot = installed.home / "demo.png"
    result = _run(
        [installed.peerbrowser, "--demo-headless", "--local-port", str(_free_udp_port()), "--screenshot", str(shot)],
        cwd=installed.home,
        env=installed.env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[#1] alice: hello from alice" in result.stdout
    assert "[#2] bob: hi alice, bob here" in result.stdout
    assert "peerbrowser demo: both tabs saw both lines" in result.stdout
    # browser/scheme.py logs "404 URL" for a resource it does not have (": 404 ": not the
    # temporary directory, which may be pytest-404)
    assert "peersocket.js not found" not in result.stderr and ": 404 " not in result.stderr
    assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="Node.js and npm are not installed"
)
def test_two_installed_browsers_set_up_the_sidecar_and_meet_on_the_local_network(installed: Installed) -> None:
    port = str(_free_udp_port())  # the local network's bootstrap port: not 49736, which may be taken
    cache = installed.home / "cache-two"  # nothing installed yet: both start at once on an empty cache
    env = installed.env(XDG_CACHE_HOME=str(cache))
    argv = [installed.peerbrowser, "--headless", "--local-port", port, "peerapp://proposal/"]
    browsers = [Proc(argv, cwd=installed.home, env=env, inherit=False) for _ in range(2)]
    try:
        heard = [
            b.wait_for(lambda lines: {(m[1], m[2]) for line in lines if (m := SAYS.search(line))}, "Hello! from the other")
            for b in browsers
        ]
        ((id_b, text_a),) = heard[0]
        ((id_a, text_b),) = heard[1]
        assert text_a == text_b == "Hello!" and id_a != id_b
        # one of them ran npm ci (with progress in its log); the other waited for it
        ran_npm = ["installing the network engine: npm ci" in "\n".join(b.lines) for b in browsers]
        assert sorted(ran_npm) == [False, True]
        logs = "\n".join(line for b in browsers for line in b.lines)
        assert re.search(r"installing the network engine: \d+/\d+ npm packages", logs)
        assert f"hosting the bootstrap node 127.0.0.1:{port}" in logs
    finally:
        codes = [b.stop() for b in browsers]
    assert codes == [0, 0]
    # one install in the cache, complete, nothing half-done beside it
    root = cache / "peerbrowser" / "sidecar"
    (target,) = [p for p in root.iterdir() if p.is_dir()]
    assert (target / "node_modules" / "hyperswarm" / "package.json").is_file()
    assert len(list(target.glob("src-*/sidecar.js"))) == 1
    assert not list(target.glob("tmp-*"))

    # after the first install: no npm needed (offline), only node
    bare = installed.home / "node-only"
    bare.mkdir(exist_ok=True)
    if not (bare / "node").exists():
        (bare / "node").symlink_to(shutil.which("node") or "node")
    setup = _run(
        [installed.peerbrowser, "setup", "--desktop"],
        cwd=installed.home,
        env={**env, "PATH": f"{installed.venv / 'bin'}{os.pathsep}{bare}"},  # no npm
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    assert f"the network engine is already installed: {target}" in setup.stderr

    # the menu entry starts this installation's peerbrowser, with the icon beside it
    entry = installed.home / "data" / "applications" / "peerbrowser.desktop"
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.read(entry)
    section = desktop["Desktop Entry"]
    assert section["Exec"] == f"{installed.peerbrowser} %U"
    assert Path(section["Icon"]).read_bytes().startswith(b"<svg")
    assert section["Categories"] == "Network;WebBrowser;"
