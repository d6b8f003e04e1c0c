"""From the command line and the config file to the configuration and the network engine
(browser/main.py, browser/config.py, browser/core_factory.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser.config import parse_bootstrap

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_parse_bootstrap() -> None:
    assert parse_bootstrap("127.0.0.1:49737, [::1]:1234,") == (("127.0.0.1", 49737), ("::1", 1234))
    for bad in ["nohost", ":80", "host:", "host:0", "host:70000", "host:x"]:
        with pytest.raises(ValueError):
            parse_bootstrap(bad)


def test_command_line_reaches_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import browser.app
    from browser import main as main_module

    seen: list[Any] = []
    monkeypatch.setattr(
        browser.app,
        "run",
        lambda config, task=None, offscreen=False: seen.append((config, task, offscreen)) or 0,
    )
    argv = [
        "--headless",
        "--identity",
        "3",
        "--grace",
        "1.5",
        "--bootstrap",
        "127.0.0.1:1",
        "--network",
        "local",
        "peerapp://chat/",
    ]
    assert main_module.main(argv) == 0
    config, task, offscreen = seen[0]
    assert (config.urls, config.identity, config.grace) == (("peerapp://chat/",), 3, 1.5)
    assert (config.bootstrap, config.network, config.headless) == ((("127.0.0.1", 1),), "local", True)
    assert task is None and offscreen is True


def test_a_config_file_chooses_the_network_and_the_command_line_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import browser.app
    from browser import main as main_module

    seen: list[Any] = []
    monkeypatch.setattr(browser.app, "run", lambda config, task=None, offscreen=False: seen.append(config) or 0)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "peerbrowser").mkdir()
    (tmp_path / "peerbrowser" / "config.toml").write_text(
        'network = "public"\nbootstrap = ["127.0.0.1:5000"]\ngrace = 7\nlink_timeout = 6\nreachable = true\n'
        "local_port = 40001\nengine_nice = 4\n"
    )
    assert main_module.main(["--headless"]) == 0
    assert seen[-1].engine_nice == 4
    assert (seen[-1].network, seen[-1].bootstrap, seen[-1].grace) == ("public", (("127.0.0.1", 5000),), 7)
    assert (seen[-1].link_timeout, seen[-1].reachable, seen[-1].local_port) == (6, True, 40001)
    assert main_module.main(["--headless", "--local-port", "40002"]) == 0
    assert seen[-1].local_port == 40002
    assert main_module.main(["--headless", "--network", "none", "--grace", "1", "--link-timeout", "2"]) == 0
    assert (seen[-1].network, seen[-1].grace, seen[-1].link_timeout) == ("none", 1.0, 2.0)
    assert main_module.main(["--headless", "--engine-nice", "0"]) == 0
    assert seen[-1].engine_nice == 0  # the command line wins over the file
    for wrong in ("20", "-1", "ten"):
        with pytest.raises(SystemExit):
            main_module.main(["--headless", "--engine-nice", wrong])
        assert "--engine-nice: must be an integer from 0 to 19" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    for text, words in [
        ("network = 3", "wrong type"),
        ("netwrok = 'local'", "unknown setting"),
        ("[", "TOML"),
        ("reachable = 1", "wrong type"),
        ("link_timeout = 0.1", "between 1 and 600"),
        ("local_port = 70000", "between 1 and 65535"),
        ("engine_nice = 25", "engine_nice must be between 0 and 19"),
        ("engine_nice = true", "wrong type"),
    ]:
        bad.write_text(text)
        assert main_module.main(["--headless", "--config", str(bad)]) == 2
        assert words in capsys.readouterr().err


def test_the_engine_follows_the_network_choice() -> None:
    from browser.config import BrowserConfig
    from browser.core_factory import engine_options

    assert engine_options(BrowserConfig(network="none")) is None
    assert engine_options(BrowserConfig()).network == "local"
    assert engine_options(BrowserConfig(network="public")).network == "public"
    given = engine_options(BrowserConfig(bootstrap=(("127.0.0.1", 5000), ("::1", 6000))))
    assert (given.network, given.bootstrap) == ("bootstrap", ("127.0.0.1:5000", "[::1]:6000"))
    assert (given.link_timeout, given.reachable) == (None, False)
    lan = engine_options(BrowserConfig(bootstrap=(("10.0.0.5", 49737),), link_timeout=5, reachable=True))
    assert (lan.link_timeout, lan.reachable) == (5.0, True)
    assert engine_options(BrowserConfig(link_timeout=4)).link_timeout == 4.0
    assert engine_options(BrowserConfig()).local_port == 49736
    assert engine_options(BrowserConfig(local_port=40001)).local_port == 40001
    # the network engine runs below the browser unless told otherwise, whatever the network
    assert engine_options(BrowserConfig()).nice == 10
    assert engine_options(BrowserConfig(network="lan", engine_nice=0)).nice == 0
    assert engine_options(BrowserConfig(bootstrap=(("127.0.0.1", 5000),), engine_nice=3)).nice == 3
