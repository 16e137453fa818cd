"""``benchmarks/kill_resume.py``: SIGKILL ``profond train`` at 20 moments (before the first
checkpoint, between epochs, while the model is logged); each run resumes to the weights of an
uninterrupted run, the store stays readable, and a killed run shows as stale until resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_every_killed_run_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    out = tmp_path / "kills.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "kill_resume.py"), "--kills", "20"]
    command += ["--epochs", "4", "--json", str(out), "--home", str(tmp_path / "home")]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3000)
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    kills = json.loads(out.read_text())
    assert len(kills) == 20
    resumed = [k for k in kills if k["identical"] is not None]
    assert all(k["identical"] for k in resumed)
    assert len(resumed) >= 15  # a few may land before the run exists, none after it ends
    assert any(k["stale"] for k in kills)
    assert all(k["temporaries"] == 0 and not k["problem"] for k in kills)
