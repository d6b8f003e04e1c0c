"""The process environment QtWebEngine starts with (browser/env.py)."""

from __future__ import annotations

import os

from browser.env import FLAGS_VAR, V8_FLAGS, chromium_flags

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_chromium_flags_are_appended_to_the_users_flags() -> None:
    flags = chromium_flags("--user-flag --no-pings=x", as_root=True)
    assert flags.startswith("--user-flag --no-pings=x ")
    assert "--no-sandbox" in flags.split()
    assert "--disable-background-networking" in flags.split()
    assert flags.split().count("--no-pings=x") == 1 and "--no-pings" not in flags.split()
    assert "--no-sandbox" not in chromium_flags("", as_root=False).split()


def js_flags(flags: str) -> list[str]:
    return [f for f in flags.split() if f.startswith("--js-flags=")]


def test_renderers_get_the_v8_heap_flag_without_a_js_flags_of_the_user() -> None:
    flags = chromium_flags("--user-flag", as_root=False)
    assert flags.startswith("--user-flag ")
    assert js_flags(flags) == ["--js-flags=" + ",".join(V8_FLAGS)]


def test_the_users_js_flags_are_kept_and_ours_are_added_to_them() -> None:
    # V8 flags go comma-separated into one --js-flags: a second --js-flags would
    # replace the user's (Chromium keeps the last)
    flags = chromium_flags("--js-flags=--expose-gc,--max-lazy --other", as_root=False)
    assert js_flags(flags) == ["--js-flags=--expose-gc,--max-lazy," + ",".join(V8_FLAGS)]
    assert flags.split()[1] == "--other"


def test_a_v8_flag_the_user_set_is_left_as_set() -> None:
    flags = chromium_flags("--js-flags=--initial-old-space-size=256", as_root=False)
    assert js_flags(flags) == ["--js-flags=--initial-old-space-size=256"]


def test_of_several_js_flags_the_last_one_gets_ours() -> None:
    flags = chromium_flags("--js-flags=--a --js-flags=--b", as_root=False)
    assert js_flags(flags) == ["--js-flags=--a", "--js-flags=--b," + ",".join(V8_FLAGS)]


def test_environment_of_this_process_has_the_flags() -> None:
    flags = os.environ[FLAGS_VAR].split()
    assert "--disable-background-networking" in flags
    assert any(f.startswith("--js-flags=") and V8_FLAGS[0] in f.split("=", 1)[1].split(",") for f in flags)
    if os.geteuid() == 0:
        assert "--no-sandbox" in flags
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
