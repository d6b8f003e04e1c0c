"""Settings for the whole test suite."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

# The processes the tests start (`peerbrowser`, helper scripts) import this checkout's
# code too: a script does not import from the current directory, and a venv borrowed from
# another worktree (PEERBROWSER_VENV) has that worktree's code installed, editable
# (tests/test_checkout.py).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)

# No time limits in tests (speed is for bench/): Hypothesis's per-example deadline
# would fail a fuzz test on a loaded machine, not on a wrong result.
settings.register_profile("peerbrowser", deadline=None)
settings.load_profile("peerbrowser")
