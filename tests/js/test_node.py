"""The page-side JavaScript tested on its own in Node (node:test): one case per file.

Each ``tests/js/*.test.mjs`` runs as ``node --test FILE``; its report is the failure
message. Pages themselves are tested in real QtWebEngine (tests/bridge, tests/browser).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
FILES = sorted(HERE.glob("*.test.mjs"))


def test_there_are_node_test_files() -> None:
    assert FILES, f"no *.test.mjs under {HERE}"


@pytest.mark.skipif(NODE is None, reason="node not found (install Node.js >= 18)")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_node_test_file_passes(path: Path) -> None:
    proc = subprocess.run(
        [str(NODE), "--test", "--test-reporter=spec", str(path)],
        cwd=HERE.parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
