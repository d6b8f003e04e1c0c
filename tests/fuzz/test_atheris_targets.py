"""The atheris targets run clean over the kept corpora (a short coverage-guided run;
./run-fuzz runs them for long)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris has wheels for Linux x86_64 only")

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", ["batch", "frames", "link"])
def test_a_short_coverage_guided_run_finds_nothing(target, tmp_path):
    work = tmp_path / "corpus"  # the target adds its kept seeds after it
    work.mkdir()
    out = subprocess.run(
        [
            sys.executable, "-m", "tests.fuzz.atheris_targets", target,
            "-runs=3000", "-max_len=80000", "-seed=1",
            f"-artifact_prefix={tmp_path}/crash-", str(work),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,  # hang guard
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Done 3000 runs" in out.stderr
    assert not list(tmp_path.glob("crash-*"))
    assert any(work.iterdir()), "the run learned nothing: the target is not instrumented"
