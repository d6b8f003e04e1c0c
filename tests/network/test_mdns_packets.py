"""The `lan` network's mDNS reader (swarm/sidecar/lan.js) on crafted packets, without a
network: every malformed packet reads as nothing, a well-formed one as its device; and a
source over its packet budget is cut off."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from swarm.sidecar_options import SIDECAR_DIR

from .conftest import needs_sidecar

pytestmark = needs_sidecar
MDNS_SEND = Path(__file__).with_name("mdns_send.js")


def test_every_malformed_packet_reads_as_nothing():
    out = subprocess.run(
        ["node", str(MDNS_SEND), str(SIDECAR_DIR), "10.213.9.0/24", "read"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,  # hang guard
    )
    results = json.loads(out.stdout)
    control = results.pop("(control) well-formed")
    assert control == {
        "devices": [{"label": "0123456789abcdef", "host": "10.213.9.200", "port": 40000, "ttl": 120}]
    }
    assert len(results) == 16
    for name, read in results.items():
        assert read is None, name


def test_a_source_over_its_budget_is_cut_off_and_others_are_not():
    script = """
const { Budget } = require(process.argv[1])
let t = 0
const b = new Budget(50, 10000, () => t)
const first = Array.from({ length: 60 }, () => b.take('10.0.0.9')).filter(Boolean).length
const other = b.take('10.0.0.8')
t = 10000
const later = b.take('10.0.0.9')
console.log(JSON.stringify({ first, other, later }))
"""
    out = subprocess.run(
        ["node", "-e", script, str(SIDECAR_DIR / "lan.js")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,  # hang guard
    )
    assert json.loads(out.stdout) == {"first": 50, "other": True, "later": True}
