"""Turning what a person types into the address bar into a URL."""

from __future__ import annotations

import ipaddress
import re

from PyQt6.QtCore import QUrl

_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_KNOWN_SCHEMES = {"http", "https", "peerapp", "about", "data", "file", "view-source", "qrc"}
_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_from_input(text: str) -> QUrl | None:
    """``example.com`` -> ``https://example.com``; loopback hosts get ``http://``.

    Anything with a known scheme is taken as written. Returns None for text
    that cannot be a URL (empty, or containing spaces: there is no search).
    """
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return None
    match = _SCHEME_RE.match(text)
    if match and match.group(0)[:-1].lower() in _KNOWN_SCHEMES:
        url = QUrl(text)
        return url if url.isValid() else None
    host = re.split(r"[/:?#]", text.removeprefix("[").split("]")[0], maxsplit=1)[0]
    scheme = "http" if _is_loopback(host) else "https"
    url = QUrl(f"{scheme}://{text}")
    return url if url.isValid() and url.host() else None
