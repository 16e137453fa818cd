"""What a trainer needs to know about a kind of learning problem.

The :class:`~profond.train.trainer.Trainer` owns the loop (epochs, batches, optimizers,
schedules, clipping, NaN detection, checkpoints, callbacks); a :class:`Task` owns what differs
between problems: the loss of a batch, the validation/test metrics and the figures a person
wants to see. Classification, forecasting, reconstruction, segmentation, VAE and GAN are tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard
    from profond.train.config import TrainConfig


class Task:
    """Base class: subclasses implement :meth:`training_step` and :meth:`evaluate`.

    Attributes:
        name: the task's name, as listed by ``profond data list`` (``"classification"``, ...).
        monitor: the validation metric early stopping and best-weights restore watch
            (a key returned by :meth:`evaluate`, without the ``val_`` prefix).
        monitor_mode: ``"min"`` or ``"max"``.
        manual_optimization: when True the trainer calls :meth:`manual_step` instead of
            doing backward/step itself (GANs: two optimizers).
        output_kind: what a prediction is, as :meth:`format_prediction` writes it: ``"classes"``
            (class, label, probabilities), ``"forecast"`` (values in the series' units),
            ``"mask"`` (a class per pixel), ``"reconstruction"`` (the input remade, raw units)
            or ``"none"`` (the model makes samples, not predictions).
        predict_input: what ``profond predict`` reads for this task (decoded by the
            inference package's ``prepare_input``): ``"rows_or_image"`` (an image file,
            a ``.npy``/``.csv`` file of raw rows, or a text for text models), ``"series"`` (the
            last values of a series), ``"npy"`` (a ``.npy`` array of inputs) or ``"none"``.
        predict_refusal: when not empty, the error ``profond predict`` gives instead
            (``{family}`` and ``{task}`` are filled from the model card).
        image_invert: how an image given to ``predict`` is inverted to match the training
            data: ``"auto"`` (decided from its background) or ``"no"``.
        supports_drift: the server's drift monitor applies (a reference is built at training).
        supports_onnx: the model can be exported to ONNX and served by onnxruntime.
        supports_gradcam: predictions can be explained (Grad-CAM or saliency).
        supports_generate: ``profond generate`` draws samples from the model.
        bf16_validation: with ``precision`` bf16, validation passes run under the same
            bfloat16 autocast as training (the test evaluation stays in float32).
        main_metric: the logged metric that says how good a trained model is (a key of the
            test or final metrics, e.g. ``"test_accuracy"``); runs are compared on it.
        main_metric_greater_is_better: True when a larger ``main_metric`` is better.
    """

    name = "task"
    main_metric = "test_loss"
    main_metric_greater_is_better = False
    monitor = "loss"
    monitor_mode = "min"
    manual_optimization = False
    output_kind = "none"
    predict_input = "none"
    predict_refusal = ""
    image_invert = "auto"
    supports_drift = False
    supports_onnx = True
    supports_gradcam = False
    supports_generate = False
    bf16_validation = False

    def __init__(self, data: DataBundle) -> None:
        self.data = data

    def setup(self, config: TrainConfig, device: torch.device) -> None:
        """Called once by the trainer before the first epoch (e.g. to place class weights)."""

    def configure_optimizers(
        self, model: nn.Module, config: TrainConfig
    ) -> list[torch.optim.Optimizer]:
        """One optimizer over all parameters, as ``config`` says. GANs return two."""
        from profond.train.optim import build_optimizer

        return [build_optimizer(model.parameters(), config)]

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the scalar loss of one batch (the trainer does backward and step)."""
        raise NotImplementedError

    def manual_step(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
    ) -> torch.Tensor:
        """Do backward and step(s) yourself; return the (detached) loss to report."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """Metrics on a whole split, e.g. ``{"loss": 0.31, "accuracy": 0.89}`` (no prefix).

        The trainer calls it with the validation split each epoch (and prefixes ``val_``) and
        with the test split at the end (prefix ``test_``). ``model`` is in eval mode.
        """
        raise NotImplementedError

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        """Write this task's PNG figures into ``outdir``; return their paths."""
        return []

    def final_metrics(self, model: nn.Module, data: DataBundle) -> dict[str, float]:
        """Extra final metrics logged without prefix (baselines, a GAN's quality score, ...)."""
        return {}

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        """Turn the model's output batch into one JSON-ready dict per sample."""
        raise NotImplementedError

    def epoch_figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, epoch: int
    ) -> list[Path]:
        """Figures written after every epoch (e.g. a GAN's samples grid); default none."""
        return []
