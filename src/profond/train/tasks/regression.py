"""Regression: real-valued targets ``(N, k)``, mean squared error, and a constant baseline.

The adding problem (:mod:`profond.data.adding`) is its data. The reported ``mse`` is set next to
``baseline_constant_mse``, the error of predicting the training targets' mean for every input:
a model that does not beat it has not used its input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.train.metrics import regression_metrics
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard


class RegressionTask(Task):
    """MSE training; ``loss`` (= MSE), ``rmse``, ``mae`` on a split; a constant baseline."""

    name = "regression"
    predict_input = "npy"
    main_metric, main_metric_greater_is_better = "test_rmse", False
    monitor = "loss"
    monitor_mode = "min"

    def __init__(self, data: DataBundle) -> None:
        super().__init__(data)
        if data.y_train.dim() != 2 or not data.y_train.is_floating_point():
            raise ProfondError(
                "regression targets must be float values of shape (N, k); got "
                f"{data.y_train.dtype} of shape {tuple(data.y_train.shape)}"
            )

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(model(x), y)

    @torch.no_grad()
    def predict(self, model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Shape: ``(N, *input_shape)`` → ``(N, k)`` on the CPU."""
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        step = max(batch_size, 512)  # no gradients: larger batches are faster
        out = [model(x[i : i + step].to(device)).cpu() for i in range(0, len(x), step)]
        return torch.cat(out) if out else torch.zeros(0, self.data.y_train.shape[1])

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        if len(x) == 0:
            return {"loss": float("nan"), "rmse": float("nan"), "mae": float("nan")}
        errors = regression_metrics(y.cpu().numpy(), self.predict(model, x, batch_size).numpy())
        return {"loss": errors["mse"], "rmse": errors["rmse"], "mae": errors["mae"]}

    def final_metrics(self, model: nn.Module, data: DataBundle) -> dict[str, float]:
        """``baseline_constant_mse``: the test MSE of predicting the training mean."""
        mean = data.y_train.mean(dim=0, keepdim=True).numpy()  # (1, k)
        truth = data.y_test.numpy()
        return {"baseline_constant_mse": float(((truth - mean) ** 2).mean())}

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        from profond.train.plots import training_curves

        return [training_curves(history, Path(outdir) / "training_curves.png")]

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        values = output.detach().double().cpu().reshape(len(output), -1)
        return [{"value": [float(v) for v in row]} for row in values]
