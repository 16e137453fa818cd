"""Several processes sharing one new store: every run is recorded, none dies in a migration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from profond.track.runs import list_runs
from profond.track.store import ensure_experiment

START_A_RUN = (
    "from profond.track.tracker import MLflowTracker\n"
    "t = MLflowTracker(tags={'profond.model': 'mlp'})\n"
    "t.log_metrics({'test_accuracy': 0.5})\n"
    "t.finish()\n"
    "print(t.run_id)\n"
)


def _start_together(commands: list[list[str]], home: Path) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "PROFOND_HOME": str(home), "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    procs = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    done = []
    for proc, command in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return done


def _check_round(home: Path, done: list[subprocess.CompletedProcess], expected: int) -> None:
    for result in done:
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
    os.environ["PROFOND_HOME"] = str(home)  # the autouse fixture restores it after the test
    runs = list_runs(max_results=1000)
    assert len(runs) == expected
    assert all(r["status"] == "FINISHED" for r in runs)


def test_four_processes_on_a_new_store_all_record_their_run(tmp_path):
    home = tmp_path / "home"
    done = _start_together([[sys.executable, "-c", START_A_RUN]] * 4, home)
    _check_round(home, done, 4)


@pytest.mark.slow
def test_four_concurrent_trainings_five_rounds(tmp_path):
    """The whole ``profond train`` four at a time, each round on a new store (20 of 20)."""
    train = [sys.executable, "-m", "profond", "train", "--epochs", "1", "--limit", "64",
             "--no-mlflow-model", "--json"]  # fmt: skip
    for round_ in range(5):
        home = tmp_path / f"home{round_}"
        done = _start_together([[*train, "--seed", str(i)] for i in range(4)], home)
        _check_round(home, done, 4)


def test_an_experiment_created_meanwhile_is_used():
    first = ensure_experiment("shared")
    assert ensure_experiment("shared") == first
