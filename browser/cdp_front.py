"""A Chrome DevTools Protocol endpoint on 127.0.0.1, in front of QtWebEngine's own.

QtWebEngine serves CDP itself when ``QTWEBENGINE_REMOTE_DEBUGGING`` is set, but
its browser target lacks what automation tools call first:
``Target.createTarget`` ("Not supported": puppeteer's ``browser.newPage()``)
and ``Browser.setDownloadBehavior`` ("Browser context management is not
supported": Playwright's ``connect_over_cdp``). This front listens where the
user asked (``--remote-debugging-port``, on 127.0.0.1 only), passes every
request and message through to QtWebEngine's endpoint (on a free loopback port
of its own), and answers those few browser-level commands itself:

- ``Target.createTarget {url, background?}`` opens a tab in the window. The
  answer's ``targetId`` is the new page's DevTools id, so the
  ``Target.targetCreated`` / ``attachedToTarget`` events QtWebEngine sends for
  the page match it.
- ``Browser.setDownloadBehavior`` is accepted and changes nothing (Peerbrowser
  does not download files).
- ``Browser.close`` ends the browser session, as it ends Chrome.
- ``Target.createBrowserContext`` fails with a message that says why (one profile).

It refuses what would let a web page reach it: requests whose ``Host`` is not a
loopback name (DNS rebinding), and requests with an ``Origin`` (a page's
script; command-line tools send none, Chrome's own DevTools send
``devtools://devtools``). ``/json/new`` is refused too (a page could open it
with a plain link); tabs are opened over the WebSocket.

No Qt in here: the browser passes callbacks that open a tab and close the
session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.http11 import Request, Response

log = logging.getLogger("peerbrowser.remote")

HOST = "127.0.0.1"
#: A CDP message can carry a full-page screenshot or a large DOM: 256 MiB at most.
MAX_MESSAGE = 256 * 1024 * 1024
#: Bodies of the /json endpoints (/json/protocol, the largest, is about 1 MiB).
MAX_HTTP_BODY = 16 * 1024 * 1024
#: WebSocket clients at once (puppeteer and Playwright use one or two each).
MAX_CLIENTS = 32
#: Seconds to reach QtWebEngine's endpoint.
UPSTREAM_TIMEOUT = 10.0
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
TRUSTED_ORIGINS = frozenset({"devtools://devtools"})
ONE_CONTEXT = (
    "Peerbrowser has one browser context (its off-the-record profile): open tabs in the "
    "default context; separate peers are separate debug identities (?identity=N, "
    "PeerSocket.setDebugIdentity)"
)
UNREACHABLE = "QtWebEngine's DevTools endpoint is not reachable"
PROXIED_PATHS = ("/json", "/json/list", "/json/version", "/json/protocol")
PROXIED_PREFIXES = ("/json/activate/", "/json/close/")


class CdpError(Exception):
    """A command the front answers with a CDP error (code -32000, as Chromium does)."""

    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.code = code


#: Opens a tab: ``(url, background) -> the new page's DevTools id``; raises CdpError.
TabOpener = Callable[[str, bool], str]


@dataclass(frozen=True)
class Upstream:
    """Where QtWebEngine's own endpoint listens."""

    port: int
    host: str = HOST

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


def loopback_host(headers: Headers) -> str | None:
    """The request's ``Host`` if it names this machine's loopback, else None."""
    host = headers.get("Host")
    if not host:
        return None
    name = host.lower()
    name = name[: name.find("]") + 1] if name.startswith("[") else name.partition(":")[0]
    return host if name in LOOPBACK_NAMES else None


def attaches_pages(target_filter: object) -> bool:
    """Whether a ``Target.setAutoAttach`` filter lets pages through (CDP's TargetFilter:
    the first entry whose type matches decides; none given: pages are attached)."""
    if target_filter is None:
        return True
    if not isinstance(target_filter, list):
        return False
    for entry in target_filter:
        if isinstance(entry, dict) and entry.get("type") in (None, "page"):
            return entry.get("exclude") is not True
    return False


class _Link:
    """One client's connection: what it asked to hear, and who waits for which event."""

    def __init__(self, browser_level: bool) -> None:
        self.browser_level = browser_level
        self.auto_attach = False
        self.discover = False
        #: (event method, target id) -> futures resolved when that event went to the client
        self.waiters: dict[tuple[str, str], list[asyncio.Future[None]]] = {}

    def follow(self, method: str, params: object) -> None:
        """The client sent ``method`` (setAutoAttach / setDiscoverTargets) at browser level."""
        given = params if isinstance(params, dict) else {}
        if method == "Target.setAutoAttach":
            self.auto_attach = given.get("autoAttach") is True and attaches_pages(given.get("filter"))
        else:
            self.discover = given.get("discover") is True

    def announcing_event(self) -> str | None:
        if self.auto_attach:
            return "Target.attachedToTarget"
        if self.discover:
            return "Target.targetCreated"
        return None

    async def wait_for(self, event: str, target_id: str) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = (event, target_id)
        self.waiters.setdefault(key, []).append(future)
        try:
            await future
        finally:
            waiting = self.waiters.get(key, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self.waiters.pop(key, None)

    def seen(self, message: str | bytes) -> None:
        """``message`` went to the client: wake whoever waited for it."""
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        if not any(event in text for event, _ in self.waiters):
            return
        try:
            parsed = json.loads(text)
            event = parsed["method"]
            target_id = parsed["params"]["targetInfo"]["targetId"]
        except (ValueError, KeyError, TypeError):
            return
        for future in self.waiters.get((event, target_id), []):
            if not future.done():
                future.set_result(None)


class CdpFront:
    """The endpoint a user's automation tools connect to.

    ``start()`` binds 127.0.0.1:``port`` (0: any free port; ``port`` then
    tells which), ``close()`` ends every connection and stops listening.
    """

    def __init__(
        self,
        port: int,
        upstream: Upstream,
        open_tab: TabOpener,
        close_browser: Callable[[], None],
    ) -> None:
        self.port = port
        self.upstream = upstream
        self._open_tab = open_tab
        self._close_browser = close_browser
        self._server: Server | None = None
        self._clients = 0
        self._commands: dict[str, Callable[[dict[str, Any], _Link], Awaitable[dict[str, Any]]]] = {
            "Target.createTarget": self._create_target,
            "Browser.setDownloadBehavior": self._set_download_behavior,
            "Browser.close": self._browser_close,
            "Target.createBrowserContext": self._create_browser_context,
        }

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self) -> None:
        self._server = await serve(
            self._serve,
            HOST,
            self.port,
            process_request=self._process_request,
            compression=None,
            max_size=MAX_MESSAGE,
            ping_interval=None,
            server_header="Peerbrowser",
        )
        sockets = list(self._server.sockets)
        self.port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()

    # -- HTTP ------------------------------------------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        host = loopback_host(request.headers)
        if host is None:
            return connection.respond(HTTPStatus.FORBIDDEN, "Host must be 127.0.0.1, localhost or [::1]\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in TRUSTED_ORIGINS:
            return connection.respond(
                HTTPStatus.FORBIDDEN, "Peerbrowser's remote debugging refuses requests from web pages\n"
            )
        path = request.path.split("?", 1)[0]
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if not path.startswith(("/devtools/browser/", "/devtools/page/")):
                return connection.respond(HTTPStatus.NOT_FOUND, "no such DevTools target\n")
            if self._clients >= MAX_CLIENTS:
                return connection.respond(
                    HTTPStatus.SERVICE_UNAVAILABLE, f"at most {MAX_CLIENTS} DevTools clients at once\n"
                )
            return None
        if path == "/json/new":
            return connection.respond(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "Peerbrowser opens tabs with Target.createTarget over the WebSocket "
                "(puppeteer's browser.newPage()), or window.open() from a page\n",
            )
        if path.rstrip("/") not in PROXIED_PATHS and not path.startswith(PROXIED_PREFIXES):
            return connection.respond(HTTPStatus.NOT_FOUND, f"{path}: not a DevTools endpoint\n")
        try:
            status, content_type, body = await self._http_get(request.path)
        except (OSError, ValueError, TimeoutError) as exc:
            log.warning("QtWebEngine's DevTools endpoint did not answer %s: %s", request.path, exc)
            return connection.respond(HTTPStatus.BAD_GATEWAY, UNREACHABLE + "\n")
        body = body.replace(self.upstream.authority.encode(), host.encode())
        headers = Headers()
        headers["Content-Type"] = content_type
        headers["Content-Length"] = str(len(body))
        headers["Cache-Control"] = "no-cache"
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        return Response(status, phrase, headers, body)

    async def _http_get(self, target: str) -> tuple[int, str, bytes]:
        """GET ``target`` from QtWebEngine's endpoint: (status, content type, body)."""

        async def get() -> tuple[int, str, bytes]:
            reader, writer = await asyncio.open_connection(self.upstream.host, self.upstream.port)
            try:
                writer.write(
                    f"GET {target} HTTP/1.1\r\nHost: {self.upstream.authority}\r\n"
                    "Connection: close\r\n\r\n".encode("latin-1")
                )
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                fields = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        fields[name.strip().lower()] = value.strip()
                length = int(fields.get("content-length", "0"))
                if not 0 <= length <= MAX_HTTP_BODY:
                    raise ValueError(f"a body of {length} bytes")
                body = await reader.readexactly(length)
                return status, fields.get("content-type", "application/json; charset=UTF-8"), body
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        try:
            return await asyncio.wait_for(get(), UPSTREAM_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError) as exc:
            raise ValueError(f"an unreadable answer ({exc})") from None

    # -- WebSocket ---------------------------------------------------------------------------

    async def _serve(self, client: ServerConnection) -> None:
        path = client.request.path if client.request is not None else "/"
        browser_level = path.startswith("/devtools/browser/")
        self._clients += 1
        try:
            try:
                upstream = await connect(
                    f"ws://{self.upstream.authority}{path}",
                    compression=None,
                    max_size=MAX_MESSAGE,
                    ping_interval=None,
                    open_timeout=UPSTREAM_TIMEOUT,
                )
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                log.warning("cannot reach QtWebEngine's DevTools endpoint for %s: %s", path, exc)
                await client.close(1011, UNREACHABLE)
                return
            log.info("remote debugging client connected to %s", path)
            link = _Link(browser_level)
            async with upstream:
                down = asyncio.ensure_future(self._to_client(upstream, client, link))
                up = asyncio.ensure_future(self._from_client(client, upstream, link))
                try:
                    await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (down, up):
                        task.cancel()
                    await asyncio.gather(down, up, return_exceptions=True)
            await client.close()
        finally:
            self._clients -= 1
            log.info("remote debugging client left %s", path)

    @staticmethod
    async def _to_client(upstream: Any, client: ServerConnection, link: _Link) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in upstream:
                await client.send(message)
                if link.waiters:
                    link.seen(message)

    async def _from_client(self, client: ServerConnection, upstream: Any, link: _Link) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in client:
                answer = await self._answer(message, link) if link.browser_level else None
                if answer is None:
                    await upstream.send(message)
                else:
                    await client.send(answer)

    async def _answer(self, message: str | bytes, link: _Link) -> str | None:
        """The front's own answer to a browser-level command, or None to pass it on."""
        try:
            command = json.loads(message)
        except ValueError:
            return None
        if not isinstance(command, dict) or "sessionId" in command:
            return None
        method = command.get("method")
        params = command.get("params")
        if method in ("Target.setAutoAttach", "Target.setDiscoverTargets"):
            link.follow(method, params)
            return None
        handler = self._commands.get(method)  # type: ignore[arg-type]
        if handler is None:
            return None
        reply: dict[str, Any] = {"id": command.get("id")}
        try:
            if params is not None and not isinstance(params, dict):
                raise CdpError("Invalid parameters", -32602)
            reply["result"] = await handler(params or {}, link)
        except CdpError as exc:
            reply["error"] = {"code": exc.code, "message": str(exc)}
        return json.dumps(reply)

    # -- the commands QtWebEngine lacks -------------------------------------------------------

    async def _create_target(self, params: dict[str, Any], link: _Link) -> dict[str, Any]:
        url = params.get("url", "about:blank")
        if not isinstance(url, str):
            raise CdpError("Invalid parameters: url must be a string", -32602)
        if params.get("browserContextId") is not None:
            raise CdpError(ONE_CONTEXT)
        target_id = self._open_tab(url or "about:blank", bool(params.get("background", False)))
        log.info("remote debugging opened a tab: %s", url or "about:blank")
        # As in Chrome, the client hears of the new page (attachedToTarget when it
        # auto-attaches pages, else targetCreated when it discovers targets) before
        # the answer: Playwright looks the page up as soon as it has the answer.
        event = link.announcing_event()
        if event is not None:
            try:
                await asyncio.wait_for(link.wait_for(event, target_id), UPSTREAM_TIMEOUT)
            except TimeoutError:
                log.warning("QtWebEngine sent no %s for the new tab %s", event, target_id)
        return {"targetId": target_id}

    async def _create_browser_context(self, params: dict[str, Any], link: _Link) -> dict[str, Any]:
        raise CdpError(ONE_CONTEXT)  # QtWebEngine's own answer: "Failed to create browser context."

    async def _set_download_behavior(self, params: dict[str, Any], link: _Link) -> dict[str, Any]:
        # Peerbrowser saves no downloads whatever the behaviour; accepting it lets
        # Playwright's connect_over_cdp set up its default context.
        return {}

    async def _browser_close(self, params: dict[str, Any], link: _Link) -> dict[str, Any]:
        log.info("remote debugging client asked the browser to close (Browser.close)")
        asyncio.get_running_loop().call_soon(self._close_browser)
        return {}
