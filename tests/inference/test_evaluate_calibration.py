"""``profond evaluate`` of a classifier: calibration error, reliability and precision-recall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from profond.runs import train_run

QUICK = {"model": "mlp", "data": "digits", "seed": 0, "log_mlflow_model": False}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    """A run on all the classes, and one on a class subset, in a store of their own."""
    import os

    home = tmp_path_factory.mktemp("evaluate_home")
    old = os.environ.get("PROFOND_HOME")
    os.environ["PROFOND_HOME"] = str(home)
    try:
        full = train_run(**QUICK, epochs=3)
        subset = train_run(**QUICK, epochs=3, classes=[0, 1, 2])
    finally:
        if old is None:
            os.environ.pop("PROFOND_HOME")
        else:
            os.environ["PROFOND_HOME"] = old
    return home, full, subset


def test_calibration_and_precision_recall_are_computed_drawn_and_logged(
    runs, tmp_path, monkeypatch
):
    from profond.inference import evaluate_run
    from profond.track.store import client

    home, full, _ = runs
    monkeypatch.setenv("PROFOND_HOME", str(home))
    result = evaluate_run(full.run_id, None, tmp_path)
    calibration = result["calibration"]
    assert 0.0 <= calibration["ece"] <= 1.0
    # the ECE is the count-weighted gap between accuracy and confidence over the bins
    table = calibration["reliability"]
    count = np.asarray(table["count"])
    gaps = np.abs(np.asarray(table["accuracy"]) - np.asarray(table["confidence"]))
    assert calibration["ece"] == pytest.approx(np.nansum(count * gaps) / count.sum())
    assert count.sum() == sum(result["per_class"]["support"])
    ap = result["per_class"]["average_precision"]
    assert len(ap) == 10 and all(0.0 < a <= 1.0 for a in ap)
    assert calibration["mean_average_precision"] == pytest.approx(np.mean(ap))
    for name in ("reliability.png", "precision_recall.png", "confusion_matrix.png"):
        assert (tmp_path / name).stat().st_size > 1000
    logged = {Path(f.path).name for f in client().list_artifacts(full.run_id, "evaluation")}
    assert {"reliability.png", "precision_recall.png"} <= logged and calibration["logged"]
    assert result["metrics"]["test_accuracy"] == pytest.approx(full.metrics["test_accuracy"])


def test_a_class_subset_run_is_evaluated_on_its_classes(runs, monkeypatch):
    from profond.inference import evaluate_run

    home, _, subset = runs
    monkeypatch.setenv("PROFOND_HOME", str(home))
    result = evaluate_run(subset.run_id)
    assert result["metrics"]["test_accuracy"] == pytest.approx(subset.metrics["test_accuracy"])
    support = result["per_class"]["support"]
    assert support[:3] == [s for s in support if s] and sum(support[3:]) == 0
    assert result["per_class"]["average_precision"][3:] == [None] * 7  # absent classes


def test_the_cli_shows_the_calibration(runs, tmp_path, monkeypatch, capsys):
    from profond.cli import main

    home, full, _ = runs
    monkeypatch.setenv("PROFOND_HOME", str(home))
    assert main(["evaluate", full.run_id, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "calibration error (ECE)" in out and "mean average precision" in out
    saved = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert f"{saved['calibration']['ece']:.4f}" in out
