"""Placeholder: the per-page bridge lands with the swarm core (issue 3).

``attach_page(page, core, identity)`` puts one ``PageBridge`` QObject on the
page's QWebChannel under the name ``peersocket`` and returns it.
"""

from __future__ import annotations

from typing import Any


def attach_page(page: Any, core: Any, identity: int | None) -> Any:
    return None
