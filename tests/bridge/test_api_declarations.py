"""js/peersocket.d.ts declares exactly the API a real page has.

The page side walks ``PeerSocket``, ``PeerSocketSwarm`` and ``PeerSocketInfo``
on ``window``: static members, members of each prototype, and own members of
real instances (a joined swarm, its loopback socket, a socket to a peer). The
declared side is read from the .d.ts with the TypeScript compiler API
(``declared_members.cjs``). Any member on one side and not the other fails,
and so does a member of the wrong kind (method, writable, read-only). Runtime
members whose names start with ``_`` are internals and not compared.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
DTS = REPO / "js" / "peersocket.d.ts"
TYPESCRIPT = REPO / "examples" / "typescript" / "node_modules" / "typescript"
EXTRACTOR = Path(__file__).with_name("declared_members.cjs")

needs_typescript = pytest.mark.skipif(
    shutil.which("node") is None or not (TYPESCRIPT / "package.json").is_file(),
    reason="node or examples/typescript/node_modules missing (run scripts/bootstrap.sh)",
)

#: Run in a page holding T.swarms.main with one peer: {class: {extends, constructible, static, instance}}.
#: Kinds: "method", "readonly" (getter only, or a read-only value), "accessor" (getter and
#: setter), "data" (a writable value).
WALK_JS = """(() => {
  const kind = (d) => 'value' in d
    ? (typeof d.value === 'function' ? 'method' : (d.writable ? 'data' : 'readonly'))
    : (d.set ? 'accessor' : 'readonly');
  const name = (k) => typeof k === 'symbol' ? `[${k.description}]` : k;
  function members (obj, skip) {
    const out = {};
    for (const k of Reflect.ownKeys(obj)) {
      const n = name(k);
      if (skip.includes(n) || n.startsWith('_')) continue;
      out[n] = kind(Object.getOwnPropertyDescriptor(obj, k));
    }
    return out;
  }
  function walk (C, instances) {
    for (const i of instances) if (!(i instanceof C)) throw new Error(`not a ${C.name}: ${i}`);
    const own = {};
    for (const i of instances) Object.assign(own, members(i, []));
    // EventTarget's own methods, also where a class refines one (PeerSocket's
    // addEventListener), are left out as the .d.ts side leaves them out
    const proto = members(C.prototype, ['constructor', 'addEventListener', 'removeEventListener', 'dispatchEvent']);
    const shadowed = Object.keys(own).filter((n) => n in proto);
    let constructible = true;
    try { new C('id', null, null); } catch (e) { constructible = false; }
    const parent = Object.getPrototypeOf(C.prototype);
    return {
      extends: parent === EventTarget.prototype ? 'EventTarget' : parent === Object.prototype ? 'Object' : String(parent),
      constructible, shadowed,
      static: members(C, ['length', 'name', 'prototype']),
      instance: Object.assign({}, proto, own)
    };
  }
  const swarm = T.swarms.main;
  const peer = swarm.getSockets()[0];
  const loopback = swarm.getLoopback();
  return JSON.stringify({
    PeerSocket: walk(PeerSocket, [peer, loopback]),
    PeerSocketSwarm: walk(PeerSocketSwarm, [swarm]),
    PeerSocketInfo: walk(PeerSocketInfo, [peer.info, loopback.info])
  });
})()"""

#: Runtime kinds a declared kind may stand for. A declared read-only member may be a
#: writable value at runtime (``socket.opened`` is set in the constructor): the
#: declaration is the stricter contract. A declared writable member must be writable.
COMPATIBLE = {
    "method": {"method"},
    "property": {"accessor", "data"},
    "readonly": {"readonly", "data"},
}


def declared_members() -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(EXTRACTOR), str(TYPESCRIPT), str(DTS)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def differences(declared: dict[str, Any], runtime: dict[str, Any]) -> list[str]:
    found = []
    for cls in sorted(set(declared) | set(runtime)):
        d, r = declared.get(cls), runtime.get(cls)
        if d is None or r is None:
            found.append(f"{cls}: only {'declared' if r is None else 'at runtime'}")
            continue
        for key in ("extends", "constructible"):
            if d[key] != r[key]:
                found.append(f"{cls}: {key} is {d[key]!r} in the .d.ts, {r[key]!r} at runtime")
        for side in ("static", "instance"):
            dm, rm = d[side], r[side]
            for n in sorted(set(dm) - set(rm)):
                found.append(f"{cls} {side} member {n!r} is declared but not at runtime")
            for n in sorted(set(rm) - set(dm)):
                found.append(f"{cls} {side} member {n!r} is at runtime but not declared")
            for n in sorted(set(dm) & set(rm)):
                if rm[n] not in COMPATIBLE[dm[n]]:
                    found.append(f"{cls} {side} member {n!r} is declared {dm[n]}, at runtime {rm[n]}")
        if r.get("shadowed"):
            found.append(f"{cls}: instances shadow prototype members {r['shadowed']}")
    return found


def test_the_comparison_catches_every_kind_of_difference() -> None:
    declared = {"C": {"extends": "EventTarget", "constructible": False,
                      "static": {"make": "method"}, "instance": {"a": "readonly", "b": "property", "c": "method"}}}
    same = {"C": {"extends": "EventTarget", "constructible": False, "shadowed": [],
                  "static": {"make": "method"}, "instance": {"a": "data", "b": "accessor", "c": "method"}}}
    assert differences(declared, same) == []
    other = json.loads(json.dumps(same))
    other["C"]["instance"] = {"a": "accessor", "b": "readonly", "d": "method"}
    other["C"]["static"] = {}
    other["C"]["constructible"] = True
    assert differences(declared, other) == [
        "C: constructible is False in the .d.ts, True at runtime",
        "C static member 'make' is declared but not at runtime",
        "C instance member 'c' is declared but not at runtime",
        "C instance member 'd' is at runtime but not declared",
        "C instance member 'a' is declared readonly, at runtime accessor",
        "C instance member 'b' is declared property, at runtime readonly",
    ]


@needs_typescript
def test_declarations_match_the_api_of_a_real_page(open_page: Callable[..., Any], call: Callable[..., Any],
                                                    qtbot: Any, js: Callable[..., Any]) -> None:
    a = open_page("alpha", identity=1)
    b = open_page("alpha", identity=2)
    for tab in (a, b):
        call(tab, "T.join('declarations')")
    qtbot.waitUntil(lambda: len(js(a, "T.peers()")) == 1)
    runtime = json.loads(js(a, WALK_JS))
    declared = declared_members()
    assert differences(declared, runtime) == []
    # the walk saw the whole API, not an empty page
    assert {"joinSwarm", "setDebugIdentity"} <= set(runtime["PeerSocket"]["static"])
    assert {"write", "readable", "onmessage"} <= set(runtime["PeerSocket"]["instance"])


# --- error codes -------------------------------------------------------------------------


def _declared_codes() -> set[str]:
    text = DTS.read_text()
    block = re.search(r"type PeerSocketErrorCode =(.*?);", text, re.S)
    assert block is not None
    return set(re.findall(r"'(ERR_[A-Z_]+)'", block.group(1)))


def _codes_pages_can_get() -> set[str]:
    """Codes in the page script and in what the bridge and the core raise to pages."""
    codes: set[str] = set()
    # the page script's modules (the built js/peersocket.js has esbuild's quotes)
    for path in (REPO / "js" / "peersocket").glob("*.js"):
        codes |= set(re.findall(r"'(ERR_[A-Z_]+)'", path.read_text()))
    for path in [REPO / "swarm" / "errors.py", REPO / "swarm" / "core.py", *(REPO / "bridge").glob("*.py")]:
        text = path.read_text()
        codes |= set(re.findall(r"PeerSocketError\(\s*\"(ERR_[A-Z_]+)\"", text))
        if path.name == "errors.py":
            codes |= set(re.findall(r"\"(ERR_[A-Z_]+)\"", text))
    return codes


#: Codes in those sources that never reach a page's code: the bridge sends
#: ERR_INTERNAL only in a refused-batch notice, which the page logs.
NOT_FOR_PAGES = {"ERR_INTERNAL"}


def test_the_error_code_union_is_every_code_a_page_can_get() -> None:
    assert _declared_codes() == _codes_pages_can_get() - NOT_FOR_PAGES


def test_docs_list_the_error_codes_of_the_declarations() -> None:
    api = (REPO / "docs" / "API.md").read_text()
    missing = sorted(code for code in _declared_codes() if f"`{code}`" not in api)
    assert missing == []
