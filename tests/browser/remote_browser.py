"""A ``peerbrowser --headless --remote-debugging-port 0`` process for tests, and CDP helpers.

The browser picks a free loopback port itself (port 0) and logs it; tests read
it from that log line, so no port is guessed. Every process started here is
ended by its PID when the test ends, also when it fails.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PEERBROWSER = Path(sys.executable).with_name("peerbrowser")
#: Deadline of a wait for the browser's own start-up (a failure detector, not a goal).
START_TIMEOUT = 90.0
LISTENING = re.compile(r"remote debugging on http://127\.0\.0\.1:(\d+) ")


class RemoteBrowser:
    """A headless browser with remote debugging, started with ``urls`` in tabs."""

    def __init__(self, *urls: str, args: tuple[str, ...] = ()) -> None:
        self.urls = urls
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(PEERBROWSER), "--headless", "--network", "none", "--remote-debugging-port", "0", *self.args, *self.urls],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PEERBROWSER_LOOPBACK_ONLY": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()
        match = self.wait_for_line(LISTENING)
        self.port = int(match.group(1))
        self.wait_for_line(re.compile(r"ready: \d+ tab"))

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until the browser logs a line matching ``pattern`` (seen lines count)."""
        for line in self.lines:
            if match := pattern.search(line):
                return match
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the browser never logged {pattern.pattern!r}:\n{self.log()}") from None
            if line is None:
                raise AssertionError(f"the browser ended before logging {pattern.pattern!r}:\n{self.log()}")
            self.lines.append(line)
            if match := pattern.search(line):
                return match

    def log(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "".join(self.lines)

    def stop(self) -> int | None:
        """SIGTERM, then wait for the orderly shutdown (SIGKILL if it never comes)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    # -- HTTP and CDP ----------------------------------------------------------------

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=START_TIMEOUT) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)


@contextmanager
def remote_browser(*urls: str, args: tuple[str, ...] = ()) -> Iterator[RemoteBrowser]:
    browser = RemoteBrowser(*urls, args=args)
    try:
        browser.start()
        yield browser
    finally:
        browser.stop()


class Cdp:
    """A small synchronous CDP client over one WebSocket (websockets' sync API)."""

    def __init__(self, ws_url: str, **connect_kwargs: Any) -> None:
        from websockets.sync.client import connect

        # websockets wants its sync connections opened as context managers
        self._connection = connect(ws_url, max_size=None, **connect_kwargs)
        self.ws = self._connection.__enter__()
        self.ids = itertools.count(1)
        #: every event and answer received, in order
        self.received: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command and return its answer (``result`` or ``error``), events kept."""
        command_id = next(self.ids)
        command: dict[str, Any] = {"id": command_id, "method": method}
        if params is not None:
            command["params"] = params
        self.ws.send(json.dumps(command))
        while True:
            message = json.loads(self.ws.recv(timeout=START_TIMEOUT))
            self.received.append(message)
            if message.get("id") == command_id:
                return dict(message)

    def wait_event(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first event received (before or now) that ``matches``."""
        seen = 0
        while True:
            for message in self.received[seen:]:
                if "method" in message and matches(message):
                    return message
            seen = len(self.received)
            self.received.append(json.loads(self.ws.recv(timeout=START_TIMEOUT)))

    def events(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("method") == method]

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def listening_sockets(pid: int) -> list[str]:
    """``HOST:PORT`` of every TCP socket process ``pid`` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, family in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            found.append(f"{_host(address, family)}:{int(port, 16)}")
    return found


def _host(hex_address: str, family: int) -> str:
    raw = bytes.fromhex(hex_address)
    if family == 4:
        return ".".join(str(b) for b in reversed(raw))
    import ipaddress

    # /proc prints IPv6 as four host-order 32-bit words
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return f"[{ipaddress.IPv6Address(words)}]"
