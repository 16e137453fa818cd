"""The dilated causal CNN: causality, receptive field, shapes, errors, training from the table."""

from __future__ import annotations

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.models import build_model, get_family, make_config
from profond.models.tcn import TCNConfig, TCNForecaster
from profond.train.config import TrainConfig
from profond.train.tasks.forecasting import ForecastingTask
from profond.train.trainer import Trainer


def test_output_depends_on_the_past_only_and_within_the_receptive_field() -> None:
    torch.manual_seed(0)
    config = TCNConfig(
        input_size=1, horizon=1, channels=8, num_blocks=3, kernel_size=2, dropout=0.0
    )
    assert config.receptive_field == 1 + 2 * 1 * (1 + 2 + 4)  # 15 steps
    model = TCNForecaster(config).eval()
    x = torch.randn(1, 40, 1, requires_grad=True)
    model.sequence_features(x)[0, 20].sum().backward()  # features at step 20
    reached = (x.grad[0, :, 0] != 0).nonzero().flatten()
    assert reached.max() == 20  # nothing after step 20 (causal)
    assert reached.min() == 20 - config.receptive_field + 1  # and exactly the receptive field


def test_shapes_residual_and_bad_input() -> None:
    model = TCNForecaster(TCNConfig(input_size=2, horizon=3, residual=False)).eval()
    assert model(torch.randn(4, 17, 2)).shape == (4, 3)
    assert model(torch.randn(2, 1, 2)).shape == (2, 3)  # one step is enough
    with pytest.raises(ValueError, match=r"\(B, T, 2\)"):
        model(torch.randn(4, 17, 1))
    with pytest.raises(ValueError, match="kernel_size >= 2"):
        TCNConfig(kernel_size=1)
    with pytest.raises(ValueError, match="dropout"):
        TCNConfig(dropout=1.0)


def test_family_trains_on_sunspots_and_beats_its_start() -> None:
    torch.set_num_threads(1)
    data = load_dataset("sunspots", DataOptions(window=24))
    family = get_family("tcn")
    config = make_config(family, family.data_fields(data), {"channels": 16, "num_blocks": 3})
    torch.manual_seed(0)
    model = build_model("tcn", config)
    task = ForecastingTask(data)
    before = task.evaluate(model.eval(), data.x_val, data.y_val, 64)["rmse"]
    result = Trainer(TrainConfig(epochs=15, batch_size=32, lr=3e-3, device="cpu")).fit(
        model, task, data
    )
    assert result.history["val_rmse"][-1] < before
    assert (
        result.test_metrics["test_rmse"] < 1.5 * result.final_metrics["baseline_persistence_rmse"]
    )
