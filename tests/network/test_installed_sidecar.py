"""The engine of an installed Peerbrowser: the sidecar installed into the cache on first
use (state 'installing', then 'ready'), or a clear 'failed' when it cannot be.

npm is a stand-in that links the checkout's node_modules (no network); the sidecar then
really runs from the cache directory. The real ``npm ci`` runs in tests/install/.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sys
from pathlib import Path

import pytest

from swarm import hyperswarm, sidecar_install
from swarm.hyperswarm import HyperswarmEngine
from swarm.sidecar_install import ensure_sidecar, lockfile_hash
from swarm.sidecar_options import SIDECAR_DIR, HyperswarmOptions
from tests.network.conftest import FakeSink, needs_sidecar

pytestmark = [needs_sidecar]

FAKE_NPM = f"""#!{sys.executable}
# `npm ci` stand-in: node_modules is the checkout's, linked (after the gate, if any)
import os
gate = os.environ.get("FAKE_NPM_GATE")
if gate:
    with open(gate) as f:
        f.read()
os.symlink(os.environ["FAKE_NPM_MODULES"], "node_modules")
"""


@pytest.fixture
def installed_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The engine finds the sidecar packaged without node_modules (as in a wheel)."""
    packaged = tmp_path / "site-packages" / "swarm" / "sidecar"
    shutil.copytree(SIDECAR_DIR, packaged, ignore=shutil.ignore_patterns("node_modules"))
    npm = tmp_path / "bin" / "npm"
    npm.parent.mkdir()
    npm.write_text(FAKE_NPM)
    npm.chmod(0o755)
    monkeypatch.setenv("FAKE_NPM_MODULES", str(SIDECAR_DIR / "node_modules"))
    cache = tmp_path / "cache"
    monkeypatch.setattr(
        hyperswarm, "ensure_sidecar", functools.partial(ensure_sidecar, packaged, cache=cache, npm=str(npm))
    )
    return packaged, cache


async def test_first_use_installs_then_runs_from_the_cache(testnet, installed_layout, monkeypatch):
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    packaged, cache = installed_layout
    engine = HyperswarmEngine(
        HyperswarmOptions(network="bootstrap", bootstrap=tuple(testnet), host="127.0.0.1", loopback_only=True)
    )
    sink = FakeSink()
    try:
        await engine.start(sink)
        await sink.until(lambda: engine.state == "ready", "the engine ready")
        states = [state for state, _ in sink.states]
        assert states[0] == "installing" and states[-2:] == ["starting", "ready"]
        details = [detail for state, detail in sink.states if state == "installing"]
        assert any("npm ci" in d for d in details) and any("npm packages" in d for d in details)
        target = cache / lockfile_hash(packaged)
        cmdline = Path(f"/proc/{engine.pid}/cmdline").read_bytes().split(b"\0")
        script = Path(cmdline[-2].decode())
        assert script.name == "sidecar.js" and script.parent.parent == target
        assert cmdline[cmdline.index(b"-r") + 1].decode().startswith(str(target))  # the guard too
    finally:
        await engine.close()


async def test_no_npm_fails_with_what_to_install(testnet, installed_layout, monkeypatch):
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    packaged, cache = installed_layout
    monkeypatch.setattr(
        hyperswarm, "ensure_sidecar", functools.partial(ensure_sidecar, packaged, cache=cache, npm="no-such-npm")
    )
    engine = HyperswarmEngine(
        HyperswarmOptions(network="bootstrap", bootstrap=tuple(testnet), host="127.0.0.1", loopback_only=True)
    )
    sink = FakeSink()
    try:
        await engine.start(sink)
        assert engine.state == "failed" and engine.starts == 0
        assert "npm was not found" in engine.detail and "peerbrowser setup" in engine.detail
        assert sink.states[-1] == ("failed", engine.detail)
    finally:
        await engine.close()


async def test_closing_during_the_install_stops_npm_at_once(testnet, tmp_path, installed_layout, monkeypatch):
    """A browser closed while npm runs does not wait for it, and leaves nothing half-done."""
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    packaged, cache = installed_layout
    gate = tmp_path / "gate"
    os.mkfifo(gate)  # npm blocks reading it: an install that would never end
    monkeypatch.setenv("FAKE_NPM_GATE", str(gate))
    engine = HyperswarmEngine(
        HyperswarmOptions(network="bootstrap", bootstrap=tuple(testnet), host="127.0.0.1", loopback_only=True)
    )
    sink = FakeSink()
    started = asyncio.ensure_future(engine.start(sink))
    await sink.until(lambda: any("npm packages" in d for _, d in sink.states), "npm running")
    (pid,) = sidecar_install._running
    await engine.close()
    await started
    assert engine.state == "closed" and engine.starts == 0
    assert [s for s, _ in sink.states if s not in ("installing", "closed")] == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    target = cache / lockfile_hash(packaged)
    assert not (target / "node_modules").exists() and not list(target.glob("tmp-*"))
