"""Regression task on the adding problem: real training beats the constant baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.inference.inputs import prepare_input
from profond.models.saved import ModelCard
from profond.models.tcn import TCNConfig, TCNForecaster
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.tasks.regression import RegressionTask
from profond.train.trainer import Trainer


def test_a_tcn_learns_the_short_adding_problem() -> None:
    torch.set_num_threads(1)
    data = load_dataset("adding", DataOptions(window=10, limit=2000))
    task = task_class("regression")(data)
    torch.manual_seed(0)
    model = TCNForecaster(
        TCNConfig(input_size=2, channels=16, num_blocks=2, residual=False, dropout=0.0)
    )
    result = Trainer(TrainConfig(epochs=12, batch_size=64, lr=3e-3, device="cpu")).fit(
        model, task, data
    )
    baseline = result.final_metrics["baseline_constant_mse"]
    assert baseline == pytest.approx(1 / 6, rel=0.2)
    assert result.test_metrics["test_loss"] < 0.25 * baseline
    assert result.test_metrics["test_rmse"] == pytest.approx(
        result.test_metrics["test_loss"] ** 0.5
    )


def test_bad_targets_and_inputs_fail_clearly(tmp_path) -> None:
    data = load_dataset("adding", DataOptions(window=6, limit=50))
    with pytest.raises(ProfondError, match=r"shape \(N, k\)"):
        RegressionTask(load_dataset("digits", DataOptions(limit=50)))
    card = ModelCard(family="tcn", task="regression", data="adding", config={}, input_shape=[6, 2])
    good = tmp_path / "x.npy"
    np.save(good, data.x_test[:3].numpy())
    assert prepare_input(RegressionTask, str(good), card).shape == (3, 6, 2)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 5)))
    with pytest.raises(ProfondError, match=r"shape \[6, 2\]"):
        prepare_input(RegressionTask, str(bad), card)
    out = RegressionTask.format_prediction(torch.tensor([[0.5], [1.25]]), card)
    assert out == [{"value": [0.5]}, {"value": [1.25]}]
