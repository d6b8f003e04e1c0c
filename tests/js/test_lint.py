"""eslint finds nothing in the page-side JavaScript, its build and its tests.

The rules are in js/eslint.config.js (eslint pinned in js/package.json).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
ESLINT = ROOT / "js" / "node_modules" / "eslint" / "bin" / "eslint.js"


@pytest.mark.skipif(NODE is None, reason="node not found (install Node.js >= 18)")
def test_eslint_finds_nothing() -> None:
    if not ESLINT.is_file():
        pytest.fail("js/node_modules missing: run scripts/bootstrap.sh (or npm --prefix js ci)")
    proc = subprocess.run(
        [
            str(NODE),
            str(ESLINT),
            "--config",
            "js/eslint.config.js",
            "--max-warnings",
            "0",
            "js",
            "tests/js",
            "bench/codec.mjs",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
