"""The process environment QtWebEngine starts with (browser/env.py)."""

from __future__ import annotations

import os

from browser.env import FLAGS_VAR, chromium_flags

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_chromium_flags_are_appended_to_the_users_flags() -> None:
    flags = chromium_flags("--user-flag --no-pings=x", as_root=True)
    assert flags.startswith("--user-flag --no-pings=x ")
    assert "--no-sandbox" in flags.split()
    assert "--disable-background-networking" in flags.split()
    assert flags.split().count("--no-pings=x") == 1 and "--no-pings" not in flags.split()
    assert "--no-sandbox" not in chromium_flags("", as_root=False).split()


def test_environment_of_this_process_has_the_flags() -> None:
    flags = os.environ[FLAGS_VAR].split()
    assert "--disable-background-networking" in flags
    if os.geteuid() == 0:
        assert "--no-sandbox" in flags
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
