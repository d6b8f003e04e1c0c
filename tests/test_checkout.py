"""The processes the tests start run this checkout's code.

Tests start ``peerbrowser`` (the venv's entry point script), Python helpers and the
sidecar as child processes. A script does not import from the current directory, so
without help such a child imports what the venv has installed: with a venv borrowed from
another worktree (``PEERBROWSER_VENV``, an editable install of that worktree), the other
worktree's browser, core and sidecar, and the tests would pass or fail on code that is
not the one under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# what a script outside the checkout imports, as bin/peerbrowser does
PROBE = """
import json
import browser.main, bridge, swarm.sidecar_options
print(json.dumps({
    "browser": browser.main.__file__,
    "bridge": bridge.__file__,
    "sidecar": str(swarm.sidecar_options.SIDECAR_DIR),
}))
"""


def test_a_script_the_tests_start_imports_this_checkout(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    done = subprocess.run(
        [sys.executable, str(script)], env=dict(os.environ), cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["browser"]) == REPO / "browser" / "main.py"
    assert Path(found["bridge"]) == REPO / "bridge" / "__init__.py"
    assert Path(found["sidecar"]) == REPO / "swarm" / "sidecar"
