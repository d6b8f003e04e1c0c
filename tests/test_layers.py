"""The layers hold: read from the source with ``ast``, no module is imported.

    browser/  ->  bridge/  ->  swarm/

Imports go one way; swarm/ has no Qt; the link protocol is sans I/O; other
layers use only swarm/'s public names; and no project module imports itself
back through others, not even for type checking. Every import counts: at the
top, inside functions, under ``if TYPE_CHECKING:``, and
``importlib.import_module("...")`` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("swarm", "bridge", "browser")  # lowest first: each may import only those before it
QT = ("PyQt5", "PyQt6", "PySide2", "PySide6", "sip", "qasync")
#: What sans-I/O code must not touch: the loop, sockets, processes, files, the clock.
IO_MODULES = (
    "asyncio",
    "socket",
    "ssl",
    "select",
    "selectors",
    "subprocess",
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "threading",
    "time",
)
IO_BUILTINS = ("open", "print", "input")
SANS_IO = ("swarm/protocol.py", "swarm/framing.py")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    path: Path
    line: int
    module: str  # dotted name imported, resolved to a module where a name is one
    names: tuple[str, ...]  # ``from module import names``; () for ``import module``


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


PROJECT_MODULES = {module_name(p) for p in project_files(*LAYERS)}


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import in ``path``, in the order of the source."""
    return sorted(_imports(path, root), key=lambda i: i.line)


def _imports(path: Path, root: Path) -> Iterator[Import]:
    importer = module_name(path, root)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, path, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in PROJECT_MODULES]
            for sub in submodules:  # ``from swarm import limits`` imports swarm.limits
                yield Import(importer, path, node.lineno, sub, ())
            if len(submodules) < len(names):
                yield Import(importer, path, node.lineno, base, names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(importer, path, node.lineno, node.args[0].value, ())


def all_imports(*packages: str) -> list[Import]:
    return [imp for path in project_files(*packages) for imp in imports_of(path)]


def top(module: str) -> str:
    return module.split(".")[0]


def where(imp: Import) -> str:
    return f"{imp.path.relative_to(ROOT)}:{imp.line} imports {imp.module}{' ' if imp.names else ''}{', '.join(imp.names)}"


def test_the_parser_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The checks below can only fail if imports are found: the reader finds them all."""
    sample = tmp_path / "swarm" / "sample.py"
    sample.parent.mkdir()
    sample.write_text(
        "import asyncio\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from browser.window import BrowserWindow\n"
        "def f():\n    from PyQt6 import QtCore\n"
        "    importlib.import_module('qasync')\n"
        "from . import limits\n"
        "from .core import _private\n"
    )
    found = [(i.module, i.names) for i in imports_of(sample, tmp_path)]
    assert found == [
        ("asyncio", ()),
        ("typing", ("TYPE_CHECKING",)),
        ("browser.window", ("BrowserWindow",)),
        ("PyQt6", ("QtCore",)),
        ("qasync", ()),
        ("swarm.limits", ()),
        ("swarm.core", ("_private",)),
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_go_one_way(layer: str) -> None:
    """browser -> bridge -> swarm: a layer imports only the layers below it."""
    above = LAYERS[LAYERS.index(layer) + 1 :]
    wrong = [where(i) for i in all_imports(layer) if top(i.module) in above]
    assert wrong == [], f"{layer}/ imports a layer above it"


def test_swarm_has_no_qt() -> None:
    wrong = [where(i) for i in all_imports("swarm") if top(i.module) in QT]
    assert wrong == [], "swarm/ is pure asyncio: no Qt, no qasync"


@pytest.mark.parametrize("relpath", SANS_IO)
def test_the_link_protocol_does_no_io(relpath: str) -> None:
    """Bytes in, events and bytes out: no loop, socket, process, file or clock."""
    path = ROOT / relpath
    wrong = [where(i) for i in imports_of(path) if top(i.module) in IO_MODULES]
    wrong += [
        f"{relpath}:{node.lineno} calls {node.func.id}()"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS
    ]
    assert wrong == []


def test_only_public_names_of_swarm_are_used_outside_it() -> None:
    outside = [p for p in ("bridge", "browser", "bench", "tests") if (ROOT / p).is_dir()]
    wrong = [
        where(i)
        for i in all_imports(*outside)
        if top(i.module) == "swarm"
        for name in (*i.names, *i.module.split(".")[1:])
        if name.startswith("_") and not name.startswith("__")
    ]
    assert wrong == [], "a private name of swarm/ is used outside it"


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in PROJECT_MODULES}
    for imp in all_imports(*LAYERS):
        target = imp.module
        while target and target not in PROJECT_MODULES:  # a name inside a module
            target = target.rpartition(".")[0]
        if target and target != imp.importer and not imp.importer.startswith(target + "."):
            graph[imp.importer].add(target)
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []
