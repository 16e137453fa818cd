"""Configs checked when built: every field of TrainConfig and DataOptions, run.json files."""

import json
import math

import pytest

from profond.data.registry import DataOptions
from profond.errors import ProfondError
from profond.train.config import TrainConfig
from profond.validation import load_run_file, read_json

BAD_TRAIN = [
    ({"epochs": 0}, "epochs must be a positive integer, got 0"),
    ({"epochs": 2.0}, "epochs must be a positive integer, got 2.0"),
    ({"epochs": True}, "epochs must be a positive integer, got True"),
    ({"batch_size": -1}, "batch size must be a positive integer"),
    ({"optimizer": "adamax"}, "unknown optimizer 'adamax'; choose one of: sgd"),
    ({"lr": 0}, "learning rate must be positive, got 0"),
    ({"lr": math.nan}, "learning rate must be positive, got nan"),
    ({"lr": "0.1"}, "learning rate must be positive, got '0.1'"),
    ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\), got 1.5"),
    ({"weight_decay": -1e-4}, "weight_decay must be a number >= 0"),
    ({"l1": math.inf}, "l1 must be a number >= 0, got inf"),
    ({"l2": -1}, "l2 must be a number >= 0"),
    ({"schedule": "linear"}, "unknown schedule 'linear'"),
    ({"step_size": 0}, "step_size must be a positive integer, got 0"),
    ({"gamma": 0}, "gamma must be positive, got 0"),
    ({"gamma": -0.5}, "gamma must be positive"),
    ({"warmup_epochs": -1}, "warmup_epochs must be an integer >= 0, got -1"),
    ({"clip_grad_norm": 0}, r"clip_grad_norm must be positive \(or unset\), got 0"),
    ({"explode_grad_norm": -1}, "explode_grad_norm must be positive"),
    ({"patience": 0}, r"patience must be a positive number of epochs \(or unset\)"),
    ({"restore_best": "no"}, "restore_best must be true or false, got 'no'"),
    ({"class_weights": "inverse"}, "class_weights must be 'balanced' or unset"),
    ({"seed": -1}, "seed must be an integer from 0 to 9223372036854775807, got -1"),
    ({"seed": 1e23}, "seed must be an integer from 0 to 9223372036854775807, got 1e\\+23"),
    ({"seed": 2**63}, "seed must be an integer from 0 to"),
    ({"device": "gpu"}, "unknown device 'gpu'; use auto, cpu, cuda, cuda:N or mps"),
    ({"device": "cuda:x"}, "unknown device 'cuda:x'"),
    ({"threads": -3}, r"threads must be a positive integer \(or unset\), got -3"),
    ({"threads": 0}, "threads must be a positive integer"),
    ({"compile": 1}, "compile must be true or false, got 1"),
]


@pytest.mark.parametrize("kwargs, message", BAD_TRAIN, ids=[str(k) for k, _ in BAD_TRAIN])
def test_every_train_field_is_checked(kwargs, message):
    with pytest.raises(ProfondError, match=message):
        TrainConfig(**kwargs)


def test_good_train_values_pass():
    config = TrainConfig(seed=2**63 - 1, threads=None, device="cuda:1", warmup_epochs=0,
                         gamma=2.0, clip_grad_norm=1.0, patience=3, momentum=0.0)  # fmt: skip
    assert config.seed == 2**63 - 1 and config.device == "cuda:1"


BAD_DATA = [
    ({"seed": -2}, "seed must be an integer from 0"),
    ({"val_fraction": 1.0}, r"val_fraction must be a number in \[0.0, 1.0\), got 1.0"),
    ({"normalization": "zscore"}, "unknown normalization 'zscore'"),
    ({"data_dir": 3}, "data_dir must be a folder path, got 3"),
    ({"limit": 0}, "limit must be a positive number of samples"),
    ({"download": "yes"}, "download must be true or false"),
    ({"window": 0}, "window must be a positive integer"),
    ({"horizon": 1.5}, "horizon must be a positive integer, got 1.5"),
    ({"max_len": -4}, "max_len must be a positive integer"),
]


@pytest.mark.parametrize("kwargs, message", BAD_DATA, ids=[str(k) for k, _ in BAD_DATA])
def test_every_data_option_is_checked(kwargs, message):
    with pytest.raises(ProfondError, match=message):
        DataOptions(**kwargs)


def run_document() -> dict:
    return {
        "model": "mlp", "data": "digits", "engine": "torch", "model_options": {},
        "data_options": {"seed": 0, "val_fraction": 0.1}, "train": {"epochs": 2, "seed": 0},
        "tracking_uri": None, "experiment": "profond", "run_name": None, "register_as": None,
        "log_mlflow_model": True,
    }  # fmt: skip


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"train": {"epochs": "2"}},
            r"run.json: train: epochs must be a positive integer, got '2'",
        ),
        ({"train": {"seed": 1e23}}, r"run.json: train: seed must be an integer"),
        ({"train": {"epoch": 2}}, r"run.json: train has unknown field\(s\) epoch"),
        ({"train": [1]}, "run.json: train must be an object"),
        ({"data_options": {"val_fraction": 7}}, "run.json: data_options: val_fraction"),
        ({"model": 3}, "run.json: model must be a string, got 3"),
        ({"model_options": "big"}, "run.json: model_options must be an object"),
        ({"log_mlflow_model": "yes"}, "run.json: log_mlflow_model must be true or false"),
    ],
)
def test_tampered_run_file_names_the_file_and_field(tmp_path, change, message):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({**run_document(), **change}))
    with pytest.raises(ProfondError, match=message):
        load_run_file(path)


def test_a_good_run_file_is_returned_unchanged(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run_document()))
    assert load_run_file(path) == run_document()


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "is not valid JSON"),
        ("[" * 100_000, "nested too deeply"),
        (b"\xff\xfe", "cannot read"),
    ],
)
def test_read_json_is_one_line(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ProfondError, match=message):
        read_json(path, "a thing")
