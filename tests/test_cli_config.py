"""``profond train --config run.yaml``: every option from a file, checked like flags."""

from __future__ import annotations

import pytest

from profond.cli import build_parser, main
from profond.commands.train import option_dests, run_options
from profond.commands.train_config import apply_config, config_argv


def _options(argv: list[str]) -> dict:
    args = build_parser(argv).parse_args(argv)
    if args.config is not None:
        args = apply_config(args)
    return run_options(args)


def test_flags_win_over_the_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "model: cnn\ndata: fashion-mnist\nepochs: 7\nbatch-size: 64\nlr: 3.0e-4\n"
        "compile: true\ndownload: false\nlog_mlflow_model: false\n"
        "hidden: [256, 128]\nmodel_options: {kernel_size: 5, channels: [8, 16]}\n"
    )
    options = _options(
        ["train", "--config", str(config), "--epochs", "2", "--set", "kernel_size=3"]
    )
    assert options == {
        "model": "cnn", "data": "fashion-mnist", "epochs": 2, "batch_size": 64, "lr": 3e-4,
        "compile": True, "download": False, "log_mlflow_model": False,
        "model_options": {"hidden_sizes": "256,128", "kernel_size": "3", "channels": "8,16"},
    }  # fmt: skip


def test_only_the_given_options_are_passed():
    assert _options(["train"]) == {}
    assert _options(["train", "--no-download", "--seed", "0"]) == {"download": False, "seed": 0}


def test_every_train_option_can_come_from_a_file():
    """Each option's name is a valid key, and its value goes through the flag's own check."""
    samples = {"model": "mlp", "data": "digits", "engine": "torch", "optimizer": "sgd",
               "schedule": "step", "normalization": "none", "class_weights": "balanced",
               "tracking_uri": "sqlite:///x.db", "set": ["dropout=0.1"], "betas": "0.9,0.99",
               "augment": "shift"}  # fmt: skip
    for dest in option_dests():
        value = samples.get(dest, True if dest in ("compile", "batch_norm") else 1)
        if dest in ("download", "log_mlflow_model", "restore_best"):
            value = False
        argv = ["train", *config_argv({dest: value})]
        assert build_parser(argv).parse_args(argv), dest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: 0\n", "--epochs: must be a positive integer"),
        ("optimizer: adamax\n", "unknown optimizer 'adamax'"),
        ("limit: [1, 2]\n", "--limit: must be an integer"),
        ("batch_size: true\n", "--batch-size: must be an integer"),
        ("experiment: ''\n", "--experiment: must not be empty"),
        ("resume: abc\n", "unknown option(s) resume"),
        ("json: true\n", "unknown option(s) json"),
    ],
)
def test_a_bad_file_is_one_error_line(tmp_path, capsys, text, message):
    config = tmp_path / "run.yaml"
    config.write_text(text)
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_a_run_from_a_file(tmp_path, capsys):
    from profond.track.runs import get_run

    config = tmp_path / "run.yaml"
    config.write_text("epochs: 3\nlimit: 64\nbatch_size: 16\nno_mlflow_model: true\n")
    assert main(["train", "--config", str(config)]) == 2  # the flag's name is not a key
    assert "unknown option(s) no_mlflow_model" in capsys.readouterr().err
    config.write_text("epochs: 3\nlimit: 64\nbatch_size: 16\nlog_mlflow_model: false\n")
    assert main(["train", "--config", str(config), "--epochs", "1", "--json"]) == 0
    import json

    run_id = json.loads(capsys.readouterr().out)["run_id"]
    params = get_run(run_id).data.params
    assert (params["epochs"], params["batch_size"], params["limit"]) == ("1", "16", "64")


def test_every_run_option_has_a_flag():
    """What the run pipeline takes, the command line (and so a --config file) can set."""
    from profond.runs import RunSpec

    settable = {*option_dests(), "model_options"}
    assert set(RunSpec.option_names()) <= settable, set(RunSpec.option_names()) - settable
