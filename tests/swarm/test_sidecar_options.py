"""The sidecar's options and command line, checked without Node (swarm/sidecar_options.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from swarm.netguard import ENV as NETNS_ENV
from swarm.sidecar_options import (
    DEFAULT_LOCAL_PORT,
    LOOPBACK_ENV,
    SIDECAR_DIR,
    SIDECAR_MALLOC,
    EngineConfigError,
    HyperswarmOptions,
    check_installed,
    check_network,
    dht_node_command,
    node_path,
    sidecar_command,
    sidecar_env,
    start_options,
)


@pytest.fixture(autouse=True)
def _no_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NETNS_ENV, raising=False)


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A sidecar directory that looks installed (its script and its npm packages)."""
    (tmp_path / "sidecar.js").write_text("// the sidecar\n")
    (tmp_path / "node_modules" / "hyperswarm").mkdir(parents=True)
    return tmp_path


def refused(code: str, opts: HyperswarmOptions) -> str:
    with pytest.raises(EngineConfigError) as err:
        start_options(opts)
    assert err.value.code == code
    return str(err.value)


def test_loopback_only_follows_the_environment_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOPBACK_ENV, raising=False)
    assert HyperswarmOptions().guarded() is False
    assert HyperswarmOptions(loopback_only=True).guarded() is True
    monkeypatch.setenv(LOOPBACK_ENV, "1")
    assert HyperswarmOptions().guarded() is True
    assert HyperswarmOptions(loopback_only=False).guarded() is False


def test_the_local_network_binds_to_loopback_by_default() -> None:
    opts = HyperswarmOptions(loopback_only=False)
    assert start_options(opts) == {
        "network": "local",
        "bootstrap": [],
        "localPort": DEFAULT_LOCAL_PORT,
        "host": "127.0.0.1",
        "nice": 10,  # the sidecar runs below the browser and its pages
    }


def test_every_option_reaches_the_start_frame() -> None:
    seed = bytes(range(32))
    opts = HyperswarmOptions(
        network="bootstrap",
        bootstrap=("127.0.0.1:5000", "[::1]:5001"),
        port=6000,
        seed=seed,
        refresh_interval=1.5,
        link_timeout=2.5,
        reachable=True,
        loopback_only=True,
        nice=3,
    )
    assert start_options(opts) == {
        "network": "bootstrap",
        "bootstrap": ["127.0.0.1:5000", "[::1]:5001"],
        "localPort": DEFAULT_LOCAL_PORT,
        "host": "127.0.0.1",  # guarded: loopback, whatever the network
        "port": 6000,
        "seed": seed,
        "refreshInterval": 1500,
        "reachable": True,
        "linkTimeout": 2500,
        "nice": 3,
    }
    # at the browser's own priority, the frame says nothing
    assert "nice" not in start_options(HyperswarmOptions(nice=0, loopback_only=False))


def test_a_public_network_binds_anywhere_unless_guarded() -> None:
    assert "host" not in start_options(HyperswarmOptions(network="public", loopback_only=False))
    assert "refused" in refused("ERR_LOOPBACK_GUARD", HyperswarmOptions(network="public", loopback_only=True))


def test_off_loopback_addresses_are_refused_when_guarded() -> None:
    off = HyperswarmOptions(network="bootstrap", bootstrap=("192.0.2.1:49737",), loopback_only=True)
    assert "192.0.2.1" in refused("ERR_LOOPBACK_GUARD", off)
    host = HyperswarmOptions(host="0.0.0.0", loopback_only=True)
    assert "0.0.0.0" in refused("ERR_LOOPBACK_GUARD", host)
    # the same options, unguarded, are a user's choice
    unguarded = HyperswarmOptions(network="bootstrap", bootstrap=("192.0.2.1:49737",), loopback_only=False)
    assert start_options(unguarded)["bootstrap"] == ["192.0.2.1:49737"]


def test_a_malformed_namespace_subnet_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NETNS_ENV, "8.8.8.0/24")
    opts = HyperswarmOptions(network="bootstrap", bootstrap=("10.1.2.3:49737",), loopback_only=True)
    assert "private subnet" in refused("ERR_LOOPBACK_GUARD", opts)


@pytest.mark.parametrize(
    ("opts", "code"),
    [
        (HyperswarmOptions(network="bootstrap", loopback_only=False), "ERR_BAD_BOOTSTRAP"),
        (HyperswarmOptions(seed=b"short", loopback_only=False), "ERR_BAD_SEED"),
        (HyperswarmOptions(link_timeout=0.5, loopback_only=False), "ERR_BAD_TIMEOUT"),
        (HyperswarmOptions(nice=-1, loopback_only=False), "ERR_BAD_NICE"),
        (HyperswarmOptions(nice=20, loopback_only=False), "ERR_BAD_NICE"),
        (HyperswarmOptions(nice=2.5, loopback_only=False), "ERR_BAD_NICE"),  # type: ignore[arg-type]
    ],
)
def test_options_that_cannot_work_are_refused(opts: HyperswarmOptions, code: str) -> None:
    refused(code, opts)


def test_an_unknown_network_is_refused() -> None:
    for known in ("local", "bootstrap", "lan", "public"):
        check_network(HyperswarmOptions(network=known))
    with pytest.raises(EngineConfigError) as err:
        check_network(HyperswarmOptions(network="internet"))
    assert err.value.code == "ERR_BAD_NETWORK" and "'internet'" in str(err.value)


def test_a_missing_node_says_what_to_install() -> None:
    assert node_path(HyperswarmOptions(node=sys.executable)) == sys.executable
    with pytest.raises(EngineConfigError) as err:
        node_path(HyperswarmOptions(node="/nonexistent/bin/node"))
    assert err.value.code == "ERR_NODE_MISSING"
    assert "install Node.js" in str(err.value) and "/nonexistent/bin/node" in str(err.value)


def test_a_sidecar_without_its_packages_says_to_run_npm_ci(installed: Path) -> None:
    check_installed(installed)
    (installed / "node_modules" / "hyperswarm").rmdir()
    with pytest.raises(EngineConfigError) as err:
        check_installed(installed)
    assert err.value.code == "ERR_SIDECAR_MISSING" and "npm ci" in str(err.value)


def test_the_command_preloads_the_guard_only_when_guarded(installed: Path) -> None:
    plain = sidecar_command(HyperswarmOptions(node=sys.executable, loopback_only=False), installed)
    assert plain == [sys.executable, str(installed / "sidecar.js")]
    guarded = sidecar_command(HyperswarmOptions(node=sys.executable, loopback_only=True), installed)
    assert guarded == [sys.executable, "-r", str(installed / "loopback-guard.cjs"), str(installed / "sidecar.js")]
    with pytest.raises(EngineConfigError) as err:
        sidecar_command(HyperswarmOptions(node="/nonexistent/bin/node"), installed)
    assert err.value.code == "ERR_NODE_MISSING"


def test_the_environment_carries_the_guard_and_the_extra_variables() -> None:
    opts = HyperswarmOptions(env={"EXTRA": "1"}, loopback_only=True)
    env = sidecar_env(opts, {"PATH": "/bin", LOOPBACK_ENV: "0"})
    assert env == {"PATH": "/bin", "EXTRA": "1", LOOPBACK_ENV: "1", **SIDECAR_MALLOC}
    plain = sidecar_env(HyperswarmOptions(loopback_only=False), {"PATH": "/bin"})
    assert plain == {"PATH": "/bin", **SIDECAR_MALLOC}


def test_the_sidecar_gets_its_malloc_settings_unless_the_user_set_them() -> None:
    # freed receive buffers go back to the system (docs/SIDECAR.md, "Memory")
    assert sidecar_env(HyperswarmOptions(), {})["MALLOC_MMAP_THRESHOLD_"] == "65536"
    mine = sidecar_env(HyperswarmOptions(), {"MALLOC_MMAP_THRESHOLD_": "1048576"})
    assert mine["MALLOC_MMAP_THRESHOLD_"] == "1048576"
    opted = sidecar_env(HyperswarmOptions(env={"MALLOC_MMAP_THRESHOLD_": "4096"}), {})
    assert opted["MALLOC_MMAP_THRESHOLD_"] == "4096"


def test_the_dht_node_command_is_guarded_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, installed: Path
) -> None:
    monkeypatch.delenv(LOOPBACK_ENV, raising=False)
    script = str(SIDECAR_DIR / "dht-bootstrap.js")
    assert dht_node_command("127.0.0.1", 5000) == ["node", script, "--host", "127.0.0.1", "--port", "5000"]
    monkeypatch.setenv(LOOPBACK_ENV, "1")
    guarded = dht_node_command("127.0.0.1", 5000, sidecar_dir=installed)
    assert guarded[:4] == ["node", "-r", str(installed / "loopback-guard.cjs"), str(installed / "dht-bootstrap.js")]
