"""Where the browser finds the files it ships: page scripts and demo apps.

They are package data of the ``js`` package, found through ``importlib.resources``:
the same code serves a source checkout, an editable install and an installed wheel,
and never looks for files relative to the current directory or the checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_dir(package: str) -> Path:
    """The directory of an installed package (its data files lie in it).

    Peerbrowser is installed unpacked (pip always does), so the package is a
    directory on disk: QtWebEngine and Node read its files by path.
    """
    root = resources.files(package)
    if not isinstance(root, Path):
        raise RuntimeError(f"the {package!r} package is not a directory on disk ({root!r})")
    return root


def js_dir() -> Path:
    """The ``js`` package: page-side code."""
    return package_dir("js")


def apps_dir() -> Path:
    """The built-in demo apps, one sub-directory per ``peerapp://<host>/`` origin."""
    return js_dir() / "apps"


def peersocket_js(js: Path | None = None) -> Path:
    """The PeerSocket page API, injected into every top-level page (the one place that
    names it). ``js`` stands in for the ``js`` package (tests)."""
    return (js or js_dir()) / "peersocket.js"
