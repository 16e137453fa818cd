"""`profond train --engine scratch`: the NumPy engine through the same CLI and tracking."""

import json
import os
import subprocess
import sys

import pytest


def _cli(home, *args):
    env = {**os.environ, "PROFOND_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "profond", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_scratch_run_is_tracked_and_usable_like_a_torch_run(tmp_path):
    done = _cli(tmp_path, "train", "--engine", "scratch", "--epochs", "15", "--json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout.strip().splitlines()[-1])["run_id"]
    row = json.loads(_cli(tmp_path, "runs", "--json").stdout)[0]
    assert row["run_id"] == run_id and row["engine"] == "scratch"
    assert row["metrics"]["test_accuracy"] > 0.85
    assert {"test_accuracy", "test_f1_macro", "test_loss"} <= set(row["metrics"])
    # the scratch weights, saved as the torch MLP's state dict, give the same test metrics
    evaluated = json.loads(_cli(tmp_path, "evaluate", run_id, "--json").stdout)
    assert evaluated["metrics"]["test_accuracy"] == row["metrics"]["test_accuracy"]
    assert evaluated["metrics"]["test_loss"] == pytest.approx(row["metrics"]["test_loss"], rel=1e-5)


def test_scratch_engine_refuses_what_it_does_not_implement(tmp_path):
    done = _cli(tmp_path, "train", "--engine", "scratch", "--optimizer", "rmsprop")
    assert done.returncode == 2
    assert "scratch engine implements the optimizers sgd, momentum, adam" in done.stderr
