"""``peerbrowser dht ...``: placeholder until the network engine lands.

The network engineer replaces :func:`dht_command`; ``browser.main`` only
forwards the arguments after ``dht`` and exits with its return value.
"""

from __future__ import annotations

import sys


def dht_command(argv: list[str]) -> int:
    print("peerbrowser dht: not yet available", file=sys.stderr)
    return 2
