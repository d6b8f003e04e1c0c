"""A page's origin, as the browser sees it (never as the page says it is)."""

from __future__ import annotations

from PyQt6.QtCore import QUrl

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
#: Schemes whose documents have an opaque origin (serialized as "null").
OPAQUE_SCHEMES = {"data", "about", "file", "javascript", "qrc", "chrome", "view-source", ""}


def origin_of(url: QUrl) -> str:
    """The serialized origin of ``url``: ``scheme://host[:port]``, or ``"null"``."""
    scheme = url.scheme().lower()
    if scheme == "blob":
        return origin_of(QUrl(url.path()))
    host = url.host(QUrl.ComponentFormattingOption.FullyEncoded).lower()
    if scheme in OPAQUE_SCHEMES or not host:
        return "null"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = url.port()
    if port == -1 or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
