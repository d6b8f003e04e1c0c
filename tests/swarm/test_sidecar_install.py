"""Installing the sidecar's npm packages into the user's cache (swarm/sidecar_install.py).

npm and node are stand-ins here (small scripts on disk), so these tests need no network
and no Node.js: a fake ``npm ci`` unpacks what the packaged lockfile lists, and can be
held at a gate (a FIFO it reads) to show what a second browser does meanwhile. The real
``npm ci`` runs in tests/install/test_wheel.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from swarm import sidecar_install
from swarm.sidecar_install import (
    PACKAGED_DIR,
    SidecarInstallError,
    cache_root,
    ensure_sidecar,
    installed,
    lockfile_hash,
)

FAKE_NPM = f"""#!{sys.executable}
# a stand-in for `npm ci`: unpacks an empty package.json for every package the lockfile
# lists, after reading its gate (a FIFO) when there is one
import json, os, sys
from pathlib import Path
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
gate = os.environ.get("FAKE_NPM_GATE")
if gate:
    with open(gate) as f:
        f.read()
code = int(os.environ.get("FAKE_NPM_EXIT", "0"))
if code:
    print("npm error code E404 (fake)")
    sys.exit(code)
lock = json.loads(Path("package-lock.json").read_text())
for key in lock["packages"]:
    if key:
        (Path(key)).mkdir(parents=True, exist_ok=True)
        (Path(key) / "package.json").write_text("{{}}")
"""


def fake_node(tmp_path: Path, version: str = "v20.11.1") -> str:
    path = tmp_path / "bin" / "node"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def packaged(tmp_path: Path) -> Path:
    """A copy of the packaged sidecar without node_modules (as in a wheel)."""
    dest = tmp_path / "site-packages" / "swarm" / "sidecar"
    shutil.copytree(PACKAGED_DIR, dest, ignore=shutil.ignore_patterns("node_modules"))
    return dest


@pytest.fixture
def npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin" / "npm"
    path.parent.mkdir(exist_ok=True)
    path.write_text(FAKE_NPM)
    path.chmod(0o755)
    monkeypatch.setenv("FAKE_NPM_LOG", str(tmp_path / "npm.log"))
    return path


def npm_runs(tmp_path: Path) -> list[str]:
    log = tmp_path / "npm.log"
    return log.read_text().splitlines() if log.exists() else []


def test_cache_root_follows_xdg_cache_home(tmp_path: Path) -> None:
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "peerbrowser" / "sidecar"
    assert cache_root({}) == Path.home() / ".cache" / "peerbrowser" / "sidecar"


def test_a_checkout_runs_the_sidecar_in_place(packaged: Path, tmp_path: Path) -> None:
    (packaged / "node_modules").mkdir()
    assert installed(packaged, tmp_path / "cache") == packaged
    assert not (tmp_path / "cache").exists()


async def test_first_use_installs_into_the_cache_by_lockfile_hash(
    packaged: Path, npm: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    reports: list[str] = []
    src = await ensure_sidecar(
        packaged, cache=cache, node=fake_node(tmp_path), npm=str(npm), progress=reports.append
    )
    target = cache / lockfile_hash(packaged)
    assert src.parent == target and src.name.startswith("src-")
    assert npm_runs(tmp_path) == ["ci --no-audit --no-fund --loglevel=error"]
    # every package of the lockfile, in node_modules beside the sources node runs
    wanted = sidecar_install.lock_packages(packaged)
    assert wanted and all((target / key / "package.json").is_file() for key in wanted)
    for name in ("sidecar.js", "loopback-guard.cjs", "package.json", "package-lock.json"):
        assert (src / name).read_bytes() == (packaged / name).read_bytes()
    assert not list(target.glob("tmp-*"))
    # progress: what is being done, how far it got, and that it is done
    assert any("npm ci" in r and str(len(wanted)) in r for r in reports)
    assert any(f"{len(wanted)}/{len(wanted)} npm packages" in r for r in reports)
    assert "installed" in reports[-1]

    # the next start finds it: no npm (offline), same place
    npm.unlink()
    assert installed(packaged, cache) == src
    assert await ensure_sidecar(packaged, cache=cache, node="no-such-node", npm="no-such-npm") == src
    assert len(npm_runs(tmp_path)) == 1


async def test_new_sources_with_the_same_lockfile_need_no_npm(
    packaged: Path, npm: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    node = fake_node(tmp_path)
    first = await ensure_sidecar(packaged, cache=cache, node=node, npm=str(npm))
    (packaged / "sidecar.js").write_text((packaged / "sidecar.js").read_text() + "\n// a new release\n")
    npm.unlink()  # offline
    second = await ensure_sidecar(packaged, cache=cache, node=node, npm=str(npm))
    assert second != first and second.parent == first.parent
    assert (second / "sidecar.js").read_text().endswith("// a new release\n")
    # a new lockfile is a new install
    lock = json.loads((packaged / "package-lock.json").read_text())
    lock["name"] = "changed"
    (packaged / "package-lock.json").write_text(json.dumps(lock))
    with pytest.raises(SidecarInstallError) as info:
        await ensure_sidecar(packaged, cache=cache, node=node, npm=str(npm))
    assert info.value.code == "ERR_NPM_MISSING"


async def test_two_browsers_starting_at_once_install_once(packaged: Path, npm: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    node = fake_node(tmp_path)
    installing, waiting = asyncio.Event(), asyncio.Event()
    first_reports: list[str] = []
    second_reports: list[str] = []

    def first_progress(text: str) -> None:
        first_reports.append(text)
        if "npm ci" in text:
            installing.set()

    def second_progress(text: str) -> None:
        second_reports.append(text)
        if "waiting for another Peerbrowser" in text:
            waiting.set()

    os.environ["FAKE_NPM_GATE"] = str(gate)
    try:
        first = asyncio.ensure_future(
            ensure_sidecar(packaged, cache=cache, node=node, npm=str(npm), progress=first_progress)
        )
        await installing.wait()
        second = asyncio.ensure_future(
            ensure_sidecar(packaged, cache=cache, node=node, npm=str(npm), progress=second_progress)
        )
        await waiting.wait()
        # while npm runs, nothing is where the next browser would look
        assert installed(packaged, cache) is None
        assert not (cache / lockfile_hash(packaged) / "node_modules").exists()
        with open(gate, "w"):
            pass  # let npm go on
        assert await first == await second
    finally:
        del os.environ["FAKE_NPM_GATE"]
    assert len(npm_runs(tmp_path)) == 1
    assert not any("npm ci" in r for r in second_reports)


async def test_a_failed_npm_says_why_and_leaves_nothing_behind(
    packaged: Path, npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_EXIT", "1")
    cache = tmp_path / "cache"
    with pytest.raises(SidecarInstallError) as info:
        await ensure_sidecar(packaged, cache=cache, node=fake_node(tmp_path), npm=str(npm))
    assert info.value.code == "ERR_SIDECAR_INSTALL"
    message = str(info.value)
    assert "npm ci failed (exit 1)" in message and "E404 (fake)" in message
    assert "peerbrowser setup" in message and "Pages keep working" in message
    target = cache / lockfile_hash(packaged)
    assert not (target / "node_modules").exists() and not list(target.glob("tmp-*"))
    # and the next try (network back) installs
    monkeypatch.delenv("FAKE_NPM_EXIT")
    assert (await ensure_sidecar(packaged, cache=cache, node=fake_node(tmp_path), npm=str(npm))).is_dir()


async def test_missing_node_or_npm_or_an_old_node_say_what_to_install(
    packaged: Path, npm: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cases = [
        ("no-such-node", str(npm), "ERR_NODE_MISSING", "install Node.js >= 18"),
        (fake_node(tmp_path), "no-such-npm", "ERR_NPM_MISSING", "apt-get install npm"),
        (fake_node(tmp_path, "v16.20.0"), str(npm), "ERR_NODE_TOO_OLD", "needs Node.js >= 18"),
    ]
    for node, npm_name, code, words in cases:
        with pytest.raises(SidecarInstallError) as info:
            await ensure_sidecar(packaged, cache=cache, node=node, npm=npm_name)
        assert info.value.code == code and words in str(info.value)
        assert "Pages keep working on this device" in str(info.value)
    assert npm_runs(tmp_path) == []


async def test_cancelled_install_stops_npm_and_cleans_up(packaged: Path, npm: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    started = asyncio.Event()
    os.environ["FAKE_NPM_GATE"] = str(gate)
    try:
        task = asyncio.ensure_future(
            ensure_sidecar(
                packaged,
                cache=cache,
                node=fake_node(tmp_path),
                npm=str(npm),
                # reported while npm runs (blocked at the gate)
                progress=lambda text: started.set() if "npm packages" in text else None,
            )
        )
        await started.wait()
        pids = set(sidecar_install._running)
        assert len(pids) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        del os.environ["FAKE_NPM_GATE"]
    (pid,) = pids
    assert not sidecar_install._running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped
    target = cache / lockfile_hash(packaged)
    assert not list(target.glob("tmp-*")) and not (target / "node_modules").exists()
