"""The process environment QtWebEngine starts with (browser/env.py)."""

from __future__ import annotations

import os

import pytest

from browser.env import FLAGS_VAR, chromium_flags

from .conftest import OFFSCREEN_NOISE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE),
]


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
