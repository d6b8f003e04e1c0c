"""Whole browsers across devices: real peerbrowser processes on a local testnet."""

from __future__ import annotations

import re

import pytest

from tests.network.conftest import needs_sidecar
from tests.network.processes import REPO, Proc, browser

pytestmark = [needs_sidecar]

SAYS = re.compile(r"([0-9a-f]{64}) says (.+)$")


def said(lines: list[str]) -> set[tuple[str, str]]:
    return {(m.group(1), m.group(2)) for line in lines if (m := SAYS.search(line))}


@pytest.fixture
def procs():
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


def test_the_proposals_example_across_two_browser_processes(testnet, procs):
    a = browser(testnet, "peerapp://proposal/")
    b = browser(testnet, "peerapp://proposal/")
    procs += [a, b]
    # each browser hears Hello! from the other's presence (the only one there is)
    heard_a = a.wait_for(lambda lines: said(lines), "browser A hearing Hello!")
    heard_b = b.wait_for(lambda lines: said(lines), "browser B hearing Hello!")
    ((id_b, text_a),) = heard_a
    ((id_a, text_b),) = heard_b
    assert text_a == text_b == "Hello!" and id_a != id_b
    assert a.stop() == 0 and b.stop() == 0


def node_peer(testnet: list[str], procs: list[Proc]) -> Proc:
    """examples/node-peer's chat (JSON events, the loopback guard preloaded) on the
    testnet, once it has joined."""
    node = Proc(
        [
            "node",
            "-r",
            str(REPO / "swarm/sidecar/loopback-guard.cjs"),
            "chat.js",
            "--bootstrap",
            ",".join(testnet),
            "--name",
            "node-bot",
            "--json",
        ],
        cwd=REPO / "examples/node-peer",
        stdin=True,
    )
    procs.append(node)
    node.wait_for(lambda _: any(e["event"] == "ready" for e in node.json_events()), "the node peer ready")
    return node


def test_the_reference_node_peer_chats_with_two_browser_tabs(testnet, procs):
    node = node_peer(testnet, procs)
    tabs = browser(testnet, "peerapp://proposal/?identity=1", "peerapp://proposal/?identity=2")
    procs.append(tabs)
    # the node peer meets both tabs (two presences of one device) and hears each say Hello!
    node.wait_for(
        lambda _: len({e["id"] for e in node.json_events() if e["event"] == "peer"}) == 2, "two peers"
    )
    node.wait_for(
        lambda _: (
            len({e["from"] for e in node.json_events() if e["event"] == "message" and e["text"] == "Hello!"})
            == 2
        ),
        "Hello! from both tabs",
    )
    tab_ids = {e["id"] for e in node.json_events() if e["event"] == "peer"}
    assert all(e["host"] == "127.0.0.1" for e in node.json_events() if e["event"] == "peer")
    node_id = next(e["id"] for e in node.json_events() if e["event"] == "ready")
    # ...and both tabs hear the node peer
    node.send_line("hi from node")
    tabs.wait_for(
        lambda lines: len([1 for s in said(lines) if s == (node_id, "hi from node")]) >= 1, "tabs hear node"
    )
    tabs.wait_for(
        lambda lines: sum(1 for line in lines if f"{node_id} says hi from node" in line) == 2,
        "both tabs hear node",
    )
    # the tabs also hear each other, as they would in one browser
    tabs.wait_for(
        lambda lines: {i for i, t in said(lines) if t == "Hello!"} == tab_ids, "tabs hear each other"
    )


def test_the_node_peer_and_a_browser_speak_version_2_and_a_run_of_messages_arrives_in_order(testnet, procs):
    """Two implementations of docs/PROTOCOL.md link in version 2: lines the node peer
    reads in one go are sent in one task, as one MESSAGES frame to the one tab; the tab
    shows them all, in order."""
    node = node_peer(testnet, procs)
    tab = browser(testnet, "peerapp://proposal/?identity=1")
    procs.append(tab)
    node.wait_for(lambda _: any(e["event"] == "peer" for e in node.json_events()), "the tab")
    assert [e["version"] for e in node.json_events() if e["event"] == "peer"] == [2]
    node_id = next(e["id"] for e in node.json_events() if e["event"] == "ready")
    words = [f"run {i}" for i in range(20)]
    node.send_line("\n".join(words))  # one write: readline's lines come in one task

    def from_node(lines: list[str]) -> list[str]:
        return [m.group(2) for line in lines if (m := SAYS.search(line)) and m.group(1) == node_id]

    tab.wait_for(lambda lines: from_node(lines)[-len(words) :] == words, "the tab shows the run, in order")
