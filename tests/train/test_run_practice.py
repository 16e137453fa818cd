"""Robustness, transfer, continual learning and imbalance options, end to end on digits.

Each run is a few epochs of the MLP on the embedded digits (a second or two).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from profond.errors import ProfondError
from profond.runs import RunSpec, resolve, train_run

QUICK = {"model": "mlp", "data": "digits", "seed": 0, "log_mlflow_model": False}


def _client():
    from profond.track.store import client

    return client()


def _params(run_id: str) -> dict[str, str]:
    return _client().get_run(run_id).data.params


def test_options_resolve_with_their_defaults_and_replay_from_the_saved_config():
    run = resolve(RunSpec(adversarial="pgd", loss="focal", classes="3,1", init_from="x"))
    assert run.practice.adversarial_eps == 0.1 and run.practice.focal_gamma == 2.0
    assert run.practice.classes == [3, 1]
    again = resolve(RunSpec.from_options(run.to_options()))
    assert again.practice == run.practice


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"adversarial": "cw"}, "unknown adversarial attack 'cw'"),
        ({"adversarial_eps": 0.1}, "--adversarial-eps needs --adversarial"),
        ({"adversarial": "fgsm", "adversarial_eps": -0.1}, "must be a positive number"),
        ({"loss": "hinge"}, "unknown loss 'hinge'"),
        ({"focal_gamma": 1.0}, "--focal-gamma needs --loss focal"),
        ({"loss": "focal", "focal_gamma": -1.0}, "--focal-gamma must be >= 0"),
        ({"freeze": 2}, "--freeze needs --init-from"),
        ({"replay": 10}, "--replay needs --init-from"),
        ({"init_from": "x", "freeze": "half"}, "--freeze takes a number of layers or up-to-"),
        ({"init_from": "x", "replay": 0}, "--replay must be a positive number"),
        ({"imbalance_ratio": 0.5}, "--imbalance-ratio must be >= 1"),
        ({"resample": "smote"}, "unknown resampling 'smote'"),
        ({"classes": "1,1"}, "distinct class ids"),
        ({"classes": "a,b"}, "distinct class ids"),
        ({"classes": [-1]}, "distinct class ids"),
        ({"adversarial": "fgsm", "model": "autoencoder"}, "apply to classification models"),
        ({"loss": "focal", "engine": "scratch"}, "scratch engine does not take loss"),
    ],
)
def test_bad_combinations_are_refused_before_anything_loads(options, message):
    with pytest.raises(ProfondError, match=message):
        resolve(RunSpec.from_options(options))


def test_adversarial_training_is_logged_and_trains_on_attacked_batches():
    plain = train_run(**QUICK, epochs=2, limit=600, lr=5e-3)
    adv = train_run(**QUICK, epochs=2, limit=600, lr=5e-3, adversarial="fgsm", adversarial_eps=0.3)
    params = _params(adv.run_id)
    assert params["adversarial"] == "fgsm" and float(params["adversarial_eps"]) == 0.3
    # same seed, same data: only the attacked half of the loss changes the training
    assert adv.result.history["train_loss"] != plain.result.history["train_loss"]
    assert adv.metrics["test_accuracy"] > 0.5


def test_the_focal_loss_changes_the_loss_and_is_logged():
    ce = train_run(**QUICK, epochs=1, limit=600)
    focal = train_run(**QUICK, epochs=1, limit=600, loss="focal", focal_gamma=3.0)
    assert float(_params(focal.run_id)["focal_gamma"]) == 3.0
    # (1 - p)^γ shrinks every sample's loss: the mean training loss is lower than plain CE
    assert focal.result.history["train_loss"][0] < ce.result.history["train_loss"][0]


def test_imbalance_and_balanced_resampling_reshape_the_training_split():
    from profond.data.imbalance import class_counts
    from profond.data.registry import get_dataset
    from profond.runs.practice import prepare_data

    skewed = train_run(**QUICK, epochs=1, imbalance_ratio=10.0)
    assert float(_params(skewed.run_id)["imbalance_ratio"]) == 10.0
    bundle = get_dataset("digits").load(resolve(RunSpec(**QUICK)).data_options)

    def counts(**options) -> torch.Tensor:
        practice = resolve(RunSpec(**QUICK, **options)).practice
        return class_counts(prepare_data(practice, bundle, 0, None).bundle.y_train, 10).float()

    skew = counts(imbalance_ratio=10.0)
    assert skew.max() / skew.min() == pytest.approx(10.0, rel=0.05)
    assert len(skew) == 10 and skew.sum() < len(bundle.y_train) / 2
    even = counts(imbalance_ratio=10.0, resample="balanced")
    assert even.sum() == skew.sum() and even.max() / even.min() < 3  # classes equally likely


def test_transfer_copies_the_parent_weights_and_freezes_the_first_layers():
    from profond.track.runs import load_run_model

    parent = train_run(**QUICK, epochs=2, run_name="parent")
    child = train_run(**QUICK, epochs=2, init_from="parent", freeze="1")
    before = load_run_model(parent.run_id).model.state_dict()
    after = load_run_model(child.run_id).model.state_dict()
    first = next(iter(before))  # the first layer's weight: frozen, so unchanged
    assert torch.equal(before[first], after[first])
    last = list(before)[-1]  # the head learned on
    assert not torch.equal(before[last], after[last])
    assert _params(child.run_id)["init_from"] == "parent"


def test_a_bad_layer_name_leaves_no_run_behind():
    parent = train_run(**QUICK, epochs=1, run_name="parent")
    with pytest.raises(ProfondError, match="no layer 'nowhere' in the model"):
        train_run(**QUICK, epochs=1, init_from=parent.run_id, freeze="up-to-nowhere")
    runs = _client().search_runs([r.info.experiment_id for r in [_client().get_run(parent.run_id)]])
    assert [r.info.run_id for r in runs] == [parent.run_id]


def test_continual_learning_reports_old_and_new_classes_and_replay_helps_the_old():
    old = train_run(**QUICK, epochs=15, classes=[0, 1, 2, 3, 4], run_name="old")
    common = {**QUICK, "epochs": 10, "classes": [5, 6, 7, 8, 9], "init_from": old.run_id}
    forgot = train_run(**common)
    replayed = train_run(**common, replay=200)
    history = forgot.result.history
    assert len(history["val_old_accuracy"]) == len(history["val_new_accuracy"]) == 10
    metrics = _client().get_run(replayed.run_id).data.metrics
    assert {"val_old_accuracy", "val_new_accuracy", "test_old_accuracy"} <= set(metrics)
    assert forgot.metrics["test_new_accuracy"] > 0.8  # the new classes are learned
    # without replay the old classes are forgotten; 200 stored examples keep them
    assert forgot.metrics["test_old_accuracy"] < 0.5
    assert replayed.metrics["test_old_accuracy"] > forgot.metrics["test_old_accuracy"] + 0.3


def test_the_cli_takes_the_options_and_a_config_file_replays_them(tmp_path: Path, capsys):
    import json

    from profond.cli import main

    argv = ["train", "--epochs", "1", "--no-mlflow-model", "--json", "--classes", "0,1,2",
            "--loss", "focal", "--imbalance-ratio", "1.5", "--resample", "balanced"]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    path = _client().download_artifacts(first["run_id"], "config/run.yaml", str(tmp_path))
    assert main(["train", "--config", path, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["metrics"] == first["metrics"]
    params = _params(second["run_id"])
    assert params["classes"] == "[0, 1, 2]" and params["resample"] == "balanced"
