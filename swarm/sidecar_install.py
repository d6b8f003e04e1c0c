"""Where the Hyperswarm sidecar runs from, and installing its npm packages.

A source checkout runs ``swarm/sidecar`` in place, with the ``node_modules`` that
``scripts/bootstrap.sh`` installed there. An installed Peerbrowser (a wheel, pipx)
carries the sidecar's sources, ``package.json`` and ``package-lock.json`` as package
data, and installs the npm packages on first network use (or ``peerbrowser setup``)
into the user's cache::

    $XDG_CACHE_HOME/peerbrowser/sidecar/           (~/.cache/... by default)
        <lockfile hash>.lock                      held while one browser installs
        <lockfile hash>/
            package.json, package-lock.json       as packaged
            node_modules/                         `npm ci` from that lockfile
            src-<sources hash>/                   the sidecar's sources, run from here
            tmp-<pid>-<random>/                   an install in progress

Node resolves ``require('hyperswarm')`` from ``src-<hash>/sidecar.js`` upwards, so it
finds ``<lockfile hash>/node_modules`` and nothing outside the cache. A new Peerbrowser
with the same lockfile only copies its sources (no network); a new lockfile gets a
directory of its own.

Two browsers may start at once: the installer holds an exclusive ``flock`` on the
``.lock`` file (released by the kernel if the process dies), builds in a temporary
directory next to the target and renames it into place, so a reader sees either no
``node_modules`` or a complete one. The other browser waits for the lock, then finds
the work done. Nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import BinaryIO

#: How often a browser waiting for another one's install checks the lock, and how
#: often an install in progress counts what npm has unpacked (seconds).
POLL = 0.25
#: Progress reports are at least this far apart (seconds), the last one excepted.
PROGRESS_EVERY = 1.0
#: Files and directories of the packaged sidecar that are not its sources.
NOT_SOURCES = frozenset({"node_modules", "__pycache__", "__init__.py"})
KEEP_WORKING = "Pages keep working on this device meanwhile."

Progress = Callable[[str], None]

#: PIDs (and process groups) of the npm installs this process is running.
_running: set[int] = set()


def _packaged_dir() -> Path:
    root = resources.files("swarm")
    if not isinstance(root, Path):  # pragma: no cover - pip always installs unpacked
        raise RuntimeError(f"the 'swarm' package is not a directory on disk ({root!r})")
    return root / "sidecar"


#: The sidecar as packaged: ``swarm/sidecar`` in a checkout or in site-packages.
PACKAGED_DIR = _packaged_dir()


class SidecarInstallError(Exception):
    """The sidecar cannot be installed; ``code`` says why, the message what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/peerbrowser/sidecar`` (``~/.cache/...`` when unset)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "peerbrowser" / "sidecar"


def lockfile_hash(packaged: Path) -> str:
    """The first 16 hex digits of the SHA-256 of ``package-lock.json``."""
    return hashlib.sha256((packaged / "package-lock.json").read_bytes()).hexdigest()[:16]


def source_files(packaged: Path) -> list[Path]:
    """The sidecar's own files (relative paths, sorted): everything but node_modules."""
    found = []
    for path in packaged.rglob("*"):
        relative = path.relative_to(packaged)
        if path.is_file() and not NOT_SOURCES.intersection(relative.parts):
            found.append(relative)
    return sorted(found)


def sources_hash(packaged: Path) -> str:
    digest = hashlib.sha256()
    for relative in source_files(packaged):
        digest.update(str(relative).encode() + b"\0")
        digest.update((packaged / relative).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def runs_in_place(packaged: Path) -> bool:
    """True for a source checkout: the sidecar has its own node_modules."""
    return (packaged / "node_modules").is_dir()


def install_dirs(packaged: Path, cache: Path) -> tuple[Path, Path]:
    """(``<cache>/<lockfile hash>``, its ``src-<sources hash>``) for this sidecar."""
    target = cache / lockfile_hash(packaged)
    return target, target / f"src-{sources_hash(packaged)}"


def installed(packaged: Path = PACKAGED_DIR, cache: Path | None = None) -> Path | None:
    """The directory to run the sidecar from, if nothing needs installing."""
    if runs_in_place(packaged):
        return packaged
    target, src = install_dirs(packaged, cache or cache_root())
    if (target / "node_modules").is_dir() and (src / "sidecar.js").is_file():
        return src
    return None


def node_missing_message(node: str) -> str:
    return (
        f"Node.js was not found (looked for {node!r}): install Node.js >= 18 with npm "
        "(Debian/Ubuntu: sudo apt-get install nodejs npm), then run `peerbrowser setup` "
        f"or restart Peerbrowser. {KEEP_WORKING}"
    )


async def ensure_sidecar(
    packaged: Path = PACKAGED_DIR,
    *,
    cache: Path | None = None,
    node: str = "node",
    npm: str = "npm",
    progress: Progress | None = None,
) -> Path:
    """Return the directory to run ``sidecar.js`` from, installing it first if needed.

    Raises :class:`SidecarInstallError` with a message saying what to do. Cancelling
    it stops npm (our child, its process group) and removes the unfinished install.
    """
    found = installed(packaged, cache)
    if found is not None:
        return found
    report = progress or (lambda _text: None)
    cache = cache or cache_root()
    target, src = install_dirs(packaged, cache)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SidecarInstallError(
            "ERR_SIDECAR_INSTALL", f"cannot create the sidecar's cache directory {target}: {exc}"
        ) from exc
    lock_path = cache / f"{target.name}.lock"
    try:
        with open(lock_path, "a+b") as lock:
            await _acquire(lock, lock_path, report)
            # another browser may have finished while this one waited
            _remove_leftovers(target)
            if not (target / "node_modules").is_dir():
                await _npm_ci(packaged, target, node=node, npm=npm, report=report)
            if not (src / "sidecar.js").is_file():
                _copy_sources(packaged, target, src)
            # the lock is released when the file closes
    except OSError as exc:
        raise SidecarInstallError(
            "ERR_SIDECAR_INSTALL", f"installing the network engine in {target}: {exc}"
        ) from exc
    return src


async def _acquire(lock: BinaryIO, lock_path: Path, report: Progress) -> None:
    fd = lock.fileno()
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not told:
                told = True
                report(f"waiting for another Peerbrowser to install the network engine ({lock_path})")
            # a lock held by another process: no event to wait on, so look again shortly
            await asyncio.sleep(POLL)


def _remove_leftovers(target: Path) -> None:
    """Temporary directories of installs that died (only the lock holder builds)."""
    for path in target.glob("tmp-*"):
        shutil.rmtree(path, ignore_errors=True)


def _copy_sources(packaged: Path, target: Path, src: Path) -> None:
    tmp = target / f"tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        for relative in source_files(packaged):
            (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(packaged / relative, tmp / relative)
        tmp.rename(src)
    except OSError as exc:
        raise SidecarInstallError(
            "ERR_SIDECAR_INSTALL", f"cannot copy the sidecar to {src}: {exc}"
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def lock_packages(packaged: Path) -> list[str]:
    """The ``node_modules/...`` paths ``package-lock.json`` lists (what npm ci unpacks)."""
    data = json.loads((packaged / "package-lock.json").read_text(encoding="utf-8"))
    return sorted(key for key in data.get("packages", {}) if key.startswith("node_modules/"))


def required_node_major(packaged: Path) -> int | None:
    """N from ``"engines": {"node": ">=N"}`` in package.json, if it says so."""
    data = json.loads((packaged / "package.json").read_text(encoding="utf-8"))
    match = re.match(r"\s*>=\s*(\d+)", str(data.get("engines", {}).get("node", "")))
    return int(match.group(1)) if match else None


async def _output(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace").strip()


async def _check_tools(packaged: Path, node: str, npm: str) -> tuple[str, str]:
    node_path = shutil.which(node)
    if node_path is None:
        raise SidecarInstallError("ERR_NODE_MISSING", node_missing_message(node))
    npm_path = shutil.which(npm)
    if npm_path is None:
        raise SidecarInstallError(
            "ERR_NPM_MISSING",
            f"npm was not found (looked for {npm!r}); it installs the network engine's packages "
            "once: install it (Debian/Ubuntu: sudo apt-get install npm), then run `peerbrowser "
            f"setup` or restart Peerbrowser. {KEEP_WORKING}",
        )
    want = required_node_major(packaged)
    code, version = await _output(node_path, "--version")
    match = re.match(r"v(\d+)\.", version)
    if want is not None and (code != 0 or not match or int(match.group(1)) < want):
        raise SidecarInstallError(
            "ERR_NODE_TOO_OLD",
            f"the network engine needs Node.js >= {want}, {node_path} is {version or 'unknown'}: "
            f"install a newer Node.js, then run `peerbrowser setup`. {KEEP_WORKING}",
        )
    return node_path, npm_path


async def _npm_ci(packaged: Path, target: Path, *, node: str, npm: str, report: Progress) -> None:
    _node_path, npm_path = await _check_tools(packaged, node, npm)
    wanted = lock_packages(packaged)
    tmp = target / f"tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    proc: asyncio.subprocess.Process | None = None
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(packaged / name, tmp / name)
        report(f"installing the network engine: npm ci, {len(wanted)} packages into {target}")
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            npm_path,
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            cwd=tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "npm_config_update_notifier": "false"},
            start_new_session=True,  # its own process group: stopped as one on cancel
        )
        _running.add(proc.pid)
        assert proc.stdout is not None
        tail: deque[str] = deque(maxlen=8)
        reader = asyncio.ensure_future(_collect(proc.stdout, tail))
        await _watch(proc, tmp, wanted, report)
        await reader
        if proc.returncode != 0 or not (tmp / "node_modules").is_dir():
            raise SidecarInstallError(
                "ERR_SIDECAR_INSTALL",
                f"npm ci failed (exit {proc.returncode}): {' | '.join(tail) or 'no output'}. "
                "The first start needs the npm registry; check the network, then run "
                f"`peerbrowser setup` or restart Peerbrowser. {KEEP_WORKING}",
            )
        (tmp / "node_modules").rename(target / "node_modules")
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(packaged / name, target / name)
        report(f"installed the network engine's npm packages in {time.monotonic() - started:.0f} s")
    finally:
        if proc is not None and proc.returncode is None:
            _stop_group(proc.pid)
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
        if proc is not None:
            _running.discard(proc.pid)
        shutil.rmtree(tmp, ignore_errors=True)


async def _collect(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").strip()
        if text:
            tail.append(text)


async def _watch(proc: asyncio.subprocess.Process, tmp: Path, wanted: list[str], report: Progress) -> None:
    """Wait for npm, reporting how many of the lockfile's packages it has unpacked."""
    last_count, last_time = -1, 0.0
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(proc.wait()), POLL)
        count = sum(1 for key in wanted if (tmp / key / "package.json").is_file())
        now = time.monotonic()
        if count != last_count and (now - last_time >= PROGRESS_EVERY or proc.returncode is not None):
            report(f"installing the network engine: {count}/{len(wanted)} npm packages")
            last_count, last_time = count, now
        if proc.returncode is not None:
            return


def _stop_group(pid: int) -> None:
    """Stop npm and what it started: the process group we gave it (its PID)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)


def stop_running_installs() -> None:
    """Stop this process's npm installs at once (a process that must exit now)."""
    for pid in list(_running):
        _stop_group(pid)


def ensure_sidecar_sync(
    packaged: Path = PACKAGED_DIR, *, cache: Path | None = None, progress: Progress | None = None
) -> Path:
    """:func:`ensure_sidecar` for commands that have no event loop (``peerbrowser setup``)."""
    return asyncio.run(ensure_sidecar(packaged, cache=cache, progress=progress))
