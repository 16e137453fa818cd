"""The variational autoencoder (course §44.4.2): an encoder to a Gaussian, a decoder back.

The encoder maps an image ``x`` to the mean ``mu`` and log-variance ``logvar`` of
``q(z | x) = N(mu, sigma² I)``; a latent point is drawn with the reparameterization trick
``z = mu + sigma * eps`` so that gradients reach the encoder; the decoder maps ``z`` to the
parameters of ``p(x | z)``. The loss (negative ELBO) lives in :mod:`profond.train.tasks.vae`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.errors import ProfondError
from profond.models.registry import ModelFamily

LIKELIHOODS = ("bernoulli", "gaussian")


def check_image_geometry(config: Any) -> None:
    """Validate what the VAE and GAN configs share: image size, latent size, conv widths.

    Each entry of ``config.hidden_channels`` halves the image, so H and W must divide by
    ``2 ** len(hidden_channels)``.
    """
    if min(config.in_channels, config.height, config.width, config.latent_dim) <= 0:
        raise ValueError(
            "expected positive in_channels, height, width and latent_dim. Received: "
            f"in_channels={config.in_channels}, height={config.height}, width={config.width}, "
            f"latent_dim={config.latent_dim}"
        )
    if not config.hidden_channels or any(c <= 0 for c in config.hidden_channels):
        raise ValueError(
            f"expected one or more positive hidden channels. Received: hidden_channels={config.hidden_channels}"
        )
    stride = 2 ** len(config.hidden_channels)
    if config.height % stride or config.width % stride:
        raise ValueError(
            f"expected height and width divisible by {stride} (one halving per hidden "
            f"channel). Received: height={config.height}, width={config.width}, "
            f"hidden_channels={config.hidden_channels}"
        )


@dataclass(frozen=True)
class VAEConfig:
    in_channels: int = 1  # image channels; set from the data
    height: int = 28  # image height; set from the data
    width: int = 28  # image width; set from the data
    latent_dim: int = 16  # size of z: small enough to organise, large enough to reconstruct
    hidden_channels: tuple[int, ...] = (32, 64)  # one stride-2 convolution per entry
    beta: float = 1.0  # weight of the KL term (1 = the ELBO; > 1 = beta-VAE, smoother latents)
    likelihood: str = "bernoulli"  # bernoulli (pixels in [0, 1], cross-entropy) | gaussian (MSE)

    def __post_init__(self) -> None:
        check_image_geometry(self)
        if self.beta < 0 or not math.isfinite(self.beta):
            raise ValueError(f"expected a finite beta >= 0. Received: beta={self.beta}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(
                f"expected likelihood in {', '.join(LIKELIHOODS)}. Received: likelihood={self.likelihood!r}"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.height, self.width)


def check_images(x: torch.Tensor, image_shape: tuple[int, ...], what: str) -> None:
    """Raise a :class:`ProfondError` naming the expected shape unless ``x`` is ``(B, C, H, W)``."""
    if x.dim() != 4 or tuple(x.shape[1:]) != tuple(image_shape):
        expected = ", ".join(str(s) for s in image_shape)
        raise ProfondError(f"{what} expects images of shape (B, {expected}); got {tuple(x.shape)}")


class VAE(nn.Module):
    """Convolutional VAE.

    Each hidden channel count adds a ``Conv2d(k=4, s=2, p=1)`` halving the image in the encoder
    and a mirrored ``ConvTranspose2d`` doubling it in the decoder.

    Args:
        config: a :class:`VAEConfig`.

    Shape:
        - Input: ``(B, C, H, W)`` images in [0, 1].
        - Output of ``forward``: ``(B, C, H, W)`` the mean reconstruction in [0, 1].
        - ``encode``: ``(B, C, H, W)`` → ``mu, logvar`` each ``(B, latent_dim)``.
        - ``decode_logits``: ``(B, latent_dim)`` → ``(B, C, H, W)`` pre-sigmoid values.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        channels = (config.in_channels, *config.hidden_channels)
        down: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            down += [nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*down, nn.Flatten())
        stride = 2 ** len(config.hidden_channels)
        self.bottom_shape = (channels[-1], config.height // stride, config.width // stride)
        flat = math.prod(self.bottom_shape)
        # One linear layer emits mu and log sigma² together; splitting it keeps them aligned.
        self.to_posterior = nn.Linear(flat, 2 * config.latent_dim)
        self.from_latent = nn.Sequential(nn.Linear(config.latent_dim, flat), nn.ReLU())
        up: list[nn.Module] = []
        reversed_channels = channels[::-1]
        for i, (c_in, c_out) in enumerate(
            zip(reversed_channels[:-1], reversed_channels[1:], strict=True)
        ):
            up.append(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))
            if i < len(reversed_channels) - 2:  # no activation on the output logits
                up.append(nn.ReLU())
        self.decoder = nn.Sequential(*up)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The parameters of ``q(z | x)``. Shape: ``(B, C, H, W)`` → two ``(B, latent_dim)``."""
        check_images(x, self.config.image_shape, "the VAE")
        mu, logvar = self.to_posterior(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``, differentiable in mu and sigma."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Shape: ``(B, latent_dim)`` → ``(B, C, H, W)`` logits of the pixel means."""
        h = self.from_latent(z).view(-1, *self.bottom_shape)  # (B, C_last, H/s, W/s)
        return self.decoder(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Shape: ``(B, latent_dim)`` → ``(B, C, H, W)`` images in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x`` from the posterior mean (deterministic, for inspection)."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior ``N(0, I)``.

        The noise is drawn on the generator's device (the CPU by default) then moved, so a seed
        gives the same latents on every device. Shape: returns ``(n, C, H, W)`` in [0, 1].
        """
        if n <= 0:
            raise ProfondError(f"the number of samples must be positive, got {n}")
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        return self.decode(z.to(device))


def image_fields(bundle: Any, family: str) -> dict[str, Any]:
    """``in_channels``, ``height``, ``width`` of an image bundle; a clear error otherwise."""
    shape = tuple(bundle.input_shape)
    if len(shape) != 3:
        raise ProfondError(
            f"model {family!r} needs image data of shape (C, H, W); dataset "
            f"{bundle.name!r} has samples of shape {shape}"
        )
    return {"in_channels": shape[0], "height": shape[1], "width": shape[2]}


FAMILY = ModelFamily(
    name="vae",
    config_class=VAEConfig,
    module_class=VAE,
    task="vae",
    data_fields=lambda bundle: image_fields(bundle, "vae"),
    default_data="fashion-mnist",
    data_tasks=("classification",),
)
