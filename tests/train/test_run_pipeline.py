"""The run pipeline: API and CLI agree, and a run is closed FINISHED, FAILED or KILLED."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profond.errors import ProfondError
from profond.runs import resume_run, train_run

QUICK = {"model": "mlp", "data": "digits", "epochs": 2, "seed": 3, "log_mlflow_model": False}


def _client():
    from profond.track.store import client

    return client()


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PROFOND_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def test_the_api_gives_the_cli_metrics_with_the_same_seed(capsys):
    from profond.cli import main

    assert main(["train", "--epochs", "1", "--seed", "0", "--no-mlflow-model", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)  # stdout holds the JSON alone
    api = train_run(model="mlp", data="digits", epochs=1, seed=0, log_mlflow_model=False)
    assert api.metrics == cli["metrics"]
    assert api.main_metric == "test_accuracy" and api.metrics["test_accuracy"] > 0.5


def test_a_run_records_its_lineage_dataset_and_replayable_config(isolated_home):
    from profond.runs import RunSpec, resolve
    from profond.runs.artifacts import read_run_config

    outcome = train_run(**QUICK)
    run = _client().get_run(outcome.run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"]
    assert tags["profond.pid"] == str(os.getpid()) and tags["profond.host"]
    assert int(tags["profond.threads"]) >= 1
    contexts = {
        next(t.value for t in d.tags if t.key == "mlflow.data.context"): d.dataset
        for d in run.inputs.dataset_inputs
    }
    assert set(contexts) == {"training", "testing"} and contexts["training"].name == "digits"
    path = _client().download_artifacts(outcome.run_id, "config/run.yaml", str(isolated_home))
    options = read_run_config(Path(path))
    assert resolve(RunSpec.from_options(options)) == resolve(RunSpec(**QUICK))


def test_a_failure_after_training_leaves_the_run_failed_with_its_reason(monkeypatch):
    import profond.runs.pipeline as pipeline

    def broken(*args, **kwargs):
        raise OSError("disk full\nwhile saving")

    monkeypatch.setattr(pipeline, "save_model_folder", broken)
    with pytest.raises(OSError, match="disk full"):
        train_run(**QUICK)
    (run,) = _client().search_runs([_client().get_experiment_by_name("profond").experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.tags["profond.failure"] == "OSError: disk full while saving"
    assert "test_accuracy" in run.data.metrics  # training itself was recorded


def _interrupt_at_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int, how: str) -> None:
    """A real SIGINT (Ctrl-C) or SIGTERM after the progress line of ``epoch`` (0-based)."""
    from profond.train.callbacks import ProgressReporter

    original = ProgressReporter.epoch_end

    def epoch_end(self, e, logs):
        original(self, e, logs)
        if e == epoch:  # the run stops at its next batch or epoch end, not inside a write
            os.kill(os.getpid(), signal.SIGTERM if how == "sigterm" else signal.SIGINT)

    monkeypatch.setattr(ProgressReporter, "epoch_end", epoch_end)


def _only_run():
    client = _client()
    (run,) = client.search_runs([client.get_experiment_by_name("profond").experiment_id])
    return run


@pytest.mark.parametrize("how", ["sigint", "sigterm"])
def test_an_interrupted_run_is_killed_then_resumes_to_the_same_result(capsys, how):
    reference = train_run(**{**QUICK, "experiment": "reference"})
    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        _interrupt_at_epoch(patch, 0, how)
        train_run(**QUICK)
    run = _only_run()
    assert run.info.status == "KILLED"
    assert f"profond train --resume {run.info.run_id}" in capsys.readouterr().err
    resumed = resume_run(run.info.run_id)
    assert resumed.run_id == run.info.run_id and resumed.metrics == reference.metrics
    run = _only_run()
    assert run.info.status == "FINISHED"
    history = _client().get_metric_history(run.info.run_id, "train_loss")
    assert sorted(m.step for m in history) == [0, 1]  # each epoch logged once


def test_a_run_stopped_before_its_first_checkpoint_resumes_from_the_start():
    from profond.paths import checkpoints_dir
    from profond.train.trainer import Trainer

    reference = train_run(**{**QUICK, "experiment": "reference"})

    def stopped(self, *args, **kwargs):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(Trainer, "_fit", stopped)
        train_run(**QUICK)
    run = _only_run()
    assert run.info.status == "KILLED"
    assert not (checkpoints_dir() / run.info.run_id / "last.pt").exists()
    resumed = resume_run(run.info.run_id)
    assert resumed.metrics == reference.metrics
    assert _only_run().info.status == "FINISHED"


def test_a_run_killed_before_it_wrote_its_configuration_resumes_from_its_tags():
    """A kill between the run's creation and its first file: the options travel as a tag."""
    from profond.runs import pipeline
    from profond.runs.artifacts import write_run_config

    reference = train_run(**{**QUICK, "experiment": "reference"})

    def killed(path, run):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(pipeline, "write_run_config", killed)
        train_run(**QUICK)
    run = _only_run()
    assert run.info.status == "KILLED" and pipeline.CONFIG_TAG in run.data.tags
    assert write_run_config is pipeline.write_run_config  # the real one is back for the resume
    resumed = resume_run(run.info.run_id)
    assert resumed.metrics == reference.metrics
    assert _only_run().info.status == "FINISHED"


def test_resuming_a_finished_run_is_refused():
    outcome = train_run(**QUICK)
    with pytest.raises(ProfondError, match=f"run {outcome.run_id} is FINISHED; there is nothing"):
        resume_run(outcome.run_id)
    assert len(_client().get_metric_history(outcome.run_id, "train_loss")) == 2


def test_mlflow_console_output_stays_off_stdout(monkeypatch, capsys):
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    # MLflow prints "View run" links to stdout when it closes a run on a tracking server
    def log_url(self, run_id):
        sys.stdout.write(f"View run {run_id}\n")

    monkeypatch.setattr(TrackingServiceClient, "_log_url", log_url)
    outcome = train_run(**QUICK)
    out, err = capsys.readouterr()
    assert out == ""
    assert f"View run {outcome.run_id}" in err


def test_the_scratch_engine_goes_through_the_same_pipeline():
    outcome = train_run(**{**QUICK, "engine": "scratch", "epochs": 3, "optimizer": "sgd",
                           "lr": 0.1})  # fmt: skip
    run = _client().get_run(outcome.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["profond.engine"] == "scratch"
    assert outcome.main_metric == "test_accuracy" and outcome.metrics["test_accuracy"] > 0.5
    with pytest.raises(ProfondError, match="runs of the scratch engine cannot be resumed"):
        _client().update_run(outcome.run_id, status="KILLED")
        resume_run(outcome.run_id)


@pytest.mark.slow
def test_sigint_to_the_cli_kills_the_run_and_prints_how_to_resume(tmp_path):
    args = ["train", "--data", "digits", "--epochs", "400", "--batch-size", "8",
            "--no-mlflow-model"]  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "profond", *args], env=_env(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline and not list(tmp_path.glob("checkpoints/*/last.pt")):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    run_id = list(tmp_path.glob("checkpoints/*/last.pt"))[0].parent.name
    assert process.returncode == 130, err
    assert f"profond train --resume {run_id}" in err and out == ""
    done = subprocess.run([sys.executable, "-m", "profond", "runs", "--json"], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert json.loads(done.stdout)[0]["status"] == "KILLED"


@pytest.mark.slow
@pytest.mark.parametrize(("model", "data"), [("rnn", "sunspots"), ("cnn", "digits")])
def test_saving_the_mlflow_model_shows_no_torch_export_warning(model, data):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_run(model=model, data=data, epochs=1, limit=200)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "register_buffer" in m or "No complete tensor" in m]


def test_a_run_saved_by_an_earlier_version_resumes_from_its_run_json():
    from profond.paths import checkpoints_dir
    from profond.runs import RunSpec, resolve
    from profond.runs.pipeline import _saved_options

    run = resolve(RunSpec(**QUICK))
    nested = {"model": "mlp", "data": "digits", "engine": "torch", "model_options": {},
              "data_options": {**run.to_options(), "seed": 3}, "train": run.train.to_dict(),
              "tracking_uri": None, "experiment": "profond", "run_name": None,
              "register_as": None, "log_mlflow_model": False}  # fmt: skip
    nested["data_options"] = {k: nested["data_options"][k] for k in (
        "seed", "val_fraction", "normalization", "data_dir", "limit", "download", "window",
        "horizon", "max_len")}  # fmt: skip
    folder = checkpoints_dir() / "0123abcd"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(nested))
    assert resolve(RunSpec.from_options(_saved_options("0123abcd", None))) == run


def test_the_resnet_default_recipe_runs_end_to_end_and_predicts_as_it_was_tested(tmp_path):
    """Every part of the recipe at once (AdamW, one cycle, smoothing, EMA, flip TTA, auto
    precision) on 8x8 digits, which four stages reduce to 1x1; the card records the TTA and
    ``predict`` answers with the flip-averaged probabilities the test measured."""
    import numpy as np
    import torch

    from profond.data.registry import DataOptions, load_dataset
    from profond.inference import predict_run
    from profond.track.runs import load_run_model

    outcome = train_run(model="resnet", data="digits", epochs=12, seed=0, log_mlflow_model=False)
    assert outcome.metrics["test_accuracy"] > 0.4  # ten classes: chance is 0.1 (11 steps/epoch)
    loaded = load_run_model(outcome.run_id)
    assert loaded.card.extra["tta"] == "flip"
    assert loaded.card.config["channels"] == [16, 32, 64, 128]
    bundle = load_dataset("digits", DataOptions())
    raw = bundle.preprocessing.invert(bundle.x_test[:4])  # the files a user would give
    np.save(tmp_path / "rows.npy", raw.numpy())
    answer = predict_run(outcome.run_id, [str(tmp_path / "rows.npy")])
    x = bundle.x_test[:4]
    with torch.no_grad():
        model = loaded.model
        want = (model(x).softmax(1) + model(x.flip(-1)).softmax(1)) / 2
    got = np.array([p["probabilities"] for p in answer])
    np.testing.assert_allclose(got, want.numpy(), atol=1e-4)
    from profond.inference.evaluate import evaluate_run

    rescored = evaluate_run(outcome.run_id)["metrics"]  # `profond evaluate`: the same TTA
    assert rescored["test_accuracy"] == pytest.approx(outcome.metrics["test_accuracy"])
