"""The forecasting task: metrics in original units, baselines, predict input/output, training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.inference.inputs import prepare_input
from profond.models import build_model, get_family, make_config
from profond.models.saved import ModelCard
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.tasks.forecasting import (
    ForecastingTask,
    persistence_forecast,
    predict_steps,
    seasonal_forecast,
)
from profond.train.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    # Small recurrent nets run fastest on one thread; more only adds contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Persistence(nn.Module):
    """Forecasts the last value of the window for every step (scaled units)."""

    def __init__(self, horizon: int) -> None:
        super().__init__()
        self.horizon = horizon
        self.unused = nn.Parameter(torch.zeros(()))  # gives the module a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1, :].repeat(1, self.horizon)


def test_naive_forecasts_follow_their_definitions() -> None:
    series = np.arange(40, dtype=np.float64) ** 2
    first = np.array([20, 25])
    np.testing.assert_array_equal(persistence_forecast(series, first, 3), [[361] * 3, [576] * 3])
    seasonal = seasonal_forecast(series, first, horizon=6, season=4)
    # Step h looks back 4 steps, or 8 once h reaches the season: always into the past.
    np.testing.assert_array_equal(seasonal[0], series[[16, 17, 18, 19, 16, 17]])
    with pytest.raises(ProfondError, match="seasonal baseline"):
        seasonal_forecast(series, np.array([2]), horizon=1, season=4)


@pytest.mark.parametrize("horizon", [1, 3])
def test_evaluate_reports_original_units_and_matches_the_persistence_baseline(horizon) -> None:
    data = load_dataset("sunspots", DataOptions(window=12, horizon=horizon))
    task = ForecastingTask(data)
    metrics = task.evaluate(Persistence(horizon).eval(), data.x_test, data.y_test, batch_size=16)
    baselines = task.final_metrics(Persistence(horizon), data)
    assert set(metrics) == {"loss", "rmse", "mae"}
    assert metrics["rmse"] == pytest.approx(baselines["baseline_persistence_rmse"], rel=1e-5)
    assert metrics["mae"] == pytest.approx(baselines["baseline_persistence_mae"], rel=1e-5)
    # The loss is in scaled units, the errors in sunspot counts: they differ by the scale².
    assert metrics["loss"] == pytest.approx(
        metrics["rmse"] ** 2 / data.preprocessing.std**2, rel=1e-4
    )
    assert set(baselines) == {
        "baseline_persistence_rmse", "baseline_persistence_mae",
        "baseline_seasonal_rmse", "baseline_seasonal_mae",
    }  # fmt: skip
    assert baselines["baseline_seasonal_rmse"] > 0


def test_recursive_model_trains_on_one_step_and_is_evaluated_over_the_horizon() -> None:
    data = load_dataset("sunspots", DataOptions(window=12, horizon=4))
    task = task_class("forecasting")(data)
    family = get_family("gru")
    config = make_config(
        family,
        family.data_fields(data),
        {"strategy": "recursive", "hidden_size": "8", "num_layers": "1"},
    )
    model = build_model("gru", config)
    assert model.head.out_features == 1
    loss = task.training_step(model, data.x_train[:8], data.y_train[:8])
    loss.backward()
    with torch.no_grad():
        one_step = model.eval().one_step(data.x_train[:8])
    manual = nn.functional.mse_loss(one_step, data.y_train[:8, :1])
    assert float(loss.detach()) == pytest.approx(float(manual), rel=1e-5)
    assert predict_steps(model, data.x_test, 4, batch_size=16).shape == (len(data.x_test), 4)
    assert np.isfinite(task.evaluate(model, data.x_val, data.y_val, 16)["rmse"])


def _card(data, family_name: str, model: nn.Module) -> ModelCard:
    return ModelCard(
        family=family_name,
        task="forecasting",
        data=data.name,
        config=dataclasses.asdict(model.config),
        input_shape=list(data.input_shape),
        preprocessing=data.preprocessing.to_dict(),
        extra={"unit": data.extra["unit"]},
    )


def test_predict_reads_csv_and_npy_windows_and_answers_in_original_units(tmp_path) -> None:
    data = load_dataset("co2", DataOptions(window=6, horizon=2))
    card = _card(data, "lstm", build_model("lstm", get_family("lstm").config_class(horizon=2)))
    raw = np.asarray(data.extra["series"])[-6:]
    (tmp_path / "last.csv").write_text("\n".join(f"{v:.4f}" for v in raw))
    np.save(tmp_path / "last.npy", np.stack([raw, raw + 1.0]))
    x_csv = prepare_input(ForecastingTask, str(tmp_path / "last.csv"), card)
    x_npy = prepare_input(ForecastingTask, str(tmp_path / "last.npy"), card)
    assert x_csv.shape == (1, 6, 1) and x_npy.shape == (2, 6, 1)
    torch.testing.assert_close(x_csv[0], x_npy[0], atol=1e-4, rtol=0)
    torch.testing.assert_close(x_csv[0], data.preprocessing.apply(torch.tensor(raw)).unsqueeze(-1))
    # Given scaled outputs, the answer is back in ppm.
    answer = ForecastingTask.format_prediction(x_npy[:, -2:, 0], card)
    assert answer[1]["horizon"] == 2 and answer[1]["unit"] == "CO2 (ppm)"
    np.testing.assert_allclose(answer[1]["forecast"], raw[-2:] + 1.0, rtol=1e-5)


def test_predict_rejects_wrong_shapes_and_files(tmp_path) -> None:
    data = load_dataset("sunspots", DataOptions(window=6))
    card = _card(data, "rnn", build_model("rnn", get_family("rnn").config_class()))
    np.save(tmp_path / "short.npy", np.arange(5.0))
    with pytest.raises(
        ProfondError, match=r"last 6 values.*shape \(6,\) or \(B, 6\); got shape \(1, 5\)"
    ):
        prepare_input(ForecastingTask, str(tmp_path / "short.npy"), card)
    (tmp_path / "nan.csv").write_text("1,2,3,nan,5,6")
    with pytest.raises(ProfondError, match="NaN"):
        prepare_input(ForecastingTask, str(tmp_path / "nan.csv"), card)
    (tmp_path / "words.csv").write_text("a,b,c")
    with pytest.raises(ProfondError, match="cannot read numbers"):
        prepare_input(ForecastingTask, str(tmp_path / "words.csv"), card)
    with pytest.raises(ProfondError, match=r"\.csv or \.npy"):
        prepare_input(ForecastingTask, str(tmp_path / "missing.json"), card)


def test_lstm_beats_persistence_one_step_on_sunspots_through_the_trainer(tmp_path) -> None:
    data = load_dataset("sunspots", DataOptions(window=24, horizon=1))
    family = get_family("lstm")
    config = make_config(family, family.data_fields(data), {"hidden_size": "32", "num_layers": "1"})
    model = build_model("lstm", config)
    train_config = TrainConfig(epochs=60, batch_size=32, lr=3e-3, seed=0, device="cpu", patience=15)
    result = Trainer(train_config, figures_dir=tmp_path).fit(model, ForecastingTask(data), data)
    rmse = result.test_metrics["test_rmse"]
    persistence = result.final_metrics["baseline_persistence_rmse"]
    assert rmse < 0.8 * persistence, (rmse, persistence)
    assert result.history["val_rmse"][0] > min(result.history["val_rmse"])  # it learned
    figure = tmp_path / "forecast_test.png"
    assert figure in result.figures and figure.read_bytes()[:4] == b"\x89PNG"
