"""The core's snapshot is what swarm/snapshot.py says it is, with the device's key.

The PeerSocket panel reads exactly these keys; a snapshot from a real core (two
devices on an in-memory network) is checked against the TypedDicts, key by key
and type by type, so a field the core stops producing, or one the schema does
not declare, fails here.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, get_args, get_origin, get_type_hints, is_typeddict

from swarm.core import SwarmCore
from swarm.snapshot import Snapshot, socket_info
from tests.swarm.core_helpers import until

ORIGIN = "https://a.example"


def mismatches(value: Any, hint: Any, path: str = "snapshot") -> list[str]:
    """Where ``value`` does not have the type ``hint`` (TypedDicts to the key)."""
    origin = get_origin(hint)
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a dict"]
        fields = get_type_hints(hint)
        # NotRequired keys may be missing (read from the hints: with postponed
        # annotations, __required_keys__ does not know them)
        extras = get_type_hints(hint, include_extras=True)
        required = {k for k, h in extras.items() if get_origin(h) is not typing.NotRequired}
        keys = set(value)
        fits = required <= keys <= set(fields)
        wrong = [] if fits else [f"{path}: keys {sorted(keys)} are not {sorted(fields)} ({sorted(required)} required)"]
        for key, field in fields.items():
            if key in value:
                wrong += mismatches(value[key], field, f"{path}.{key}")
        return wrong
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        (item,) = get_args(hint)
        return [m for i, v in enumerate(value) for m in mismatches(v, item, f"{path}[{i}]")]
    if origin in (typing.Union, types.UnionType):
        options = [mismatches(value, h, path) for h in get_args(hint)]
        return [] if any(not o for o in options) else [f"{path}: {value!r} is none of {hint}"]
    if origin is Literal:
        return [] if value in get_args(hint) else [f"{path}: {value!r} is not one of {get_args(hint)}"]
    if hint is type(None):
        return [] if value is None else [f"{path}: {value!r} is not None"]
    if hint is int and isinstance(value, bool):
        return [f"{path}: {value!r} is a bool, not an int"]
    return [] if isinstance(value, hint) else [f"{path}: {value!r} is not a {hint.__name__}"]


async def test_a_real_snapshot_has_the_schema_and_the_device_key(net):
    d1, d2 = await net(), await net()
    a = d1.tab(ORIGIN, 1, "room")
    d1.tab(ORIGIN, 1, "room")  # a second tab of the same presence
    d1.tab(ORIGIN, 2)  # the origin swarm
    b = d2.tab(ORIGIN, 3, "room")
    await until(lambda: a.peers() == {b.id} and b.peers() == {a.id})
    a.write(b.id, b"one")
    b.write(a.id, b"two")
    await until(lambda: a.messages() == [b"two"] and len(b.messages()) == 1)
    await until(lambda: a.handle.require_socket(b.id).inflight == 0, "b's credit for a's message")

    snap = d1.core.snapshot()
    assert mismatches(snap, Snapshot) == []

    device = snap["device"]
    assert device["key"] == d1.engine.key.hex()  # what the panel's device Id column shows
    assert device["engine"]["state"] == "ready"
    (link,) = device["links"]
    assert (link["remote"], link["host"], link["port"]) == (d2.engine.key.hex(), "memory", d2.engine.port)
    assert (link["state"], link["topics"]) == ("open", 1)

    by_identity = {p["identity"]: p for p in snap["presences"]}
    assert set(by_identity) == {1, 2}
    (room,) = by_identity[1]["swarms"]
    assert by_identity[1]["id"] == a.id
    assert (room["type"], room["name"], room["tabs"], room["state"]) == ("open", "room", 2, "joined")
    loopback, peer = room["sockets"]
    assert loopback["loopback"] and loopback["id"] == a.id and loopback["host"] is None
    assert peer == {
        **socket_info(a.handle.require_socket(b.id)),
        "state": "open",
        "sent": 1,
        "received": 1,
        "unread": 0,
        "to_read": 0,
    }
    assert (peer["id"], peer["host"], peer["port"]) == (b.id, "memory", d2.engine.port)
    (origin_swarm,) = by_identity[2]["swarms"]
    assert (origin_swarm["type"], origin_swarm["name"]) == ("origin", None)


async def test_a_core_without_an_engine_has_no_key():
    core = SwarmCore(grace=0.0)
    snap = core.snapshot()
    assert mismatches(snap, Snapshot) == []
    assert snap["device"] == {
        "key": None,
        "engine": {"state": "none", "detail": "no network engine: presences on this device only"},
        "links": [],
    }
    await core.close()
