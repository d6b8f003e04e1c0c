"""js/peersocket.d.ts compiles a small dApp, and refuses what the runtime refuses.

``tsc --noEmit`` (TypeScript pinned in examples/typescript/package-lock.json)
type-checks examples/typescript: ``src/chat.ts`` (a chat using the whole API)
and ``src/type-checks.ts`` (lines marked ``@ts-expect-error`` that must not
compile: tsc fails if one does).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "typescript"
TSC = EXAMPLE / "node_modules" / "typescript" / "bin" / "tsc"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not TSC.is_file(),
    reason="node or examples/typescript/node_modules missing (run scripts/bootstrap.sh)",
)


def tsc(*args: str, cwd: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(TSC), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_typescript_dapp_compiles_against_the_declarations() -> None:
    result = tsc("--noEmit", "-p", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_of_the_api_does_not_compile(tmp_path: Path) -> None:
    (tmp_path / "tsconfig.json").write_text(
        (EXAMPLE / "tsconfig.json").read_text().replace("../../js/peersocket.d.ts", str(REPO / "js" / "peersocket.d.ts"))
    )
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.ts").write_text(
        "export async function main (): Promise<void> {\n"
        "  const swarm = await PeerSocket.joinSwarm({ id: 'room' })\n"
        "  for (const s of swarm.getSockets()) await s.send('hi')\n"  # WebSocket's name, not ours
        "  swarm.addEventListener('connection', (evt) => evt.socket.write(Symbol('x')))\n"
        "  const code: PeerSocketErrorCode = 'ERR_TIMEOUT'\n"
        "  void code\n"
        "}\n"
    )
    result = tsc("--noEmit", "-p", ".", cwd=tmp_path)
    assert result.returncode != 0
    errors = result.stdout
    assert "app.ts(3," in errors and "Property 'send' does not exist on type 'PeerSocket'" in errors
    assert "app.ts(4," in errors and "'symbol' is not assignable to parameter of type 'PeerSocketValue'" in errors
    assert "app.ts(5," in errors and "'\"ERR_TIMEOUT\"' is not assignable to type 'PeerSocketErrorCode'" in errors
