"""Training a GAN (course §44.4.3): the discriminator and the generator take turns.

Each batch first updates ``D`` to tell real images (target 1, or ``1 - label_smoothing``) from
generated ones (target 0), then updates ``G`` with the non-saturating loss ``-log D(G(z))``
rather than the minimax ``log(1 - D(G(z)))``: both push ``D(G(z))`` towards 1, but the minimax
form has almost no gradient exactly when ``D`` wins early on (Goodfellow et al., 2014, §3).
One-sided label smoothing keeps ``D`` from growing over-confident on real images (Salimans et
al., 2016, arXiv:1606.03498, §3.4).

Losses of a GAN do not say whether its images are good, so each evaluation also scores the
images with :mod:`profond.train.gan_quality` (``fid``, the monitored metric).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.models.wrappers import eval_mode, unwrap
from profond.train.gan_quality import QualityConfig, QualityScorer, quality_classifier
from profond.train.generate import save_image_grid
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.gan import GAN
    from profond.models.saved import ModelCard
    from profond.train.config import TrainConfig

EVAL_SEED = 0  # evaluations and figures use the same noise every epoch: progress is comparable


class GANTask(Task):
    """Trains a :class:`~profond.models.gan.GAN`; scores its images with a trained classifier.

    Args:
        data: an image bundle with labels (the labels train the scoring classifier only).
        quality: how that classifier is trained and how many images are compared.
    """

    name = "gan"
    predict_refusal = (
        "a GAN run makes images rather than predictions: use `profond generate RUN_ID --n 64`"
    )
    output_kind = "none"
    supports_onnx = False
    supports_generate = True
    main_metric, main_metric_greater_is_better = "gan_fid", False
    monitor = "fid"
    monitor_mode = "min"
    manual_optimization = True

    def __init__(self, data: DataBundle, quality: QualityConfig | None = None) -> None:
        super().__init__(data)
        if len(data.input_shape) != 3:
            raise ProfondError(
                f"a GAN needs image data of shape (C, H, W); {data.name!r} has samples of shape "
                f"{tuple(data.input_shape)}"
            )
        self.quality = quality or QualityConfig()
        self.scores_quality = data.num_classes >= 2
        if not self.scores_quality:  # no labels, no classifier: fall back to the generator's loss
            self.monitor = "g_loss"
        self._classifier: nn.Module | None = None
        self._scorers: dict[tuple[int, tuple[int, ...]], QualityScorer] = {}

    def configure_optimizers(
        self, model: nn.Module, config: TrainConfig
    ) -> list[torch.optim.Optimizer]:
        """``[opt_g, opt_d]``, both as ``config`` says (the GAN family's ``train_defaults`` give
        DCGAN's Adam with lr 2e-4 and betas (0.5, 0.999); a user's values replace them)."""
        from profond.train.optim import build_optimizer

        gan = _unwrap(model)
        return [
            build_optimizer(net.parameters(), config) for net in (gan.generator, gan.discriminator)
        ]

    def manual_step(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: list[torch.optim.Optimizer],
    ) -> torch.Tensor:
        """One discriminator update then one generator update; returns the generator's loss."""
        gan = _unwrap(model)
        opt_g, opt_d = optimizers
        z = torch.randn(len(x), gan.config.latent_dim, device=x.device)
        fake = gan.generator(z)

        d_loss = self._d_loss(gan, x, fake.detach())  # detach: this step must not move G
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        # D is frozen while G learns: its weights need no gradients for this update.
        gan.discriminator.requires_grad_(False)
        try:
            g_loss = _g_loss(gan, fake)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        finally:
            gan.discriminator.requires_grad_(True)
        return g_loss.detach()

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """``loss`` (= ``g_loss``), ``d_loss``, ``g_loss`` and, with labelled data, ``fid``,
        ``class_coverage`` and ``confidence`` of as many generated images as ``x`` holds."""
        if len(x) == 0:
            return {}
        gan = _unwrap(model)
        device = next(gan.parameters()).device
        generator = torch.Generator().manual_seed(EVAL_SEED)
        d_sum = g_sum = 0.0
        generated = []
        with eval_mode(gan):
            for start in range(0, len(x), batch_size):
                real = x[start : start + batch_size].to(device)
                fake = gan.generator(gan.noise(len(real), generator))
                d_sum += self._d_loss(gan, real, fake).item() * len(real)
                g_sum += _g_loss(gan, fake).item() * len(real)
                generated.append(fake.cpu())
        metrics = {"loss": g_sum / len(x), "d_loss": d_sum / len(x), "g_loss": g_sum / len(x)}
        if self.scores_quality:
            images = torch.cat(generated)[: self.quality.max_samples]
            metrics.update(self._scorer(x).score(images))
        return metrics

    def final_metrics(self, model: nn.Module, data: DataBundle) -> dict[str, float]:
        """``gan_fid``, ``gan_class_coverage``, ``gan_confidence`` on the test split, and the
        scale: ``gan_fid_real_vs_real`` (two halves of it) and ``gan_fid_noise_vs_real``."""
        reference = data.x_test if len(data.x_test) else data.x_val
        if not self.scores_quality or len(reference) < 4:
            return {}
        scorer = self._scorer(reference)
        gan = _unwrap(model)
        generator = torch.Generator().manual_seed(EVAL_SEED)
        with eval_mode(gan), torch.no_grad():
            images = torch.cat(
                [
                    gan.sample(min(1000, len(scorer.reference) - start), generator).cpu()
                    for start in range(0, len(scorer.reference), 1000)
                ]
            )
        score = scorer.score(images)
        scale = scorer.scale(seed=EVAL_SEED)
        return {
            "gan_fid": score["fid"],
            "gan_class_coverage": score["class_coverage"],
            "gan_confidence": score["confidence"],
            "gan_fid_real_vs_real": scale["real_vs_real"],
            "gan_fid_noise_vs_real": scale["noise_vs_real"],
        }

    def epoch_figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, epoch: int
    ) -> list[Path]:
        """``gan_samples_epoch<NNN>.png``: the same 64 latent points after every epoch."""
        return [self._samples(model, Path(outdir) / f"gan_samples_epoch{epoch:03d}.png")]

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        """``gan_samples.png``: 64 images of the final generator."""
        return [self._samples(model, Path(outdir) / "gan_samples.png")]

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        raise ProfondError(
            "a GAN run makes images rather than predictions: use `profond generate RUN_ID --n 64`"
        )

    def _d_loss(self, gan: GAN, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of D on real (target ``1 - label_smoothing``) and fake (0)."""
        real_logits = gan.discriminator(real)
        fake_logits = gan.discriminator(fake)
        real_target = torch.full_like(real_logits, 1.0 - gan.config.label_smoothing)
        return F.binary_cross_entropy_with_logits(
            real_logits, real_target
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    def _scorer(self, reference: torch.Tensor) -> QualityScorer:
        """A scorer per reference split; the classifier is trained (or loaded) on first use."""
        key = (reference.data_ptr(), tuple(reference.shape))
        if key not in self._scorers:
            if self._classifier is None:
                self._classifier = quality_classifier(self.data, self.quality)
            self._scorers[key] = QualityScorer(
                self._classifier, reference, self.quality.max_samples
            )
        return self._scorers[key]

    def _samples(self, model: nn.Module, path: Path) -> Path:
        gan = _unwrap(model)
        with eval_mode(gan):
            images = gan.sample(64, torch.Generator().manual_seed(EVAL_SEED))
        return save_image_grid(images, path, nrow=8)


def _g_loss(gan: GAN, fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``-log D(G(z))``, i.e. BCE with target 1."""
    logits = gan.discriminator(fake)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _unwrap(model: nn.Module) -> GAN:
    """The GAN inside a DistributedDataParallel or torch.compile wrapper."""
    return cast("GAN", unwrap(model))
