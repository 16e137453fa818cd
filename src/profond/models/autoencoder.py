"""Autoencoders: an encoder squeezes an image into a small latent vector, a decoder rebuilds it.

Trained to reproduce their input (task ``reconstruction``), they learn a compressed code of the
data without labels, the first step from discriminative to generative models (course §44.4). With
``noise_std > 0`` the input is corrupted during training and the target stays clean: a denoising
autoencoder (Vincent et al., 2008), which must learn what images look like rather than copy pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.models.cnn import check_image_batch
from profond.models.registry import ModelFamily

VARIANTS = ("conv", "dense")
OUTPUT_ACTIVATIONS = ("sigmoid", "none")


@dataclass(frozen=True)
class AutoencoderConfig:
    in_channels: int = 1  # image channels; set from the data
    image_size: tuple[int, ...] = (28, 28)  # (H, W); set from the data
    variant: str = "conv"  # conv (strided convolutions) | dense (flattened MLP)
    latent_size: int = 16  # size of the code between encoder and decoder
    channels: tuple[int, ...] = (16, 32)  # conv variant: channels of each stride-2 convolution
    hidden_sizes: tuple[int, ...] = (
        256,
    )  # dense variant: encoder widths (mirrored in the decoder)
    noise_std: float = 0.0  # denoising: std of Gaussian noise added to training inputs (0: off)
    output_activation: str = "sigmoid"  # sigmoid for inputs in [0, 1] (minmax) | none

    def __post_init__(self) -> None:
        if self.in_channels <= 0:
            raise ValueError(
                f"expected positive in_channels. Received: in_channels={self.in_channels}"
            )
        if len(self.image_size) != 2 or any(s <= 0 for s in self.image_size):
            raise ValueError(
                f"expected image_size=(H, W), positive. Received: image_size={self.image_size}"
            )
        if self.variant not in VARIANTS:
            raise ValueError(
                f"expected variant in {', '.join(VARIANTS)}. Received: variant={self.variant!r}"
            )
        if self.latent_size <= 0:
            raise ValueError(
                f"expected a positive latent_size. Received: latent_size={self.latent_size}"
            )
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ValueError(
                f"expected positive channel counts. Received: channels={self.channels}"
            )
        if any(h <= 0 for h in self.hidden_sizes):
            raise ValueError(
                f"expected positive hidden sizes. Received: hidden_sizes={self.hidden_sizes}"
            )
        if self.noise_std < 0:
            raise ValueError(f"expected noise_std >= 0. Received: noise_std={self.noise_std}")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"expected output_activation in {', '.join(OUTPUT_ACTIVATIONS)}. "
                f"Received: output_activation={self.output_activation!r}"
            )


def _dense_coders(config: AutoencoderConfig) -> tuple[nn.Module, nn.Module]:
    """Flatten → Linear/ReLU stack → latent, and its mirror image back to ``(C, H, W)``."""
    in_features = config.in_channels * math.prod(config.image_size)
    widths = [in_features, *config.hidden_sizes]
    encoder: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        encoder += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    encoder.append(nn.Linear(widths[-1], config.latent_size))
    decoder: list[nn.Module] = []
    back = [config.latent_size, *reversed(config.hidden_sizes)]
    for a, b in zip(back[:-1], back[1:], strict=True):
        decoder += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    decoder += [
        nn.Linear(back[-1], in_features),
        nn.Unflatten(1, (config.in_channels, *config.image_size)),
    ]
    return nn.Sequential(*encoder), nn.Sequential(*decoder)


def _conv_coders(config: AutoencoderConfig) -> tuple[nn.Module, nn.Module]:
    """Stride-2 convolutions down to a small map → latent; transposed convolutions back up.

    Each transposed convolution gets the ``output_padding`` that restores the exact size of the
    encoder map it mirrors (odd sizes such as 7 lose a pixel when halved).
    """
    sizes = [tuple(config.image_size)]
    for _ in config.channels:
        sizes.append(tuple((s - 1) // 2 + 1 for s in sizes[-1]))  # a 3x3, stride 2, pad 1 conv
    encoder: list[nn.Module] = []
    width = config.in_channels
    for out_channels in config.channels:
        encoder += [nn.Conv2d(width, out_channels, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
        width = out_channels
    small = (width, *sizes[-1])
    encoder += [nn.Flatten(), nn.Linear(math.prod(small), config.latent_size)]
    decoder: list[nn.Module] = [
        nn.Linear(config.latent_size, math.prod(small)),
        nn.ReLU(inplace=True),
        nn.Unflatten(1, small),
    ]
    widths = [config.in_channels, *config.channels]
    for level in range(len(config.channels), 0, -1):
        target, source = sizes[level - 1], sizes[level]
        output_padding = (target[0] - (2 * source[0] - 1), target[1] - (2 * source[1] - 1))
        decoder.append(
            nn.ConvTranspose2d(
                widths[level],
                widths[level - 1],
                3,
                stride=2,
                padding=1,
                output_padding=output_padding,
            )
        )
        if level > 1:  # no ReLU on the output layer
            decoder.append(nn.ReLU(inplace=True))
    return nn.Sequential(*encoder), nn.Sequential(*decoder)


class Autoencoder(nn.Module):
    """Encoder → latent code → decoder, dense or convolutional.

    Args:
        config: an :class:`AutoencoderConfig`.

    Shape:
        - Input: ``(B, in_channels, H, W)`` with ``(H, W) == image_size``.
        - Latent (:meth:`encode`): ``(B, latent_size)``.
        - Output: ``(B, in_channels, H, W)`` reconstruction (in [0, 1] with the sigmoid output).
    """

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        build = _conv_coders if config.variant == "conv" else _dense_coders
        self.encoder, self.decoder = build(config)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Shape: ``(B, C, H, W)`` → ``(B, latent_size)``."""
        check_image_batch(x, (self.config.in_channels, *self.config.image_size))
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Shape: ``(B, latent_size)`` → ``(B, C, H, W)``."""
        if z.dim() != 2 or z.shape[1] != self.config.latent_size:
            raise ValueError(
                f"expected latent codes of shape (B, {self.config.latent_size}). Received: {tuple(z.shape)}"
            )
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.output_activation == "sigmoid" else out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The latent code, the representation other tools (drift, plots) look at."""
        return self.encode(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def _data_fields(bundle: Any) -> dict[str, Any]:
    shape = tuple(bundle.input_shape)
    if len(shape) != 3:
        from profond.errors import ProfondError

        raise ProfondError(
            f"dataset {bundle.name!r} has inputs of shape {shape}; autoencoders need (C, H, W) images"
        )
    return {"in_channels": shape[0], "image_size": shape[1:]}


FAMILY = ModelFamily(
    name="autoencoder",
    config_class=AutoencoderConfig,
    module_class=Autoencoder,
    task="reconstruction",
    data_fields=_data_fields,
    default_data="fashion-mnist",
    data_tasks=("classification",),
)
