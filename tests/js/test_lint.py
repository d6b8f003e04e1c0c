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


def node_runs_eslint() -> bool:
    """eslint 10 needs Node ^20.19 || ^22.13 || >= 24 (the sidecar needs only 18)."""
    if NODE is None:
        return False
    out = subprocess.run([NODE, "-p", "process.versions.node"], capture_output=True, text=True, check=True)
    major, minor = (int(x) for x in out.stdout.split(".")[:2])
    return (major, minor) >= (24, 0) or (major == 22 and minor >= 13) or (major == 20 and minor >= 19)


@pytest.mark.skipif(not node_runs_eslint(), reason="eslint needs Node.js ^20.19, ^22.13 or >= 24")
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
