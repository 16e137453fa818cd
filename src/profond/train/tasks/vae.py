"""Training a VAE (course §44.4.2): maximise the evidence lower bound (ELBO).

For one image ``x``, ``ELBO = E_q[log p(x | z)] - KL(q(z | x) || N(0, I))``, a lower bound of
``log p(x)`` in nats. The first term is estimated with one reparameterized draw of ``z``; the KL
between two Gaussians has a closed form (Kingma & Welling, 2014, arXiv:1312.6114, appendix B):
``KL = -1/2 · Σ (1 + log σ² - μ² - σ²)``. Training minimises ``recon + beta · KL`` per sample.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.train.generate import save_image_grid
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard
    from profond.models.vae import VAE

EVAL_SEED = 0  # validation ELBOs use the same noise every epoch, so curves show learning only


def elbo_terms(
    model: VAE, x: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reconstruction loss ``-log p(x | z)`` and ``KL(q(z | x) || p(z))`` of each sample.

    Args:
        model: a :class:`~profond.models.vae.VAE`.
        x: images; with the Bernoulli likelihood they must lie in [0, 1].
        generator: the noise of the reparameterization (the global one when None).

    Shape:
        ``x``: ``(B, C, H, W)``; returns two ``(B,)`` tensors, in nats.
    """
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, generator)
    logits = model.decode_logits(z)
    if model.config.likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        # A unit-variance Gaussian around the decoded mean: 1/2 (x - x̂)² + 1/2 log 2π per pixel.
        recon = 0.5 * (x - torch.sigmoid(logits)) ** 2 + 0.5 * math.log(2 * math.pi)
    recon = recon.flatten(1).sum(dim=1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
    return recon, kl


class VAETask(Task):
    """Trains a VAE on images; reports the ELBO per sample (higher is better)."""

    name = "vae"
    predict_refusal = (
        "a VAE run makes images rather than predictions: use `profond generate RUN_ID --n 64`"
    )
    output_kind = "reconstruction"
    supports_generate = True
    main_metric, main_metric_greater_is_better = "test_elbo", True
    monitor = "elbo"
    monitor_mode = "max"

    def __init__(self, data: DataBundle) -> None:
        super().__init__(data)
        self._range_checked = False
        if len(data.input_shape) != 3:
            raise ProfondError(
                f"a VAE needs image data of shape (C, H, W); {data.name!r} has samples of shape "
                f"{tuple(data.input_shape)}"
            )

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The beta-weighted negative ELBO, averaged over the batch."""
        if not self._range_checked:  # once, on the CPU copy: no device sync per step
            _check_range(model, self.data.x_train)
            self._range_checked = True
        vae = cast("VAE", model)
        recon, kl = elbo_terms(vae, x)
        return (recon + vae.config.beta * kl).mean()

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """``loss`` (trained objective), ``elbo``, ``recon`` and ``kl``, each per sample."""
        if len(x) == 0:
            return {}
        _check_range(model, x)
        vae = cast("VAE", model)
        device = next(model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(EVAL_SEED)
        recon_sum = kl_sum = 0.0
        for start in range(0, len(x), batch_size):
            recon, kl = elbo_terms(vae, x[start : start + batch_size].to(device), generator)
            recon_sum += recon.sum().item()
            kl_sum += kl.sum().item()
        recon_mean, kl_mean = recon_sum / len(x), kl_sum / len(x)
        return {
            "loss": recon_mean + vae.config.beta * kl_mean,
            "elbo": -(recon_mean + kl_mean),
            "recon": recon_mean,
            "kl": kl_mean,
        }

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        """``vae_samples.png`` (64 draws from the prior) and ``vae_interpolation.png``."""
        was_training = model.training
        model.eval()
        try:
            samples = model.sample(64, torch.Generator().manual_seed(EVAL_SEED))  # type: ignore[operator]
            paths = [save_image_grid(samples, Path(outdir) / "vae_samples.png", nrow=8)]
            source = data.x_test if len(data.x_test) else data.x_val
            if len(source) >= 2:
                rows = interpolate(model, source, pairs=8, steps=10)  # type: ignore[arg-type]
                paths.append(save_image_grid(rows, Path(outdir) / "vae_interpolation.png", nrow=10))
        finally:
            model.train(was_training)
        return paths

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        from profond.train.tasks.reconstruction import reconstruction_predictions

        return reconstruction_predictions(output, card)


@torch.no_grad()
def interpolate(model: VAE, images: torch.Tensor, pairs: int = 8, steps: int = 10) -> torch.Tensor:
    """Walk the latent space in straight lines between the posterior means of image pairs.

    Pair ``i`` joins ``images[2i]`` and ``images[2i + 1]``; a smooth morph shows the latent
    space is continuous, the property the KL term buys (course §44.4.2).

    Shape:
        ``images``: ``(N, C, H, W)``, ``N >= 2``; returns ``(pairs * steps, C, H, W)``, row by row.
    """
    pairs = min(pairs, len(images) // 2)
    device = next(model.parameters()).device
    mu, _ = model.encode(images[: 2 * pairs].to(device))
    start, end = mu[0::2], mu[1::2]  # (pairs, latent_dim) each
    t = torch.linspace(0, 1, steps, device=device).view(1, steps, 1)
    z = start.unsqueeze(1) * (1 - t) + end.unsqueeze(1) * t  # (pairs, steps, latent_dim)
    return model.decode(z.flatten(0, 1))  # (pairs * steps, C, H, W)


def _check_range(model: nn.Module, x: torch.Tensor) -> None:
    """Cross-entropy against pixels outside [0, 1] is meaningless: say so instead of training."""
    if model.config.likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):  # type: ignore[union-attr]
        raise ProfondError(
            f"the VAE's bernoulli likelihood needs pixels in [0, 1], got values in "
            f"[{x.min().item():.3g}, {x.max().item():.3g}]; use normalization=minmax or "
            "--set likelihood=gaussian"
        )
