"""Time-series forecasting: windows of past values in, the next ``horizon`` values out.

The loss is the mean squared error in the scaled units the model sees; the reported errors
(RMSE, MAE) are in the series' own units, so that they read like the data (sunspot counts,
ppm of CO2) and compare directly with the naive baselines:

- persistence: every future value equals the last observed one;
- seasonal naive: every future value equals the value one season earlier.

A model that does not beat them has learned nothing worth its parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from profond.data.preprocess import Preprocessing
from profond.errors import ProfondError
from profond.models.wrappers import unwrap
from profond.train.metrics import regression_metrics
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard


def is_recursive(model: nn.Module) -> bool:
    """Whether ``model`` is trained on one step and rolled forward to forecast further."""
    config = getattr(unwrap(model), "config", None)
    return getattr(config, "strategy", "direct") == "recursive"


@torch.no_grad()
def predict_steps(model: nn.Module, x: torch.Tensor, steps: int, batch_size: int) -> torch.Tensor:
    """Forecasts of ``steps`` values after each window, in scaled units.

    A model whose ``forward`` already gives ``steps`` values is used as is; otherwise its
    ``forecast(x, steps)`` rolls it forward (a one-step model forecasting further ahead).

    Shape: ``(N, T, 1)`` → ``(N, steps)``.
    """
    outputs = []
    device = _device(model)
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size].to(device)
        y_hat = model(batch)
        if y_hat.shape[1] != steps:
            forecast = getattr(unwrap(model), "forecast", None)
            if forecast is None:
                raise ProfondError(
                    f"the model forecasts {y_hat.shape[1]} steps but {steps} were asked for, "
                    "and it cannot roll its forecasts forward"
                )
            y_hat = forecast(batch, steps)
        outputs.append(y_hat.cpu())
    if not outputs:
        return torch.zeros(0, steps)
    return torch.cat(outputs)


def persistence_forecast(series: np.ndarray, first_targets: np.ndarray, horizon: int) -> np.ndarray:
    """Naive forecast: the last observed value, repeated.

    Shape: ``series (T,)``, ``first_targets (N,)`` → ``(N, horizon)``.
    """
    return np.repeat(series[first_targets - 1][:, None], horizon, axis=1)


def seasonal_forecast(
    series: np.ndarray, first_targets: np.ndarray, horizon: int, season: int
) -> np.ndarray:
    """Seasonal naive forecast: each value equals the last observed value of the same season.

    Step ``h`` after an origin looks ``season * (h // season + 1)`` steps back, the latest
    observation that lies both in the past and in the same phase of the season.

    Shape: ``series (T,)``, ``first_targets (N,)`` → ``(N, horizon)``.
    """
    steps = np.arange(horizon)
    lags = season * (steps // season + 1)  # (horizon,)
    index = first_targets[:, None] + steps[None, :] - lags[None, :]  # (N, horizon)
    if (index < 0).any():
        raise ProfondError(
            f"the seasonal baseline needs {season} past values before the first target"
        )
    return series[index]


class ForecastingTask(Task):
    """MSE training on scaled values; RMSE/MAE in original units; naive baselines."""

    name = "forecasting"
    predict_input = "series"
    output_kind = "forecast"
    main_metric, main_metric_greater_is_better = "test_rmse", False
    monitor = "rmse"
    monitor_mode = "min"

    def __init__(self, data: DataBundle) -> None:
        super().__init__(data)
        if data.y_train.dim() != 2:
            raise ProfondError(
                f"forecasting targets must have shape (N, horizon), got {tuple(data.y_train.shape)}"
            )

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y_hat = model(x)  # through the wrapper, so DistributedDataParallel syncs gradients
        if is_recursive(model):
            # A recursive model learns the next value only; its longer forecasts reuse it, and
            # the rolled-out steps add no gradient (their output is not in the loss).
            return F.mse_loss(y_hat[:, :1], y[:, :1])
        return F.mse_loss(y_hat, y)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """``loss`` (scaled MSE), ``rmse`` and ``mae`` (original units) over all steps."""
        if len(x) == 0:
            return {"loss": float("nan"), "rmse": float("nan"), "mae": float("nan")}
        y = y.cpu()
        y_hat = predict_steps(model, x, y.shape[1], batch_size)
        loss = float(F.mse_loss(y_hat, y))
        prep = self.data.preprocessing
        errors = regression_metrics(
            prep.invert(y.double()).numpy(), prep.invert(y_hat.double()).numpy()
        )
        return {"loss": loss, "rmse": errors["rmse"], "mae": errors["mae"]}

    def baselines(self) -> dict[str, float]:
        """Persistence and seasonal-naive errors on the test windows, original units."""
        extra = self.data.extra
        series = np.asarray(extra["series"], dtype=np.float64)
        horizon = self.data.y_test.shape[1]
        first_targets = extra["first_target"]["test"] + np.arange(len(self.data.y_test))
        truth = self.data.preprocessing.invert(self.data.y_test.double()).numpy()
        out: dict[str, float] = {}
        forecasts = {
            "persistence": persistence_forecast(series, first_targets, horizon),
            "seasonal": seasonal_forecast(series, first_targets, horizon, int(extra["season"])),
        }
        for name, forecast in forecasts.items():
            errors = regression_metrics(truth, forecast)
            out[f"baseline_{name}_rmse"] = errors["rmse"]
            out[f"baseline_{name}_mae"] = errors["mae"]
        return out

    def final_metrics(self, model: nn.Module, data: DataBundle) -> dict[str, float]:
        return self.baselines()

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        from profond.train.figures_sequence import forecast_figure
        from profond.train.plots import training_curves

        model.eval()
        horizon = data.y_test.shape[1]
        y_hat = predict_steps(model, data.x_test, horizon, 256)
        outdir = Path(outdir)
        forecast = forecast_figure(
            data, data.preprocessing.invert(y_hat.double()).numpy(), outdir / "forecast_test.png"
        )
        return [training_curves(history, outdir / "training_curves.png"), forecast]

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        """One ``{"forecast": [...], "horizon": H, "unit": ...}`` per window, original units."""
        prep = (
            Preprocessing.from_dict(card.preprocessing) if card.preprocessing else Preprocessing()
        )
        values = prep.invert(output.detach().double().cpu())
        unit = card.extra.get("unit", "")
        return [
            {"forecast": [float(v) for v in row], "horizon": len(row), "unit": unit}
            for row in values.reshape(len(values), -1)
        ]


def _device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
