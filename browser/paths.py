"""Where the browser finds the files it ships: page scripts and demo apps."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def js_dir() -> Path:
    """The repository's ``js/`` directory (page-side code)."""
    return REPO_ROOT / "js"


def apps_dir() -> Path:
    """The built-in demo apps, one sub-directory per ``peerapp://<host>/`` origin."""
    return js_dir() / "apps"


def peersocket_js() -> Path:
    """The PeerSocket page API, injected into every top-level page."""
    return js_dir() / "peersocket.js"
