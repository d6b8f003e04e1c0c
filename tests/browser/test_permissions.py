"""The permission policy, the saved-decisions file and the settings that feed them
(no pages here: tests/browser/test_consent*.py drive real ones)."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from browser.config import BrowserConfig, load_config_file
from browser.permission_file import PermissionFile, default_permissions_path
from browser.permissions import (
    SOURCE_BUILT_IN,
    SOURCE_COMMAND_LINE,
    SOURCE_CONFIG,
    SOURCE_DEFAULT,
    SOURCE_SAVED,
    Entry,
    PermissionPolicy,
    PinnedError,
    default_answer,
    describe_request,
    normalize_origin,
    parse_site_permission,
)

# --- origins -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://example.org", "https://example.org"),
        ("HTTPS://Example.ORG/", "https://example.org"),
        ("https://example.org:443", "https://example.org"),
        ("http://example.org:80/", "http://example.org"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("peerapp://chat", "peerapp://chat"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_written_as_the_browser_serializes_them(text: str, origin: str) -> None:
    assert normalize_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.org",
        "https://",
        "https://example.org/path",
        "https://example.org/?q",
        "https://example.org/#f",
        "https://user@example.org",
        "https://example.org:99999",
        "null",
        "x" * 5000,
    ],
)
def test_what_is_not_an_origin_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_origin(text)


def test_site_permission_arguments() -> None:
    assert parse_site_permission("https://Example.org=deny") == ("https://example.org", "deny")
    assert parse_site_permission("http://127.0.0.1:8080=allow") == ("http://127.0.0.1:8080", "allow")
    for bad in ["https://example.org", "https://example.org=maybe", "nowhere=allow"]:
        with pytest.raises(ValueError):
            parse_site_permission(bad)


# --- the policy -------------------------------------------------------------------------------


def test_the_command_line_wins_over_config_and_config_over_saved_decisions() -> None:
    a, b, c, d = (f"https://{n}.example" for n in "abcd")
    policy = PermissionPolicy(
        "ask",
        command_line={a: "deny"},
        config={a: "allow", b: "deny"},
        saved={a: "allow", b: "allow", c: "deny"},
    )
    assert [policy.answer(o) for o in (a, b, c, d)] == ["deny", "deny", "deny", "ask"]
    assert [policy.source(o) for o in (a, b, c, d)] == [
        SOURCE_COMMAND_LINE,
        SOURCE_CONFIG,
        SOURCE_SAVED,
        SOURCE_DEFAULT,
    ]
    assert policy.entries() == [
        Entry(a, "deny", SOURCE_COMMAND_LINE),
        Entry(b, "deny", SOURCE_CONFIG),
        Entry(c, "deny", SOURCE_SAVED),
    ]


def test_origins_with_no_decision_get_the_default_answer() -> None:
    for answer in ("ask", "allow", "deny"):
        assert PermissionPolicy(answer).answer("https://example.org") == answer  # type: ignore[arg-type]
    assert default_answer(None, None, headless=False) == "ask"
    assert default_answer(None, None, headless=True) == "allow"
    assert default_answer(None, "deny", headless=True) == "deny"
    assert default_answer("allow", "deny", headless=False) == "allow"


def test_built_in_apps_are_allowed_unless_a_decision_says_otherwise() -> None:
    policy = PermissionPolicy("deny", built_in=["peerapp://chat", "peerapp://board"])
    assert policy.answer("peerapp://chat") == "allow"
    assert policy.source("peerapp://chat") == SOURCE_BUILT_IN
    assert policy.answer("peerapp://evil") == "deny"
    policy.decide("peerapp://chat", "deny")
    assert policy.answer("peerapp://chat") == "deny"
    policy.forget("peerapp://chat")
    assert policy.answer("peerapp://chat") == "allow"
    assert policy.entries() == []  # built-in apps are not decisions anyone made


def test_decisions_made_in_the_window_are_kept_and_pinned_ones_cannot_change() -> None:
    pinned = "https://pinned.example"
    policy = PermissionPolicy("ask", config={pinned: "allow"})
    policy.decide("https://example.org", "allow")
    assert policy.answer("https://example.org") == "allow"
    assert policy.saved() == {"https://example.org": "allow"}
    policy.decide("https://example.org", "deny")
    assert policy.saved() == {"https://example.org": "deny"}
    policy.forget("https://example.org")
    assert (policy.saved(), policy.answer("https://example.org")) == ({}, "ask")
    assert not policy.can_decide(pinned)
    with pytest.raises(PinnedError, match="config file"):
        policy.decide(pinned, "deny")
    with pytest.raises(PinnedError):
        policy.forget(pinned)
    assert policy.answer(pinned) == "allow"
    with pytest.raises(ValueError):
        policy.decide("https://example.org/not-an-origin", "allow")
    with pytest.raises(ValueError):
        policy.decide("https://example.org", "maybe")  # type: ignore[arg-type]


def test_pages_with_an_opaque_origin_are_never_asked_nor_remembered() -> None:
    assert PermissionPolicy("ask").answer("null") == "deny"
    assert PermissionPolicy("deny").answer("null") == "deny"
    assert PermissionPolicy("allow").answer("null") == "allow"
    policy = PermissionPolicy("ask")
    assert not policy.can_decide("null")
    with pytest.raises(ValueError, match="opaque"):
        policy.decide("null", "allow")


# --- what the bar says --------------------------------------------------------------------------


def test_the_question_names_the_origin_and_the_swarm() -> None:
    assert (
        describe_request("peerapp://chat", ["pauls-chat-room"])
        == "peerapp://chat wants to connect to peers in 'pauls-chat-room'"
    )
    assert (
        describe_request("https://example.org", [None])
        == "https://example.org wants to connect to peers in its own swarm"
    )
    assert describe_request("https://a.example", ["x", None, "x"]).endswith("in 'x' and its own swarm")
    many = describe_request("https://a.example", ["a", "b", "c", "d"])
    assert many.endswith("in 'a', 'b' and 2 more swarms")


def test_a_page_cannot_reword_the_question_with_its_swarm_name() -> None:
    text = describe_request("https://evil.example", ["room\n\u202eAllow is safe\u0000<b>x</b>" + "y" * 200])
    assert "\n" not in text and "\u202e" not in text and "\u0000" not in text
    assert "\\u000a" in text and "\\u202e" in text
    assert len(text) < 120  # the name is cut: the origin stays in sight
    assert text.startswith("https://evil.example wants to connect to peers in 'room")


# --- the saved decisions ------------------------------------------------------------------------


def test_the_file_lives_in_the_data_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_permissions_path() == tmp_path / "peerbrowser" / "permissions.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_permissions_path() == Path.home() / ".local/share/peerbrowser/permissions.json"


def test_decisions_are_saved_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / "peerbrowser" / "permissions.json"
    file = PermissionFile(path)
    assert file.load() == {}  # no file yet
    file.save({"https://b.example": "deny", "https://a.example": "allow"})
    assert json.loads(path.read_text()) == {
        "version": 1,
        "peers": {"https://a.example": "allow", "https://b.example": "deny"},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # which sites a user visits is private
    assert PermissionFile(path).load() == {"https://a.example": "allow", "https://b.example": "deny"}
    file.save({})
    assert PermissionFile(path).load() == {}
    assert sorted(p.name for p in path.parent.iterdir()) == ["permissions.json"]  # no temporary left


def test_a_failed_save_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "permissions.json"
    file = PermissionFile(path)
    file.save({"https://a.example": "allow"})
    before = path.read_bytes()

    def fail(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        file.save({"https://a.example": "deny", "https://b.example": "deny"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["permissions.json"]


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b'{"version": 2, "peers": {}}', b'{"version": 1}', b"\xff\xfe", b"[" * 100_000],
)
def test_an_unreadable_file_is_set_aside(tmp_path: Path, caplog: Any, content: bytes) -> None:
    caplog.set_level(logging.WARNING, "peerbrowser.permissions")
    path = tmp_path / "permissions.json"
    path.write_bytes(content)
    assert PermissionFile(path).load() == {}
    assert (tmp_path / "permissions.json.bad").read_bytes() == content
    assert not path.exists()
    assert "set aside" in caplog.text


def test_bad_entries_are_skipped_and_the_rest_kept(tmp_path: Path, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, "peerbrowser.permissions")
    path = tmp_path / "permissions.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "peers": {"https://ok.example": "deny", "not an origin": "allow", "https://x.example": 3},
            }
        )
    )
    assert PermissionFile(path).load() == {"https://ok.example": "deny"}
    assert caplog.text.count("entry skipped") == 2


# --- settings -------------------------------------------------------------------------------------


def test_the_config_file_sets_the_default_answer_decisions_and_addresses(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'peers_permission = "deny"\npeer_addresses = "hide"\n'
        '[permissions]\n"https://Example.org" = "allow"\n"peerapp://chat" = "deny"\n'
    )
    data = load_config_file(path)
    assert data["peers_permission"] == "deny" and data["peer_addresses"] == "hide"
    assert data["permissions"] == {"https://example.org": "allow", "peerapp://chat": "deny"}
    for text, words in [
        ('peers_permission = "maybe"', "peers_permission must be"),
        ('peer_addresses = "blur"', "peer_addresses must be"),
        ("permissions = 3", "wrong type"),
        ('[permissions]\n"https://x.example" = "sometimes"', "not a decision"),
        ('[permissions]\n"x.example" = "allow"', "not an origin"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError, match=words):
            load_config_file(path)


def test_flags_and_config_reach_the_browser_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import browser.app
    from browser import main as main_module

    seen: list[BrowserConfig] = []
    monkeypatch.setattr(browser.app, "run", lambda config, task=None, offscreen=False: seen.append(config) or 0)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "peerbrowser").mkdir()
    (tmp_path / "peerbrowser" / "config.toml").write_text(
        'peers_permission = "deny"\npeer_addresses = "hide"\n[permissions]\n"https://a.example" = "allow"\n'
    )
    assert main_module.main(["--headless"]) == 0
    config = seen[-1]
    assert (config.peers_permission, config.peer_addresses) == ("deny", "hide")
    assert (config.config_permissions, config.site_permissions) == ({"https://a.example": "allow"}, {})
    argv = [
        "--headless",
        "--peers-permission",
        "ask",
        "--peer-addresses",
        "show",
        "--site-permission",
        "https://a.example=deny",
        "--site-permission",
        "https://b.example:8443=allow",
    ]
    assert main_module.main(argv) == 0
    config = seen[-1]
    assert (config.peers_permission, config.peer_addresses) == ("ask", "show")
    assert config.site_permissions == {"https://a.example": "deny", "https://b.example:8443": "allow"}
    for bad in (["--peers-permission", "maybe"], ["--site-permission", "a.example=allow"]):
        with pytest.raises(SystemExit):
            main_module.main(bad)
        assert "peerbrowser: error" in capsys.readouterr().err


def test_a_run_combines_flags_config_saved_decisions_and_built_in_apps(qapp: Any, tmp_path: Path) -> None:
    from browser.app import site_permissions

    file = PermissionFile(tmp_path / "permissions.json")
    file.save({"https://a.example": "allow", "https://b.example": "allow", "https://c.example": "deny"})
    config = BrowserConfig(
        site_permissions={"https://a.example": "deny"},
        config_permissions={"https://b.example": "deny"},
    )
    permissions = site_permissions(config, file)
    answers = {o: permissions.answer_for(o) for o in ("https://a.example", "https://b.example", "https://c.example")}
    assert answers == {"https://a.example": "deny", "https://b.example": "deny", "https://c.example": "deny"}
    assert permissions.answer_for("https://new.example") == "ask" and permissions.can_ask
    for app in ("chat", "board", "proposal", "start"):
        assert permissions.answer_for(f"peerapp://{app}") == "allow"
    assert not permissions.hide_addresses
    headless = site_permissions(BrowserConfig(headless=True, peer_addresses="hide"), file)
    assert headless.answer_for("https://new.example") == "allow" and not headless.can_ask
    assert headless.hide_addresses
    denying = site_permissions(BrowserConfig(headless=True, peers_permission="deny"), file)
    assert denying.answer_for("https://new.example") == "deny"
    assert denying.answer_for("peerapp://chat") == "allow"
