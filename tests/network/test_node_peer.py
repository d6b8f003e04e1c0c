"""examples/node-peer's own tests (node --test): the test vectors of docs/PROTOCOL.md, read
from the document, and the protocol's rules with bytes in and out. No network."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.network.processes import REPO

NODE_PEER = REPO / "examples" / "node-peer"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_PEER / "node_modules" / "@msgpack").is_dir(),
    reason="node or examples/node-peer/node_modules missing (run scripts/bootstrap.sh)",
)


def test_the_node_peer_passes_its_tests_against_the_protocol_document():
    done = subprocess.run(
        ["node", "--test", "test/"], cwd=NODE_PEER, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout
