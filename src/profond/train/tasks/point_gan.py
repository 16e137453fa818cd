"""Training a GAN on points: the discriminator and the generator take turns, as for images.

Each batch updates ``D`` ``d_steps`` times on real points (target 1) against generated ones
(target 0), then ``G`` once, with the non-saturating ``-log D(G(z))`` or, if the model's config
says ``saturating``, the minimax ``log(1 - D(G(z)))``. Adam with ``beta1 = 0.5`` as DCGAN.

On the ``ring`` data each evaluation also counts the modes the generator covers
(:func:`profond.data.mixture.mode_coverage`): losses alone do not say whether a GAN is good.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.models.wrappers import unwrap
from profond.train.optim import build_optimizer
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.point_gan import PointGAN
    from profond.models.saved import ModelCard
    from profond.train.config import TrainConfig

EVAL_SEED = 0  # the same noise at every evaluation, so that epochs compare


def d_loss(gan: PointGAN, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``D``: real packs → 1, generated packs → 0."""
    real_logits, fake_logits = gan.discriminator(real), gan.discriminator(fake)
    return F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def g_loss(gan: PointGAN, fake: torch.Tensor, saturating: bool) -> torch.Tensor:
    """``-log D(G(z))`` (non-saturating) or ``log(1 - D(G(z)))`` (saturating, minimax)."""
    logits = gan.discriminator(fake)
    if saturating:
        return -F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


class PointGANTask(Task):
    """Trains a :class:`~profond.models.point_gan.PointGAN` on ``(N, D)`` points."""

    name = "point_gan"
    predict_refusal = "a GAN run makes points rather than predictions"
    main_metric, main_metric_greater_is_better = "test_modes", True
    supports_onnx = False
    monitor = "loss"
    monitor_mode = "min"
    manual_optimization = True

    def __init__(self, data: DataBundle) -> None:
        super().__init__(data)
        if len(data.input_shape) != 1:
            raise ProfondError(
                f"a point GAN needs points of shape (D,); {data.name!r} has samples of shape "
                f"{tuple(data.input_shape)}"
            )
        self.ring = None
        if "modes" in data.extra:
            from profond.data.mixture import Ring

            extra = data.extra
            self.ring = Ring(modes=extra["modes"], radius=extra["radius"], std=extra["std"])
            self.monitor, self.monitor_mode = "modes", "max"

    def configure_optimizers(
        self, model: nn.Module, config: TrainConfig
    ) -> list[torch.optim.Optimizer]:
        """``[opt_g, opt_d]``: Adam(``config.lr``, betas (0.5, 0.999)) for each network."""
        gan = _unwrap(model)
        return [build_optimizer(net.parameters(), config) for net in (gan.generator, gan.critic)]

    def manual_step(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
    ) -> torch.Tensor:
        """``d_steps`` discriminator updates, then one generator update; the G loss."""
        gan = _unwrap(model)
        opt_g, opt_d = optimizers
        for _ in range(gan.config.d_steps):
            fake = gan.generator(gan.noise(len(x)))
            loss_d = d_loss(gan, x, fake.detach())  # detach: this step must not move G
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        gan.critic.requires_grad_(False)  # D is frozen while G learns
        try:
            loss_g = g_loss(gan, gan.generator(gan.noise(len(x))), gan.config.saturating)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        finally:
            gan.critic.requires_grad_(True)
        return loss_g.detach()

    @torch.no_grad()
    def samples(self, model: nn.Module, n: int) -> torch.Tensor:
        """``n`` generated points in the data's raw units (preprocessing inverted)."""
        gan = _unwrap(model)
        points = gan.sample(n, torch.Generator().manual_seed(EVAL_SEED)).cpu()
        return self.data.preprocessing.invert(points)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """Losses, mean ``D`` on real and generated points and, on a ring, modes covered."""
        if len(x) == 0:
            return {}
        gan = _unwrap(model)
        device = next(gan.parameters()).device
        real = x.to(device)
        fake = gan.sample(len(x), torch.Generator().manual_seed(EVAL_SEED))
        metrics = {
            "loss": float(g_loss(gan, fake, saturating=False)),
            "d_loss": float(d_loss(gan, real, fake)),
            "d_real": float(torch.sigmoid(gan.discriminator(real)).mean()),
            "d_fake": float(torch.sigmoid(gan.discriminator(fake)).mean()),
        }
        if self.ring is not None:
            from profond.data.mixture import mode_coverage

            coverage = mode_coverage(self.samples(model, len(x)).numpy(), self.ring)
            metrics["modes"] = float(coverage.covered)
            metrics["high_quality"] = coverage.high_quality
        return metrics

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        """``point_gan_samples.png``: generated points over the real test points."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from profond.train.plots import save_figure

        real = data.preprocessing.invert(data.x_test).numpy()
        fake = self.samples(model, len(real)).numpy()
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.3, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.5, label="generated")
        ax.set_aspect("equal")
        ax.legend()
        return [save_figure(fig, Path(outdir) / "point_gan_samples.png")]

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        raise ProfondError("a GAN run makes points rather than predictions")


def _unwrap(model: nn.Module) -> PointGAN:
    return cast("PointGAN", unwrap(model))
