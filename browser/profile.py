"""The browser's one off-the-record profile and the scripts injected into pages.

Every top-level page gets, at document creation and in the main world,
``qwebchannel.js`` (from Qt's resources) followed by ``js/peersocket.js`` (built from
the modules in ``js/peersocket/`` by ``js/build.mjs`` and checked in: running the
browser needs no Node.js). Sub-frames get nothing: the PeerSocket API is for the page
a user opened.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QFile, QIODevice, QObject
from PyQt6.QtWebEngineCore import QWebEngineProfile, QWebEngineScript, QWebEngineSettings

from browser import paths
from browser.scheme import SCHEME, AppSchemeHandler

log = logging.getLogger("peerbrowser.profile")

QWEBCHANNEL_RESOURCE = ":/qtwebchannel/qwebchannel.js"
SCRIPT_PREFIX = "peerbrowser/"


def read_qwebchannel_js() -> str:
    """Qt's own ``qwebchannel.js`` (it always matches the QWebChannel in use)."""
    file = QFile(QWEBCHANNEL_RESOURCE)
    if not file.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError(f"cannot open Qt resource {QWEBCHANNEL_RESOURCE}")
    try:
        return bytes(file.readAll().data()).decode("utf-8")
    finally:
        file.close()


def read_peersocket_js(js_dir: Path | None = None) -> str | None:
    """The PeerSocket page API's script, or None (logged) when it is missing.

    The one place that reads it. ``js_dir`` defaults to the installed ``js`` package.
    """
    peersocket = paths.peersocket_js(js_dir)
    if not peersocket.is_file():
        log.warning("%s not found: pages get no PeerSocket API", peersocket)
        return None
    return peersocket.read_text(encoding="utf-8")


def page_scripts(js_dir: Path | None = None) -> list[QWebEngineScript]:
    """Build every script the browser injects. The only place that makes one.

    ``js_dir`` as for ``read_peersocket_js``; without ``peersocket.js`` pages get
    only the channel.
    """
    sources: list[tuple[str, str]] = [("qwebchannel", read_qwebchannel_js())]
    peersocket = read_peersocket_js(js_dir)
    if peersocket is not None:
        sources.append(("peersocket", peersocket))
    scripts = []
    for name, source in sources:
        script = QWebEngineScript()
        script.setName(SCRIPT_PREFIX + name)
        script.setSourceCode(source)
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        script.setRunsOnSubFrames(False)
        scripts.append(script)
    return scripts


def make_profile(
    parent: QObject | None = None,
    *,
    apps_dir: Path | None = None,
    js_dir: Path | None = None,
) -> QWebEngineProfile:
    """An off-the-record profile with the page scripts and the ``peerapp`` scheme.

    Delete it (``deleteLater``) only after every page using it is gone.
    """
    profile = QWebEngineProfile(parent)  # no storage name: off the record
    collection = profile.scripts()
    assert collection is not None
    for script in page_scripts(js_dir):
        collection.insert(script)
    handler = AppSchemeHandler(apps_dir, profile)
    profile.installUrlSchemeHandler(SCHEME.encode(), handler)
    profile.setProperty("peerbrowser-scheme-handler", handler)  # keep the Python side alive
    settings = profile.settings()
    assert settings is not None
    settings.setAttribute(QWebEngineSettings.WebAttribute.DnsPrefetchEnabled, False)
    settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
    settings.setAttribute(QWebEngineSettings.WebAttribute.FullScreenSupportEnabled, True)
    return profile
