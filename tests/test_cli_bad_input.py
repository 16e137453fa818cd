"""Bad command lines and bad input files: one ``error:`` line, exit status 2, nothing lost.

Each case runs ``profond`` in this process (a traceback would fail the test) against a store
that already holds a finished run; after the case that run is still there, still FINISHED.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from profond.cli import main

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOT_AS_ROOT = pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A PROFOND_HOME holding one finished run (1 epoch of the MLP on 64 digits)."""
    home = tmp_path_factory.mktemp("bad_input_home")
    old = os.environ.get("PROFOND_HOME")
    os.environ["PROFOND_HOME"] = str(home)
    try:
        from profond.runs import train_run

        outcome = train_run(epochs=1, limit=64, log_mlflow_model=False, run_name="kept")
    finally:
        if old is None:
            os.environ.pop("PROFOND_HOME")
        else:
            os.environ["PROFOND_HOME"] = old
    return home, outcome.run_id


@pytest.fixture
def files(store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Paths the cases refer to, by placeholder."""
    monkeypatch.setenv("PROFOND_HOME", str(store[0]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("something\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "unknown.yaml").write_text("epochs: 1\nunits: 3\n")
    (tmp_path / "broken.yaml").write_text("epochs: [1, 2\n")
    (tmp_path / "list.yaml").write_text("- epochs\n- 1\n")
    (tmp_path / "ten.yaml").write_text("epochs: ten\n")
    (tmp_path / "flag.yaml").write_text("compile: maybe\n")
    (tmp_path / "options.yaml").write_text("model_options: 3\n")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "locked.yaml").write_text("epochs: 1\n")
    (tmp_path / "locked.yaml").chmod(0)
    np.save(tmp_path / "locked.npy", np.zeros((8, 8)))
    (tmp_path / "locked.npy").chmod(0)
    np.save(tmp_path / "strings.npy", np.array([["a"] * 8] * 8))
    return {"RUN": store[1], "FILE": str(tmp_path / "a-file"),
            "DIR": str(tmp_path / "a-folder"), "TMP": str(tmp_path)}  # fmt: skip


CASES = [
    # train: names and numbers
    (["train", "--model", "perceptron3000"], "unknown model 'perceptron3000'"),
    (["train", "--data", "imagenet"], "unknown dataset 'imagenet'"),
    (["train", "--engine", "jax"], "unknown engine 'jax'"),
    (["train", "--epochs", "0"], "--epochs: must be a positive integer"),
    (["train", "--epochs", "-5"], "--epochs: must be a positive integer"),
    (["train", "--epochs", "ten"], "--epochs: must be an integer"),
    (["train", "--batch-size", "0"], "--batch-size: must be a positive integer"),
    (["train", "--optimizer", "adamax"], "unknown optimizer 'adamax'"),
    (["train", "--lr", "nan"], "--lr: must be a finite number"),
    (["train", "--lr", "inf"], "--lr: must be a finite number"),
    (["train", "--lr", "fast"], "--lr: must be a number"),
    (["train", "--schedule", "linear"], "unknown schedule 'linear'"),
    (["train", "--step-size", "0"], "--step-size: must be a positive integer"),
    (["train", "--threads", "-3"], "--threads: must be a positive integer"),
    (["train", "--threads", "0"], "--threads: must be a positive integer"),
    (["train", "--seed", "-1"], "--seed: must be an integer >= 0"),
    (["train", "--seed", "1e23"], "--seed: must be an integer"),
    (["train", "--normalization", "zscore"], "unknown normalization 'zscore'"),
    (["train", "--limit", "0"], "--limit: must be a positive integer"),
    (["train", "--limit", "-1"], "--limit: must be a positive integer"),
    (["train", "--window", "0"], "--window: must be a positive integer"),
    (["train", "--horizon", "-2"], "--horizon: must be a positive integer"),
    (["train", "--max-len", "0"], "--max-len: must be a positive integer"),
    (["train", "--class-weights", "inverse"], "unknown class weighting 'inverse'"),
    (["train", "--distributed", "-1"], "--distributed: must be a positive integer"),
    (["train", "--distributed", "0"], "--distributed: must be a positive integer"),
    (["train", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (
        ["train", "--val-fraction", "1.5", "--limit", "64"],
        "val_fraction must be a number in [0.0, 1.0)",
    ),
    (["train", "--momentum", "-1", "--limit", "64"], "momentum must be a number in [0, 1)"),
    (["train", "--clip-grad-norm", "0", "--limit", "64"], "clip_grad_norm must be positive"),
    # train: tracking
    (["train", "--experiment", ""], "--experiment: must not be empty"),
    (["train", "--experiment", "   "], "--experiment: must not be empty"),
    (["train", "--run-name", "a\x1b[2Jb"], "--run-name: must not hold control characters"),
    (["train", "--tracking-uri", "bogus://"], "unsupported scheme 'bogus'"),
    (["train", "--tracking-uri", ""], "--tracking-uri: must not be empty"),
    (["train", "--resume", "feedbeef"], "no run with id or name 'feedbeef'"),
    # train: model options
    (["train", "--set", "units=3", "--limit", "64"], "unknown option(s) units for model 'mlp'"),
    (["train", "--set", "noequals"], "--set expects KEY=VALUE"),
    (["train", "--set", "=3"], "--set expects KEY=VALUE"),
    (["train", "--set", "dropout=lots", "--limit", "64"], "dropout='lots' is not a valid float"),
    (["train", "--set", "in_features=5", "--limit", "64", "--epochs", "1"], "in_features"),
    (["train", "--set", "num_classes=3", "--limit", "64", "--epochs", "1"], "num_classes"),
    # train: --config files
    (["train", "--config", "missing.yaml"], "missing.yaml: no such file"),
    (["train", "--config", "{DIR}"], "is a folder; give a file"),
    (["train", "--config", "unknown.yaml"], "unknown option(s) units; valid:"),
    (["train", "--config", "broken.yaml"], "is not valid YAML"),
    (["train", "--config", "binary.yaml"], "is not valid YAML"),
    (["train", "--config", "list.yaml"], "must hold a mapping of option: value"),
    (["train", "--config", "ten.yaml"], "ten.yaml: profond train: argument --epochs"),
    (["train", "--config", "flag.yaml"], "compile must be true or false"),
    (["train", "--config", "options.yaml"], "model_options must be a mapping"),
    pytest.param(["train", "--config", "locked.yaml"], "permission denied", marks=NOT_AS_ROOT),
    # evaluate / predict / generate: run references and outputs
    (["evaluate", "0123456789abcdef"], "no run with id or name '0123456789abcdef'"),
    (["evaluate", ""], "argument RUN: must not be empty"),
    (["evaluate", "models:/ghost/1"], "no registered model version models:/ghost/1"),
    (["evaluate", "models:/ghost@champion"], "no registered model version models:/ghost@champion"),
    (["evaluate", "models:/ghost/Production"], "no registered model version"),
    (["evaluate", "runs:/"], "runs:/"),
    (["evaluate", "{RUN}", "--out", "{FILE}"], "is a file; give a folder"),
    (["evaluate", "{RUN}", "--tracking-uri", "ftp://x"], "unsupported scheme 'ftp'"),
    (["predict", "{RUN}", "{DIR}"], "is a folder; give a file"),
    (["predict", "{RUN}", "{FILE}", "--out", "{FILE}"], "exists; choose another"),
    pytest.param(["predict", "{RUN}", "locked.npy"], "permission denied", marks=NOT_AS_ROOT),
    (["predict", "{RUN}", "strings.npy"], "strings.npy"),
    (["generate", "{RUN}", "--n", "0"], "--n: must be a positive integer"),
    (["generate", "{RUN}", "--out", "{FILE}"], "exists; choose another"),
    # runs / data / unknown commands
    (["runs", "--limit", "0"], "--limit: must be a positive integer"),
    (["runs", "--limit", "-1"], "--limit: must be a positive integer"),
    (["runs", "--limit", "all"], "--limit: must be an integer"),
    (["runs", "--out", "{FILE}"], "exists; choose another"),
    (["runs", "--out", "{TMP}/no/such/folder/runs.json"], "does not exist"),
    (["data", "info", "imagenet"], "unknown dataset 'imagenet'"),
    (["data", "info", "digits", "--data-dir", ""], "--data-dir: must not be empty"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_bad_input_is_one_error_line(argv, message, files, store, capsys):
    code = main([a.format(**files) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert lines and lines[-1].startswith("error: ") and message in lines[-1], err
    assert len([line for line in lines if line.startswith("error: ")]) == 1
    _still_there(store)


def test_a_model_too_big_for_memory_is_refused(files, store, capsys):
    code = main(["train", "--set", "hidden_sizes=100000,100000", "--limit", "64"])
    assert code == 2 and capsys.readouterr().err.startswith("error: ")
    _still_there(store)


def _still_there(store: tuple[Path, str]) -> None:
    from profond.track.runs import get_run

    assert get_run(store[1]).info.status == "FINISHED"
