"""Data-parallel training with two CPU processes (gloo) logs one run that learns."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_two_processes_train_one_run(tmp_path):
    env = {**os.environ, "PROFOND_HOME": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "profond", "train", "--distributed", "2", "--epochs", "15",
               "--batch-size", "32", "--no-mlflow-model", "--threads", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(
        subprocess.run(
            [sys.executable, "-m", "profond", "runs", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        ).stdout  # fmt: skip
    )
    assert len(runs) == 1
    assert runs[0]["status"] == "FINISHED"
    assert runs[0]["metrics"]["test_accuracy"] > 0.9

    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(
        runs[0]["run_id"]
    )
    assert run.data.params["world_size"] == "2"
