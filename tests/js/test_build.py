"""js/peersocket.js is what js/build.mjs makes of the modules in js/peersocket/.

The browser injects the checked-in file and never builds it (no Node.js needed to run
it), so a change to a module that was not rebuilt would silently not reach pages.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "js"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node not found (install Node.js >= 18)")
def test_the_injected_script_is_built_from_the_current_modules() -> None:
    if not (JS / "node_modules" / "esbuild").is_dir():
        pytest.fail("js/node_modules missing: run scripts/bootstrap.sh (or npm --prefix js ci)")
    proc = subprocess.run(
        [str(NODE), "build.mjs", "--check"], cwd=JS, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
