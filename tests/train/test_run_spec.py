"""RunSpec and resolve: the user's options, then defaults in one order, saved options replay."""

from __future__ import annotations

import pytest

from profond.errors import ProfondError
from profond.runs import RunSpec, resolve


def test_unknown_options_are_refused_with_the_valid_list():
    with pytest.raises(ProfondError, match=r"unknown run option\(s\) epoch, lrate; valid: model, "):
        RunSpec.from_options({"epoch": 3, "lrate": 0.1, "model": "mlp"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": "three"}, "option epochs expects int, got 'three'"),
        ({"epochs": 2.5}, "option epochs expects int"),
        ({"compile": "yes"}, "option compile expects bool"),
        ({"threads": True}, "option threads expects int, got True"),
        ({"lr": "fast"}, "option lr expects float"),
        ({"betas": [0.5]}, "option betas expects two numbers in"),
        ({"model_options": "hidden=3"}, "option model_options expects dict"),
    ],
)
def test_option_types_are_checked(options, message):
    with pytest.raises(ProfondError, match=message):
        RunSpec.from_options(options)


def test_numbers_as_yaml_writes_them_are_accepted():
    spec = RunSpec.from_options({"lr": "1e-3", "momentum": 1, "betas": [0.5, 0.9]})
    assert spec.lr == 1e-3 and isinstance(spec.momentum, float) and spec.betas == (0.5, 0.9)


def test_dataset_then_family_then_user():
    run = resolve(RunSpec(model="mlp", data="digits"))
    assert run.train.epochs == 40  # the dataset's default
    assert run.data_options.normalization == "standard"  # the family's data default
    run = resolve(RunSpec(model="cnn", data="digits", epochs=2, normalization="minmax", seed=5))
    assert run.train.schedule == "cosine"  # the family's training default
    assert run.train.epochs == 2 and run.data_options.normalization == "minmax"  # the user's
    assert run.data_options.seed == 5  # the split follows the run's seed


def test_an_explicit_value_wins_even_when_it_equals_the_dataclass_default():
    assert resolve(RunSpec(model="gan")).train.lr == 2e-4
    assert resolve(RunSpec(model="gan")).train.betas == (0.5, 0.999)
    assert resolve(RunSpec(model="gan", lr=1e-3)).train.lr == 1e-3


def test_resnet_augments_as_a_training_default():
    assert resolve(RunSpec(model="resnet", data="digits")).train.augment == "shift_flip"


def test_the_resnet_recipe_is_its_default_and_each_part_can_be_turned_off():
    train = resolve(RunSpec(model="resnet")).train
    recipe = (train.optimizer, train.schedule, train.label_smoothing, train.ema, train.tta)
    assert recipe == ("adamw", "onecycle", 0.1, 0.999, "flip")
    assert (train.weight_decay, train.precision) == (0.1, "auto")
    off = resolve(RunSpec.from_options(
        {"model": "resnet", "ema": 0.0, "tta": "none", "label_smoothing": 0.0,
         "precision": "fp32", "weight_decay": 0.0}
    )).train  # fmt: skip
    assert (off.ema, off.tta, off.label_smoothing, off.precision, off.weight_decay) == (
        0.0, "none", 0.0, "fp32", 0.0)  # fmt: skip


def test_saved_options_replay_the_same_run(tmp_path):
    from profond.runs.artifacts import read_run_config, write_run_config

    run = resolve(
        RunSpec(model="gan", data="fashion-mnist", epochs=3, limit=64,
                model_options={"latent_dim": "16"}, run_name="a")
    )  # fmt: skip
    path = write_run_config(tmp_path / "run.yaml", run)
    options = read_run_config(path)
    assert set(options) <= set(RunSpec.option_names())
    assert resolve(RunSpec.from_options(options)) == run


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (RunSpec(engine="jax"), "unknown engine 'jax'; choose one of: torch, scratch"),
        (RunSpec(model="lstm", data="digits"), "model 'lstm' does not train on classification"),
        (RunSpec(experiment=" "), "the experiment name is empty"),
        (RunSpec(optimizer="adagrad"), "unknown optimizer 'adagrad'; choose one of: sgd,"),
    ],
)
def test_bad_specs_give_one_line(spec, message):
    with pytest.raises(ProfondError, match=message):
        resolve(spec)


def test_importing_profond_and_building_a_spec_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, profond, profond.runs; profond.runs.RunSpec.from_options({'epochs': 1}); "
        "print('torch' in sys.modules, 'mlflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"


def test_train_run_is_exported_by_the_package():
    from profond import train_run
    from profond.runs.pipeline import train_run as pipeline_train_run

    assert train_run is pipeline_train_run
