"""Fixtures for the network engine tests: a local HyperDHT testnet on 127.0.0.1 and
Hyperswarm engines (one Node sidecar each) that can only talk to loopback."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import selectors
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm.hyperswarm import HyperswarmEngine
from swarm.sidecar_options import SIDECAR_DIR, HyperswarmOptions

GUARD = SIDECAR_DIR / "loopback-guard.cjs"
HANG_GUARD = 60.0  # seconds; only so that a broken test fails instead of hanging


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.network)


def _sidecar_installed() -> bool:
    return shutil.which("node") is not None and (SIDECAR_DIR / "node_modules" / "hyperswarm").is_dir()


needs_sidecar = pytest.mark.skipif(
    not _sidecar_installed(), reason="node or swarm/sidecar/node_modules missing (run scripts/bootstrap.sh)"
)


def node_command(script: str, *args: str) -> list[str]:
    """`node -r loopback-guard.cjs swarm/sidecar/<script> args...`"""
    return ["node", "-r", str(GUARD), str(SIDECAR_DIR / script), *args]


def loopback_env() -> dict[str, str]:
    return {**os.environ, "PEERBROWSER_LOOPBACK_ONLY": "1"}


def read_json_line(proc: subprocess.Popen[bytes], timeout: float = HANG_GUARD) -> Any:
    """Next stdout line of a helper process, as JSON (hang-guarded).

    Reads the pipe itself (``os.read``), keeping what follows the line for the
    next call: ``proc.stdout.readline()`` would buffer two lines that arrive
    together, and a later wait on the pipe would never see the second one.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    # bytes read past the last line returned, kept on the process object itself
    pending: bytearray = getattr(proc, "unread_stdout", None) or bytearray()
    loop_deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in pending:
            left = loop_deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise RuntimeError(f"{proc.args!r} printed nothing")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"{proc.args!r} exited with {proc.wait()}")
            pending += chunk
    line, _, rest = bytes(pending).partition(b"\n")
    proc.unread_stdout = bytearray(rest)  # type: ignore[attr-defined]
    return json.loads(line)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a helper we started: close its stdin, then kill it by PID if it lingers."""
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def testnet() -> Iterator[list[str]]:
    """A 3-node HyperDHT testnet on 127.0.0.1; yields its bootstrap list."""
    if not _sidecar_installed():
        pytest.skip("node or swarm/sidecar/node_modules missing (run scripts/bootstrap.sh)")
    proc = subprocess.Popen(
        node_command("testnet.js", "3"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=SIDECAR_DIR,
        env=loopback_env(),
    )
    try:
        info = read_json_line(proc)
        bootstrap = list(info["bootstrap"])
        assert bootstrap and all(b.startswith("127.0.0.1:") for b in bootstrap)
        yield bootstrap
    finally:
        stop_process(proc)


class FakeLink:
    """What the core would do with one transport: record everything."""

    def __init__(self, sink: FakeSink, transport: Any) -> None:
        self.sink = sink
        self.transport = transport
        self.data = bytearray()
        self.lost: tuple[str, str] | None = None

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.sink.changed()

    def connection_lost(self, code: str, reason: str) -> None:
        assert self.lost is None, "connection_lost twice"
        self.lost = (code, reason)
        self.sink.changed()

    @property
    def alive(self) -> bool:
        return self.lost is None and not self.transport.closed


class FakeSink:
    """An EngineSink standing in for the swarm core."""

    def __init__(self) -> None:
        self.links: list[FakeLink] = []
        self.states: list[tuple[str, str]] = []
        self._changed = asyncio.Event()

    def attach(self, transport: Any) -> FakeLink:
        link = FakeLink(self, transport)
        self.links.append(link)
        self.changed()
        return link

    def engine_state_changed(self, state: str, detail: str) -> None:
        self.states.append((state, detail))
        self.changed()

    def changed(self) -> None:
        self._changed.set()

    def live(self, remote_key: bytes | None = None) -> list[FakeLink]:
        return [
            link
            for link in self.links
            if link.alive and (remote_key is None or link.transport.remote_key == remote_key)
        ]

    async def until(self, predicate: Callable[[], Any], what: str = "condition") -> Any:
        """Wait until predicate() is truthy, re-checking whenever the engine reports."""

        async def loop() -> Any:
            while not (result := predicate()):
                self._changed.clear()
                await self._changed.wait()
            return result

        try:
            return await asyncio.wait_for(loop(), HANG_GUARD)
        except TimeoutError:
            raise AssertionError(f"hang guard: still waiting for {what}; {self!r}") from None

    def __repr__(self) -> str:
        links = [
            (link.transport.remote_key.hex()[:8], link.alive, len(link.data), link.lost)
            for link in self.links
        ]
        return f"<FakeSink states={self.states} links={links}>"


Device = tuple[HyperswarmEngine, FakeSink]


@pytest.fixture
async def make_device(
    testnet: list[str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Awaitable[Device]]]:
    """Factory: a started HyperswarmEngine on the testnet (loopback guard on) + its sink."""
    monkeypatch.setenv("PEERBROWSER_LOOPBACK_ONLY", "1")
    made: list[HyperswarmEngine] = []

    async def make(**overrides: Any) -> Device:
        opts: dict[str, Any] = {
            "network": "bootstrap",
            "bootstrap": tuple(testnet),
            "host": "127.0.0.1",
            "loopback_only": True,
        }
        opts.update(overrides)
        engine = HyperswarmEngine(HyperswarmOptions(**opts))
        made.append(engine)
        sink = FakeSink()
        await engine.start(sink)
        return engine, sink

    try:
        yield make
    finally:
        await asyncio.gather(*(engine.close() for engine in made), return_exceptions=True)


@pytest.fixture
def topic() -> bytes:
    return secrets.token_bytes(32)
