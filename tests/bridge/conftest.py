"""Real QtWebEngine pages talking to a real swarm core through the bridge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm.core import SwarmCore
from tests.browser.conftest import (  # noqa: F401  (environment set-up and shared fixtures)
    LOAD_TIMEOUT_MS,
    aloop,
    js,
    js_await,
    load,
    profile_factory,
    window_factory,
)

HARNESS = Path(__file__).with_name("harness.js").read_text()
ORIGINS = ["alpha", "beta", "gamma"]


@pytest.fixture
def grace() -> float:
    return 0.0


@pytest.fixture
def core(aloop: Any, grace: float, qtbot: Any) -> Iterator[SwarmCore]:  # noqa: F811
    c = SwarmCore(grace=grace, loop=aloop)
    yield c
    # not run_until_complete: a nested QApplication.exec() in teardown crashes QtWebEngine
    task = aloop.create_task(c.close())
    qtbot.waitUntil(task.done, timeout=LOAD_TIMEOUT_MS)
    task.result()
    assert c.presences == {} and c.topics == {}


@pytest.fixture
def apps(tmp_path: Path) -> Path:
    root = tmp_path / "apps"
    for name in ORIGINS:
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_text(
            f"<!doctype html><title>{name}</title><script src='harness.js'></script><p>{name}"
        )
        (root / name / "harness.js").write_text(HARNESS)
    return root


@pytest.fixture
def browser(core: SwarmCore, apps: Path, profile_factory: Any, window_factory: Any) -> Any:  # noqa: F811
    return window_factory(core, profile_factory(apps_dir=apps))


@pytest.fixture
def open_page(browser: Any, qtbot: Any, js: Any) -> Callable[..., Any]:  # noqa: F811
    """``open_page("alpha", identity=None)``: a loaded tab whose bridge channel is up."""

    def open_(origin: str, identity: int | None = None, path: str = "") -> Any:
        url = f"peerapp://{origin}/{path}"
        tab = browser.new_tab(url, identity)
        ready = f"location.href === {url!r} && document.readyState === 'complete'"
        qtbot.waitUntil(lambda: js(tab, ready) is True, timeout=LOAD_TIMEOUT_MS)
        return tab

    return open_


@pytest.fixture
def call(js_await: Any) -> Callable[..., Any]:  # noqa: F811
    """``call(tab, "expr")``: await a JS expression; raise AssertionError if it rejected."""

    def run(tab: Any, expr: str) -> Any:
        result = js_await(tab, expr)
        assert result["ok"], result.get("error")
        return result.get("value")  # undefined comes back as no value

    return run


@pytest.fixture
def fails(js_await: Any) -> Callable[..., Any]:  # noqa: F811
    """``fails(tab, "expr")``: the expression must reject/throw; returns "Name|code|message"."""

    def run(tab: Any, expr: str) -> str:
        result = js_await(
            tab,
            f"(async () => {{ try {{ await ({expr}); return 'no error' }} catch (e) "
            "{ return e.name + '|' + e.code + '|' + e.message } })()",
        )
        assert result["ok"], result
        return str(result["value"])

    return run
