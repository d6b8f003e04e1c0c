"""Settings for the whole test suite."""

from __future__ import annotations

from hypothesis import settings

# No time limits in tests (speed is for bench/): Hypothesis's per-example deadline
# would fail a fuzz test on a loaded machine, not on a wrong result.
settings.register_profile("peerbrowser", deadline=None)
settings.load_profile("peerbrowser")
