"""The `profond` command end to end, run as a user runs it (subprocesses, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def run_cli(
    *args: str, home: Path, timeout: float = 300, **extra_env: str
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROFOND_HOME": str(home), **extra_env}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "profond", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli_home")


@pytest.fixture(scope="module")
def default_run(home) -> tuple[str, float, subprocess.CompletedProcess]:
    """`profond train` with no argument: the lab's MLP on the embedded digits."""
    start = time.perf_counter()
    done = run_cli("train", home=home)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[1]
    return run_id, elapsed, done


def test_default_train_reaches_the_bar_and_is_tracked(default_run, home):
    run_id, elapsed, done = default_run
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_accuracy"] >= 0.95
    assert run.data.params["optimizer"] == "adam" and run.data.params["batch_size"] == "128"
    assert len(client.get_metric_history(run_id, "val_loss")) == 40
    artifacts = {a.path for a in client.list_artifacts(run_id, "figures")}
    assert {"figures/training_curves.png", "figures/confusion_matrix.png"} <= artifacts
    assert {a.path for a in client.list_artifacts(run_id, "profond_model")} >= {
        "profond_model/model.json", "profond_model/weights.pt"
    }  # fmt: skip
    assert "9,610 parameters" in done.stderr  # the lab's MLP on 8x8 inputs: 64*128+128 + 128*10+10


@pytest.mark.slow
def test_default_train_takes_under_a_minute(tmp_path):
    start = time.perf_counter()
    done = run_cli("train", home=tmp_path)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert elapsed < 60, f"profond train took {elapsed:.1f}s"


def test_runs_json_lists_the_run(default_run, home):
    run_id, _, _ = default_run
    runs = json.loads(run_cli("runs", "--json", home=home).stdout)
    row = next(r for r in runs if r["run_id"] == run_id)
    assert row["model"] == "mlp" and row["data"] == "digits" and row["engine"] == "torch"
    assert row["status"] == "FINISHED" and row["duration_s"] > 0
    assert {"test_accuracy", "test_f1_macro", "test_loss"} <= set(row["metrics"])


def test_ids_shown_on_a_narrow_terminal_are_accepted(default_run, home):
    run_id, _, _ = default_run
    table = run_cli("runs", home=home, COLUMNS="80").stdout.splitlines()
    shown = [line.split()[0] for line in table[2:]]
    assert run_id in shown and all(len(line) <= 80 for line in table)
    for ref in (run_id, run_id[:6]):
        done = run_cli("evaluate", ref, "--json", home=home)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["run_id"] == run_id


def test_help_builds_without_torch():
    probe = "import sys; from profond.cli import build_parser; build_parser(['train']); "
    probe += "print(sorted({'torch', 'mlflow', 'fastapi', 'numpy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_evaluate_recomputes_the_test_metrics(default_run, home, tmp_path):
    run_id, _, _ = default_run
    done = run_cli("evaluate", run_id, "--json", "--out", str(tmp_path), home=home)
    assert done.returncode == 0, done.stderr
    assert f"wrote {tmp_path / 'evaluation.json'}" in done.stderr
    result = json.loads(done.stdout)
    runs = json.loads(run_cli("runs", "--json", home=home).stdout)
    logged = next(r for r in runs if r["run_id"] == run_id)["metrics"]["test_accuracy"]
    assert result["metrics"]["test_accuracy"] == pytest.approx(logged, abs=1e-9)
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000


def test_predict_an_image_and_an_array(default_run, home, tmp_path):
    from sklearn.datasets import load_digits

    run_id, _, _ = default_run
    digits = load_digits()
    index = int(np.flatnonzero(digits.target == 3)[0])
    np.save(tmp_path / "three.npy", digits.images[index])
    # the same digit as an image file, upscaled: black background, light strokes
    pixels = (digits.images[index] * 255 / 16).astype(np.uint8)
    Image.fromarray(pixels).resize((64, 64), Image.Resampling.NEAREST).save(tmp_path / "three.png")
    done = run_cli(
        "predict",
        run_id,
        str(tmp_path / "three.npy"),
        str(tmp_path / "three.png"),
        "--json",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    predictions = json.loads(done.stdout)
    assert predictions[0]["class"] == 3
    assert sum(predictions[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert len(predictions) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--model", "perceptron3000"],
            "unknown model 'perceptron3000'; choose one of: mlp, cnn",
        ),
        (
            ["train", "--optimizer", "adamax"],
            "unknown optimizer 'adamax'; choose one of: sgd, momentum, nesterov, adam",
        ),
        (["train", "--lr", "-0.01"], "learning rate must be positive, got -0.01"),
        (["evaluate", "0123456789abcdef"], "no run with id or name '0123456789abcdef'"),
        (["data", "info", "imagenet"], "unknown dataset 'imagenet'"),
        (["train", "--set", "units=3"], "unknown option(s) units for model 'mlp'"),
    ],
)
def test_bad_input_is_one_clear_line(args, message, home, default_run):
    done = run_cli(*args, home=home)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and message in lines[-1], done.stderr
    # nothing already saved is lost: the earlier run is still there
    assert default_run[0] in run_cli("runs", "--json", home=home).stdout


def test_predict_rejects_an_array_of_the_wrong_size(default_run, home, tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((28, 28)))
    done = run_cli("predict", default_run[0], str(tmp_path / "big.npy"), home=home)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "does not fit the model's input shape [1, 8, 8]" in done.stderr


def test_truncated_idx_file_is_reported(tmp_path, home):
    from profond.data.idx import write_idx
    from profond.data.idx_datasets import PARTS

    folder = tmp_path / "mnist"
    folder.mkdir()
    for part, shape in zip(PARTS, [(20, 28, 28), (20,), (5, 28, 28), (5,)], strict=True):
        write_idx(folder / part, np.zeros(shape, dtype=np.uint8))
    (folder / PARTS[0]).write_bytes((folder / PARTS[0]).read_bytes()[:-100])
    done = run_cli(
        "train", "--data", "mnist", "--data-dir", str(folder), "--epochs", "1", home=home
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is truncated or corrupt" in done.stderr


def test_data_list_json(home):
    rows = json.loads(run_cli("data", "list", "--json", home=home).stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["digits"]["task"] == "classification"
    fashion = by_name["fashion-mnist"]["status"]
    if Path("/usr/share/datasets/fashion-mnist").is_dir():  # Debian's dataset-fashion-mnist
        assert fashion.startswith("local: ")
    else:
        assert fashion.startswith("not found locally; would download"), fashion
