"""A GAN for low-dimensional points (course §44.4.3), e.g. the ``ring`` of Gaussian modes.

Generator and discriminator are small MLPs, so that a GAN's dynamics (mode collapse, a
discriminator that wins) show in seconds on 2-D data where modes can be counted exactly; the
image GAN is :mod:`profond.models.gan`. Two options change the game:

- ``pack``: the discriminator judges ``pack`` samples at once (PacGAN, Lin et al., 2018,
  arXiv:1712.04086): a generator that repeats itself is easier to spot in a pack, which
  counters mode collapse.
- ``saturating``: the generator minimises ``log(1 - D(G(z)))`` (the minimax form) instead of
  ``-log D(G(z))``; the first has almost no gradient when ``D`` wins (Goodfellow et al., 2014).

The losses are in :mod:`profond.train.tasks.point_gan`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.errors import ProfondError
from profond.models.registry import ModelFamily


@dataclass(frozen=True)
class PointGANConfig:
    dim: int = 2  # values per point; set from the data
    latent_dim: int = 2  # size of the noise vector z
    hidden: int = 128  # width of every hidden layer of both networks
    layers: int = 2  # hidden layers of each network
    pack: int = 1  # samples the discriminator judges together (1: a plain GAN)
    d_steps: int = 1  # discriminator updates per generator update
    saturating: bool = False  # the minimax generator loss log(1 - D(G(z)))

    def __post_init__(self) -> None:
        for name in ("dim", "latent_dim", "hidden", "layers", "pack", "d_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"expected a positive integer. Received: {name}={getattr(self, name)}"
                )


def _mlp(
    inputs: int, hidden: int, layers: int, outputs: int, act: Callable[[], nn.Module]
) -> nn.Module:
    parts: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        parts += [nn.Linear(width, hidden), act()]
        width = hidden
    parts.append(nn.Linear(width, outputs))
    return nn.Sequential(*parts)


class PointGAN(nn.Module):
    """A generator ``z → point`` and a discriminator ``pack points → logit``.

    Args:
        config: a :class:`PointGANConfig`.

    Shape:
        - ``forward`` (the discriminator): ``(B, dim)`` with ``B`` divisible by ``pack`` →
          ``(B / pack,)`` logits, positive for "real".
        - ``generator``: ``(B, latent_dim)`` → ``(B, dim)``.
        - ``sample(n)``: ``(n, dim)``.
    """

    def __init__(self, config: PointGANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = _mlp(config.latent_dim, config.hidden, config.layers, config.dim, nn.ReLU)
        self.critic = _mlp(
            config.dim * config.pack, config.hidden, config.layers, 1, lambda: nn.LeakyReLU(0.2)
        )

    def discriminator(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of packs of consecutive points. Shape: ``(B, dim)`` → ``(B // pack,)``."""
        if x.dim() != 2 or x.shape[1] != self.config.dim:
            raise ProfondError(
                f"the discriminator expects points of shape (B, {self.config.dim}); "
                f"got {tuple(x.shape)}"
            )
        usable = (len(x) // self.config.pack) * self.config.pack
        if usable == 0:
            raise ProfondError(f"a batch needs at least pack={self.config.pack} points")
        packs = x[:usable].reshape(usable // self.config.pack, -1)
        return self.critic(packs).squeeze(1)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent vectors from ``N(0, I)``, drawn on the CPU then moved (reproducible)."""
        device = next(self.parameters()).device
        return torch.randn(n, self.config.latent_dim, generator=generator).to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated points. Shape: ``(n, dim)``."""
        if n <= 0:
            raise ProfondError(f"the number of samples must be positive, got {n}")
        return self.generator(self.noise(n, generator))


def _data_fields(bundle: Any) -> dict[str, Any]:
    shape = tuple(bundle.input_shape)
    if len(shape) != 1:
        raise ProfondError(
            f"model 'point_gan' needs points of shape (D,); dataset {bundle.name!r} has samples "
            f"of shape {shape}"
        )
    return {"dim": math.prod(shape)}


FAMILY = ModelFamily(
    name="point_gan",
    config_class=PointGANConfig,
    module_class=PointGAN,
    task="point_gan",
    data_fields=_data_fields,
    default_data="ring",
    data_tasks=("classification",),
    # 2-D GANs train in many small steps; Adam with beta1 0.5 as for DCGAN (set by the task)
    train_defaults={
        "epochs": 40,
        "batch_size": 128,
        "optimizer": "adam",
        "lr": 1e-3,
        "betas": (0.5, 0.999),
    },
)
