"""``--remote-debugging-port``: where QtWebEngine's CDP endpoint listens, set before Qt starts.

QtWebEngine reads ``QTWEBENGINE_REMOTE_DEBUGGING`` (``HOST:PORT``) once, when
its first profile is made, so :func:`configure` runs before the
``QApplication`` exists. With a port it points QtWebEngine at a free port on
127.0.0.1, behind the browser's CDP front (``browser/cdp_front.py``), which
listens on 127.0.0.1:PORT. Without one, a ``QTWEBENGINE_REMOTE_DEBUGGING`` the
user set is left alone (QtWebEngine's own endpoint, without the front), and
logged: whoever reaches it drives every tab.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
from collections.abc import MutableMapping

from browser.env import FLAGS_VAR

log = logging.getLogger("peerbrowser.remote")

REMOTE_DEBUGGING_VAR = "QTWEBENGINE_REMOTE_DEBUGGING"
LOOPBACK = "127.0.0.1"
ALLOW_ORIGINS = "--remote-allow-origins"
DEVTOOLS_ORIGIN = "devtools://devtools"
EXPOSES = "any process on this machine can drive every tab and its PeerSocket (swarms, peers, messages)"


def check_port(value: int) -> int:
    """A TCP port for remote debugging: 0 (any free one) to 65535 (ValueError otherwise)."""
    if not 0 <= value <= 65535:
        raise ValueError("remote_debugging_port must be between 0 (any free port) and 65535")
    return value


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _host_of(value: str) -> str:
    host, sep, _port = value.rpartition(":")
    return host.strip("[]") if sep else ""  # a bare port: QtWebEngine listens on 127.0.0.1


def configure(port: int | None, environ: MutableMapping[str, str] | None = None) -> int | None:
    """Set QtWebEngine's remote debugging for this run; returns the port of its endpoint.

    ``port`` None: nothing is changed (a value the user set is logged and kept)
    and None is returned. Otherwise QtWebEngine listens on a free port of
    127.0.0.1, returned, for the CDP front to reach it.
    """
    env = os.environ if environ is None else environ
    users = env.get(REMOTE_DEBUGGING_VAR)
    if port is None:
        if users:
            where = _host_of(users) or LOOPBACK
            if where not in (LOOPBACK, "localhost", "::1"):
                log.warning(
                    "%s=%s: QtWebEngine's remote debugging listens on %s, beyond this machine: "
                    "anyone who reaches it can drive every tab and its PeerSocket",
                    REMOTE_DEBUGGING_VAR,
                    users,
                    where,
                )
            else:
                log.warning(
                    "%s=%s: QtWebEngine's own remote debugging is on (without Target.createTarget; "
                    "--remote-debugging-port gives the full endpoint): %s",
                    REMOTE_DEBUGGING_VAR,
                    users,
                    EXPOSES,
                )
        return None
    if users:
        log.warning(
            "%s=%s is replaced for this run: --remote-debugging-port puts QtWebEngine's endpoint "
            "on 127.0.0.1 behind the browser's own",
            REMOTE_DEBUGGING_VAR,
            users,
        )
    upstream = free_loopback_port()
    env[REMOTE_DEBUGGING_VAR] = f"{LOOPBACK}:{upstream}"
    # QtWebEngine adds --remote-allow-origins=* unless the flag is given: then a web page
    # that learned the endpoint's port and a target id could drive a tab. Tools (and the
    # front) send no Origin; Chrome's own DevTools send devtools://devtools.
    flags = env.get(FLAGS_VAR, "")
    if not any(f.split("=", 1)[0] == ALLOW_ORIGINS for f in shlex.split(flags)):
        env[FLAGS_VAR] = f"{flags} {ALLOW_ORIGINS}={DEVTOOLS_ORIGIN}".strip()
    return upstream
