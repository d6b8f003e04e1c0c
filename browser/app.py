"""One browser run: Qt, the swarm core, the profile, the window, and their shutdown.

:func:`run` starts Qt (``browser/qtstart.py`` keeps the order QtWebEngine
needs), then a :class:`Session` builds the core, the profile and the window, and
at the end takes them down in the reverse order: pages before the profile, the
profile before the core and the application.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PyQt6.QtCore import QUrl
from PyQt6.QtWebEngineCore import QWebEngineProfile

from browser import paths, remote_debugging
from browser.config import BrowserConfig
from browser.core_factory import build_core, close_core, start_core
from browser.permission_file import PermissionFile, default_permissions_path
from browser.permissions import PermissionPolicy, check_answer, default_answer
from browser.profile import make_profile
from browser.qt_wait import destroyed
from browser.qtstart import start_qt
from browser.scheme import SCHEME
from browser.site_permissions import SitePermissions
from browser.urls import url_from_input
from browser.window import BrowserWindow
from swarm.core import SwarmCore

if TYPE_CHECKING:  # loaded only with --remote-debugging-port
    from browser.cdp_front import CdpFront

log = logging.getLogger("peerbrowser.browser")

SHUTDOWN_TIMEOUT = 10.0
#: Tabs past which Target.createTarget (remote debugging) opens no more.
MAX_TABS_FOR_CDP = 256

#: A task run inside the browser session; its int result becomes the exit code.
SessionTask = Callable[["Session"], Awaitable[int]]


def run(config: BrowserConfig, task: SessionTask | None = None, *, offscreen: bool = False) -> int:
    """Run a browser session to its end and return the process exit code.

    Without ``task`` the session lasts until the window is closed or the
    process gets SIGTERM / SIGINT; with one, until the task returns.
    """
    upstream = remote_debugging.configure(config.remote_debugging_port)  # before Qt starts
    app, loop = start_qt(offscreen=offscreen)
    app.setApplicationName("peerbrowser")
    app.setApplicationDisplayName("Peerbrowser")
    app.setDesktopFileName("peerbrowser")  # the menu entry (browser/data/peerbrowser.desktop)
    from PyQt6.QtGui import QIcon

    from browser.desktop import icon_path

    app.setWindowIcon(QIcon(str(icon_path())))
    # The session ends the loop itself, after its orderly shutdown; Qt quitting
    # on the last window closed would stop the loop in the middle of it.
    app.setQuitOnLastWindowClosed(False)
    with loop:
        code: int = loop.run_until_complete(Session(config, upstream).run(task))
    return code


def site_permissions(config: BrowserConfig, file: PermissionFile | None = None) -> SitePermissions:
    """The window's ``SitePermissions`` for this run (browser/permissions.py says how
    the command line, the config file and the saved decisions combine)."""
    file = file if file is not None else PermissionFile(default_permissions_path())
    cli = check_answer(config.peers_permission) if config.peers_permission is not None else None
    answer = default_answer(cli, None, headless=config.headless)
    apps = paths.apps_dir()
    hosts = sorted(d.name for d in apps.iterdir() if d.is_dir()) if apps.is_dir() else []
    built_in = [f"{SCHEME}://{host}" for host in hosts if not host.startswith(("_", "."))]
    policy = PermissionPolicy(
        answer,
        command_line=config.site_permissions,  # type: ignore[arg-type]
        config=config.config_permissions,  # type: ignore[arg-type]
        saved=file.load(),
        built_in=built_in,
    )
    if config.headless and answer == "ask":
        log.warning("peers_permission is 'ask' but no one can answer in a headless run: sites are refused")
    log.info("site permissions: %s (sites with no decision: %s)", file.path, answer)
    return SitePermissions(
        policy, file, can_ask=not config.headless, hide_addresses=config.peer_addresses == "hide"
    )


async def close_window(window: BrowserWindow, timeout: float) -> bool:
    """Close ``window``: its tabs and DevTools (each page deleted before its view),
    then the window itself. True when all of it was gone within ``timeout`` seconds (each wait)."""
    pages = [tab.page for tab in window.tabs()] + window.devtools.pages()
    window.shutdown()
    pages_gone = await destroyed(pages, timeout)
    window.hide()
    window.deleteLater()
    return await destroyed([window], timeout) and pages_gone


class Session:
    """The objects of one run, and their start-up and shutdown."""

    def __init__(self, config: BrowserConfig, debugging_upstream: int | None = None) -> None:
        self.config = config
        #: The port of QtWebEngine's own CDP endpoint (``remote_debugging.configure``).
        self.debugging_upstream = debugging_upstream
        self.cdp: CdpFront | None = None
        self.core: SwarmCore | None = None
        self.profile: QWebEngineProfile | None = None
        self.window: BrowserWindow | None = None
        self._stop = asyncio.Event()
        self.stop_reason = ""

    def stop(self, reason: str) -> None:
        if not self._stop.is_set():
            log.info("stopping: %s", reason)
            self.stop_reason = reason
            self._stop.set()

    async def run(self, task: SessionTask | None) -> int:
        self._install_signal_handlers()
        code = 0
        try:
            self.core = build_core(self.config)
            await start_core(self.core)
            self.profile = make_profile()
            self.window = window = BrowserWindow(
                self.profile,
                self.core,
                permissions=site_permissions(self.config),
                pages_always_visible=self.config.headless,
            )
            window.closed.connect(lambda: self.stop("window closed"))
            # A task (the headless demo) opens its own tabs; a plain run shows the start page.
            for url in self.config.urls or ((None,) if task is None else ()):
                target = None if url is None else (url_from_input(url) or url)
                window.new_tab(target, self.config.identity)
            if window.tabs():
                window.tab_widget.setCurrentIndex(0)
            if self.config.remote_debugging_port is not None and not await self._start_cdp_front():
                return 2
            # Headless runs use the offscreen platform: the window is shown (so pages
            # lay out and paint) but there is no screen to show it on.
            window.show()
            log.info("ready: %d tab(s)%s", len(window.tabs()), " (headless)" if self.config.headless else "")
            if task is None:
                await self._stop.wait()
            else:
                code = await self._run_task(task)
        finally:
            await self._shutdown()
        return code

    async def _run_task(self, task: SessionTask) -> int:
        job = asyncio.ensure_future(task(self))
        stopper = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({job, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if job in done:
            stopper.cancel()
            return job.result()
        job.cancel()
        print(f"peerbrowser: interrupted ({self.stop_reason})", file=sys.stderr)
        return 1

    async def _start_cdp_front(self) -> bool:
        """Listen for automation tools on 127.0.0.1 (``--remote-debugging-port``)."""
        from browser.cdp_front import CdpFront, Upstream

        assert self.debugging_upstream is not None and self.config.remote_debugging_port is not None
        front = CdpFront(
            self.config.remote_debugging_port,
            Upstream(self.debugging_upstream),
            self._open_tab_for_cdp,
            lambda: self.stop("Browser.close over remote debugging"),
        )
        try:
            await front.start()
        except OSError as exc:
            msg = f"cannot listen on 127.0.0.1:{self.config.remote_debugging_port} for remote debugging"
            log.error("%s: %s", msg, exc.strerror or exc)
            print(f"peerbrowser: {msg}: {exc.strerror or exc}", file=sys.stderr)
            return False
        self.cdp = front
        log.warning(
            "remote debugging on %s (127.0.0.1 only; QtWebEngine's endpoint behind it: 127.0.0.1:%d): %s",
            front.url,
            self.debugging_upstream,
            remote_debugging.EXPOSES,
        )
        return True

    def _open_tab_for_cdp(self, url: str, background: bool) -> str:
        """Target.createTarget: a tab (the window's default identity) and its DevTools id."""
        from browser.cdp_front import CdpError

        if self.window is None:
            raise CdpError("the browser is shutting down")
        if len(self.window.tabs()) >= MAX_TABS_FOR_CDP:
            raise CdpError(f"{MAX_TABS_FOR_CDP} tabs are open: close some first")
        qurl = QUrl(url)
        if not qurl.isValid() or qurl.isRelative():
            raise CdpError(f"Invalid url: {url!r}", -32602)
        tab = self.window.new_tab(qurl, background=background)
        return str(tab.page.devToolsId())

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self.stop, signal.Signals(signum).name)
            except (NotImplementedError, RuntimeError):
                signal.signal(signum, lambda n, _f: self.stop(signal.Signals(n).name))

    async def _shutdown(self) -> None:
        """Remote debugging, tabs (page before view), then the profile, then the core."""
        if self.cdp is not None:
            cdp, self.cdp = self.cdp, None
            await cdp.close()
        if self.window is not None:
            window, self.window = self.window, None
            if not await close_window(window, SHUTDOWN_TIMEOUT):
                log.warning("the window's pages were not deleted within %g s", SHUTDOWN_TIMEOUT)
        if self.profile is not None:
            profile, self.profile = self.profile, None
            profile.deleteLater()
            if not await destroyed([profile], SHUTDOWN_TIMEOUT):
                log.warning("profile was not deleted within %g s", SHUTDOWN_TIMEOUT)
        if self.core is not None:
            await close_core(self.core)
        log.info("shut down cleanly")
