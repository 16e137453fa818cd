"""A run killed with SIGKILL mid-epoch resumes to the same final result as an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ARGS = ["train", "--data", "digits", "--epochs", "6", "--batch-size", "16", "--seed", "7",
        "--no-mlflow-model", "--json"]  # fmt: skip


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PROFOND_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _cli(home: Path, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "profond", *args], capture_output=True, text=True,
                          env=_env(home), timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _checkpoint_epoch(home: Path) -> tuple[str, int] | None:
    for path in (home / "checkpoints").glob("*/last.pt"):
        try:
            return path.parent.name, int(torch.load(path, weights_only=True)["epoch"])
        except Exception:  # being replaced right now: try again
            return None
    return None


def test_sigkill_then_resume_gives_the_same_result(tmp_path):
    reference = _cli(tmp_path / "a", *ARGS)

    home = tmp_path / "b"
    process = subprocess.Popen([sys.executable, "-m", "profond", *ARGS], env=_env(home),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 300
    state = None
    while time.time() < deadline:
        state = _checkpoint_epoch(home)
        if state and state[1] >= 2:
            break
        time.sleep(0.02)
    assert state is not None and state[1] >= 2, "the run never reached epoch 2"
    os.kill(process.pid, signal.SIGKILL)  # no clean-up, no chance to write anything
    process.wait()
    killed_at = _checkpoint_epoch(home)
    assert killed_at is not None and killed_at[1] < 6, "the run finished before it was killed"

    resumed = _cli(home, "train", "--resume", state[0], "--json")
    assert resumed["run_id"] == state[0]
    for key in ("test_accuracy", "test_loss", "test_f1_macro"):
        assert resumed["metrics"][key] == reference["metrics"][key], key
