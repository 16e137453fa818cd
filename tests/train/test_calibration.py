"""ECE and reliability bins by hand; precision-recall data; the report with its figures."""

from __future__ import annotations

import numpy as np
import pytest

from profond.train.calibration import (
    calibration_report,
    expected_calibration_error,
    precision_recall_data,
    reliability_bins,
)


def test_ece_by_hand() -> None:
    # confidences 0.9, 0.9 (one right, one wrong) and 0.6 (right), with 2 bins [0, .5], (.5, 1]
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6]])
    y = np.array([0, 1, 1])
    bins = reliability_bins(probs, y, bins=2)
    assert bins["count"] == [0.0, 3.0]
    assert bins["confidence"][1] == pytest.approx(0.8)
    assert bins["accuracy"][1] == pytest.approx(2 / 3)
    assert expected_calibration_error(probs, y, bins=2) == pytest.approx(abs(2 / 3 - 0.8))
    # 10 bins: |0.5 - 0.9| * 2/3 + |1 - 0.6| * 1/3
    assert expected_calibration_error(probs, y, bins=10) == pytest.approx(0.4)


def test_a_calibrated_predictor_has_a_small_ece() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=20000) < confidence  # right exactly as often as it says
    y = np.where(correct, 0, 1)
    probs = np.stack([confidence, 1 - confidence], axis=1)
    assert expected_calibration_error(probs, y) < 0.02
    overconfident = np.stack([np.full(20000, 0.99), np.full(20000, 0.01)], axis=1)
    assert expected_calibration_error(overconfident, y) > 0.2


def test_precision_recall_and_report(tmp_path) -> None:
    y = np.array([0, 0, 1, 1, 2])
    probs = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1],
                      [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])  # fmt: skip
    data = precision_recall_data(probs, y, ["a", "b", "c"])
    assert data["a"]["average_precision"] == pytest.approx(1.0 * 0.5 + 2 / 3 * 0.5)
    assert data["c"]["average_precision"] == pytest.approx(1.0)
    report = calibration_report(probs, y, ["a", "b", "c"], outdir=tmp_path)
    assert set(report["average_precision"]) == {"a", "b", "c"}
    for figure in report["figures"]:
        assert open(figure, "rb").read(4) == b"\x89PNG"
