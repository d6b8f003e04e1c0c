"""The ``peerapp://`` scheme: built-in demo apps, each host its own origin.

``peerapp://chat/`` serves ``js/apps/chat/``, ``peerapp://board/`` serves
``js/apps/board/``; ``peerapp://start/`` is the start page. The scheme is
registered as a standard (host syntax), secure, CORS-enabled scheme, so
``location.origin`` is ``peerapp://chat`` and pages are secure contexts.

:func:`register_scheme` must run before the ``QApplication`` is created.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote

from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QUrl
from PyQt6.QtWebEngineCore import (
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

from browser import paths

log = logging.getLogger("peerbrowser.scheme")

SCHEME = "peerapp"
START_URL = f"{SCHEME}://start/"

_HOST_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_MIME_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
    ".wasm": "application/wasm",
}
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "image/svg+xml")


def register_scheme() -> None:
    """Declare ``peerapp`` to QtWebEngine. Idempotent; call before QApplication."""
    if QWebEngineUrlScheme.schemeByName(SCHEME.encode()).name() == SCHEME.encode():
        return
    scheme = QWebEngineUrlScheme(SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    scheme.setFlags(
        QWebEngineUrlScheme.Flag.SecureScheme
        | QWebEngineUrlScheme.Flag.CorsEnabled
        | QWebEngineUrlScheme.Flag.FetchApiAllowed
    )
    QWebEngineUrlScheme.registerScheme(scheme)


def mime_type(path: Path) -> str:
    mime = _MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    mime = mime or "application/octet-stream"
    if mime.startswith(_TEXT_TYPES):
        mime += ";charset=utf-8"
    return mime


def resolve(root: Path, host: str, url_path: str) -> Path | None:
    """Map ``peerapp://<host><url_path>`` (path percent-encoded) to a file under ``root/<host>/``.

    Returns None for anything that is not a plain file inside that app's
    directory: unknown hosts, ``..`` or ``.`` segments (also percent-encoded),
    backslashes, NUL bytes, hidden files, and symlinks that lead outside.
    """
    if not _HOST_RE.match(host):
        return None
    app_root = (root / host).resolve()
    if not app_root.is_dir():
        return None
    segments = [unquote(s) for s in url_path.split("/")]
    parts = [s for s in segments if s != ""]
    for part in parts:
        if part in (".", "..") or part.startswith(".") or any(c in part for c in "/\\\0"):
            return None
    candidate = app_root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(app_root) or not real.is_file():
        return None
    return real


class AppSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves ``peerapp://<host>/<path>`` from ``<apps_dir>/<host>/<path>``."""

    def __init__(self, apps_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = (apps_dir or paths.apps_dir()).resolve()
        self._devices: dict[int, QBuffer] = {}

    def requestStarted(self, job: QWebEngineUrlRequestJob | None) -> None:
        if job is None:
            return
        url = job.requestUrl()
        method = bytes(job.requestMethod().data()).decode("ascii", "replace")
        if method not in ("GET", "HEAD"):
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        encoded_path = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
        path = resolve(self._root, url.host(), encoded_path)
        if path is None:
            log.info("404 %s", url.toString())
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
            return
        job.reply(mime_type(path).encode(), self._device(job, data))

    def _device(self, job: QWebEngineUrlRequestJob, data: bytes) -> QBuffer:
        """A buffer the engine may read until the job is gone, freed *after* it.

        Not a child of the job: QtWebEngine can still touch the device while the
        job is destroyed (a page closed mid-load), so it is deleted later, as
        QWebEngineUrlRequestJob::reply() documents.
        """
        buffer = QBuffer()
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        key = id(buffer)
        self._devices[key] = buffer  # the Python side keeps it alive until then
        job.destroyed.connect(buffer.deleteLater)
        buffer.destroyed.connect(lambda *_: self._devices.pop(key, None))
        return buffer
