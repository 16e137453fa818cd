"""Reconstruction: an autoencoder learns to give back its input (mean squared error).

The labels of the bundle are not used for training; they only colour the latent-space figure.
With a denoising model (``model.config.noise_std > 0``) the loss compares the reconstruction of a
noisy input with the clean image.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from profond.models.wrappers import unwrap
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard

FIGURE_SAMPLES = 10  # images per row of the figures
LATENT_POINTS = 2000  # test images placed in the latent-space figure
SHOWN_NOISE_STD = 0.3  # noise of the denoising figure when the model was not trained with noise
EVAL_NOISE_SEED = 1234  # the noise of the validation loss is the same every epoch


def add_noise(
    x: torch.Tensor, std: float, clamp: bool, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x`` plus Gaussian noise of standard deviation ``std``, kept in [0, 1] when ``clamp``."""
    noise = torch.randn(x.shape, generator=generator).to(x.device) * std
    noisy = x + noise
    return noisy.clamp(0.0, 1.0) if clamp else noisy


class ReconstructionTask(Task):
    """Mean squared error between an image and its reconstruction."""

    name = "reconstruction"
    predict_refusal = (
        "predict does not apply to {family} models (task reconstruction); look at the "
        "run's reconstruction figures or use `profond generate`"
    )
    output_kind = "reconstruction"
    main_metric, main_metric_greater_is_better = "test_mse", False
    monitor = "mse"
    monitor_mode = "min"

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        config: Any = unwrap(model).config
        x_in = x
        if config.noise_std > 0:
            x_in = add_noise(x, config.noise_std, config.output_activation == "sigmoid")
        return F.mse_loss(model(x_in), x)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """``mse``: clean reconstruction error; ``loss``: the training objective (noisy input
        for a denoising model, with a fixed noise seed so epochs compare)."""
        config: Any = unwrap(model).config
        device = next(model.parameters()).device
        generator = torch.Generator().manual_seed(EVAL_NOISE_SEED)
        total_mse = total_loss = 0.0
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size].to(device)
            mse = F.mse_loss(model(xb), xb, reduction="sum").item()
            total_mse += mse
            if config.noise_std > 0:
                noisy = add_noise(
                    xb, config.noise_std, config.output_activation == "sigmoid", generator
                )
                total_loss += F.mse_loss(model(noisy), xb, reduction="sum").item()
            else:
                total_loss += mse
        count = max(x.numel(), 1)
        return {"loss": total_loss / count, "mse": total_mse / count}

    @torch.no_grad()
    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        from profond.train.figures_vision import image_rows, latent_scatter
        from profond.train.plots import training_curves

        inner: Any = unwrap(model)
        device = next(model.parameters()).device
        outdir.mkdir(parents=True, exist_ok=True)
        clamp = inner.config.output_activation == "sigmoid"
        x = data.x_test[:FIGURE_SAMPLES].to(device)
        paths = [
            training_curves(history, outdir / "curves.png"),
            image_rows([x, model(x)], ["original", "reconstruction"], outdir / "reconstructions.png",
                       "test images and their reconstructions"),
        ]  # fmt: skip
        std = inner.config.noise_std or SHOWN_NOISE_STD
        noisy = add_noise(x, std, clamp, torch.Generator().manual_seed(EVAL_NOISE_SEED))
        trained = "trained" if inner.config.noise_std > 0 else "not trained"
        paths.append(
            image_rows([noisy, model(noisy), x], ["noisy", "denoised", "clean"], outdir / "denoising.png",
                       f"noise std {std} (model {trained} to denoise)")
        )  # fmt: skip
        points = data.x_test[:LATENT_POINTS]
        latent = torch.cat(
            [inner.encode(points[i : i + 500].to(device)).cpu() for i in range(0, len(points), 500)]
        ).numpy()
        title = "latent space (test split)"
        if latent.shape[1] > 2:
            from sklearn.decomposition import PCA

            latent = PCA(n_components=2, random_state=0).fit_transform(latent)
            title += f": first 2 principal components of {inner.config.latent_size}"
        labels = (
            data.y_test[:LATENT_POINTS].numpy() if data.y_test.dim() == 1 else np.zeros(len(latent))
        )
        paths.append(latent_scatter(latent, labels, data.classes, outdir / "latent.png", title))
        return paths

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        return reconstruction_predictions(output, card)


def reconstruction_predictions(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
    """One ``{"reconstruction": [...]}`` per input, shaped as the input, in raw units.

    Shape: ``output`` ``(B, *input_shape)`` in the model's (preprocessed) units.
    """
    from profond.data.preprocess import Preprocessing

    prep = Preprocessing.from_dict(card.preprocessing) if card.preprocessing else Preprocessing()
    values = prep.invert(output.detach().double().cpu())
    return [{"reconstruction": row.tolist()} for row in values]
