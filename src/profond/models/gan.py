"""The generative adversarial network (course §44.4.3), in the DCGAN form.

A generator ``G`` turns noise ``z`` into images; a discriminator ``D`` scores images as real or
generated. The architecture follows DCGAN (Radford et al., 2016, arXiv:1511.06434): strided
(transposed) convolutions instead of pooling, batch normalization in both networks except the
generator's output and the discriminator's input, ReLU in ``G``, LeakyReLU(0.2) in ``D``, weights
drawn from ``N(0, 0.02)``. The two-player losses live in :mod:`profond.train.tasks.gan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from profond.errors import ProfondError
from profond.models.registry import ModelFamily
from profond.models.vae import check_image_geometry, check_images, image_fields


@dataclass(frozen=True)
class GANConfig:
    in_channels: int = 1  # image channels; set from the data
    height: int = 28  # image height; set from the data
    width: int = 28  # image width; set from the data
    latent_dim: int = 64  # size of the noise vector z
    hidden_channels: tuple[int, ...] = (64, 128)  # D's convolutions, mirrored by G's
    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - label_smoothing

    def __post_init__(self) -> None:
        check_image_geometry(self)
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(
                f"expected 0 <= label_smoothing < 0.5. Received: label_smoothing={self.label_smoothing}"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.height, self.width)

    @property
    def bottom_shape(self) -> tuple[int, int, int]:
        """The smallest feature map, shared by both networks: ``(C_last, H/s, W/s)``."""
        stride = 2 ** len(self.hidden_channels)
        return (self.hidden_channels[-1], self.height // stride, self.width // stride)


class Generator(nn.Module):
    """Noise to image.

    Shape:
        - Input: ``(B, latent_dim)``.
        - Output: ``(B, C, H, W)`` in [0, 1] (a sigmoid, matching data scaled to [0, 1];
          DCGAN's tanh matches data in [-1, 1]).
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        bottom = config.bottom_shape
        # DCGAN's first layer: a projection of z reshaped to the smallest feature map.
        self.project = nn.Sequential(
            nn.Linear(config.latent_dim, math.prod(bottom), bias=False),
            nn.Unflatten(1, bottom),
            nn.BatchNorm2d(bottom[0]),
            nn.ReLU(),
        )
        channels = (*config.hidden_channels[::-1], config.in_channels)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-2], channels[1:-1], strict=True):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
        layers += [
            nn.ConvTranspose2d(channels[-2], channels[-1], 4, stride=2, padding=1),
            nn.Sigmoid(),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ProfondError(
                f"the generator expects noise of shape (B, {self.config.latent_dim}); got {tuple(z.shape)}"
            )
        return self.body(self.project(z))  # (B, C, H, W)


class Discriminator(nn.Module):
    """Image to one logit: positive means "real".

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B,)`` logits.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        channels = (config.in_channels, *config.hidden_channels)
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:  # DCGAN: no batch norm on the discriminator's input layer
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(math.prod(config.bottom_shape), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.config.image_shape, "the discriminator")
        return self.head(self.body(x)).squeeze(1)


class GAN(nn.Module):
    """A generator and a discriminator trained against each other.

    ``forward`` scores images with the discriminator, so that code handling any model
    (signatures, export) can feed it data-shaped inputs; images are made with :meth:`sample`.

    Args:
        config: a :class:`GANConfig`.

    Shape:
        - Input of ``forward``: ``(B, C, H, W)``; output ``(B,)`` real-vs-generated logits.
        - ``sample(n)``: ``(n, C, H, W)`` in [0, 1].
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # DCGAN §4: all weights from N(0, 0.02); batch-norm scales from N(1, 0.02).
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent vectors from ``N(0, I)`` on the model's device.

        Drawn on the generator's device (the CPU by default) then moved, so that a seed gives
        the same noise on every device. Shape: ``(n, latent_dim)``.
        """
        device = next(self.parameters()).device
        return torch.randn(n, self.config.latent_dim, generator=generator).to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate ``n`` images (call ``eval()`` first for batch-norm running statistics).

        Shape: returns ``(n, C, H, W)`` in [0, 1].
        """
        if n <= 0:
            raise ProfondError(f"the number of samples must be positive, got {n}")
        return self.generator(self.noise(n, generator))


FAMILY = ModelFamily(
    name="gan",
    config_class=GANConfig,
    module_class=GAN,
    task="gan",
    data_fields=lambda bundle: image_fields(bundle, "gan"),
    default_data="fashion-mnist",
    data_tasks=("classification",),
    # DCGAN §4 (Radford et al., 2016): Adam with lr 2e-4 and beta1 = 0.5, as 0.9 made training
    # oscillate. A user's --lr or --optimizer replaces these.
    train_defaults={"optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999)},
)
