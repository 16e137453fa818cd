"""A small Vision Transformer (Dosovitskiy et al., 2021) for 28×28 (or 8×8) images.

The image is cut into non-overlapping ``patch × patch`` squares; each is flattened and projected
to ``d_model`` (one strided convolution does both), a learned position vector is added, a class
token is prepended and the encoder blocks of :mod:`profond.models.transformer` mix the tokens.
The class token's final state feeds the head.

Unlike a CNN, nothing here says that neighbouring pixels belong together beyond the patch, or
that a pattern means the same wherever it sits: the model must learn it from data, which is why
a ViT needs more of it (see the ``cnn_vs_vit_small_data`` lab).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.errors import ProfondError
from profond.models.cnn import check_image_batch, check_image_fields
from profond.models.registry import ModelFamily
from profond.models.transformer import EncoderBlock

POSITIONALS = ("learned", "none")


@dataclass(frozen=True)
class ViTConfig:
    in_channels: int = 1  # image channels; set from the data
    image_size: tuple[int, ...] = (28, 28)  # (H, W); set from the data
    num_classes: int = 10  # output units; set from the data
    patch_size: int = 0  # side of each square patch; 0: the largest <= 7 giving >= 4 per side
    d_model: int = 64  # width of every token
    num_heads: int = 4  # attention heads
    num_layers: int = 2  # encoder blocks
    dim_feedforward: int = 128  # hidden width of each block's MLP
    dropout: float = 0.1  # on attention weights and after each sub-layer
    positional: str = "learned"  # learned position vectors | none (a bag of patches)

    def __post_init__(self) -> None:
        check_image_fields(self.in_channels, self.num_classes, self.image_size)
        if self.patch_size == 0:  # frozen: the resolved size is written once, here
            object.__setattr__(self, "patch_size", default_patch_size(tuple(self.image_size)))
        for name in ("patch_size", "d_model", "num_heads", "num_layers", "dim_feedforward"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"expected a positive integer. Received: {name}={getattr(self, name)}"
                )
        if any(side % self.patch_size for side in self.image_size):
            raise ValueError(
                f"expected patch_size to divide the image size. Received: patch_size="
                f"{self.patch_size}, image_size={tuple(self.image_size)}"
            )
        if self.d_model % self.num_heads:
            raise ValueError(
                "expected d_model divisible by num_heads. Received: "
                f"d_model={self.d_model}, num_heads={self.num_heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"expected 0 <= dropout < 1. Received: dropout={self.dropout}")
        if self.positional not in POSITIONALS:
            raise ValueError(
                f"expected positional in {', '.join(POSITIONALS)}. "
                f"Received: positional={self.positional!r}"
            )

    @property
    def num_patches(self) -> int:
        height, width = self.image_size
        return (height // self.patch_size) * (width // self.patch_size)


class PatchEmbedding(nn.Module):
    """Non-overlapping patches, each linearly projected to ``d_model``.

    A convolution with kernel = stride = patch is exactly "flatten each patch, then one shared
    linear map", in one call.

    Shape: ``(B, C, H, W)`` → ``(B, (H/p)(W/p), d_model)``, patches in row-major order.
    """

    def __init__(self, in_channels: int, patch_size: int, d_model: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(in_channels, d_model, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    """Patches → tokens (+ class token, + positions) → encoder blocks → head on the class token.

    Args:
        config: a :class:`ViTConfig`.

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, num_classes)`` logits.
    """

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        self.patches = PatchEmbedding(config.in_channels, config.patch_size, config.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.d_model))
        self.position = nn.Parameter(torch.zeros(1, config.num_patches + 1, config.d_model))
        nn.init.normal_(self.position, std=0.02)
        self.position.requires_grad_(config.positional == "learned")
        if config.positional == "none":
            nn.init.zeros_(self.position)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            EncoderBlock(config.d_model, config.num_heads, config.dim_feedforward, config.dropout)
            for _ in range(config.num_layers)
        )
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.num_classes)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Every token after the last block, and each block's attention weights.

        Shape: ``(B, C, H, W)`` → ``(B, 1 + P, D)`` (class token first) and
        ``num_layers × (B, h, 1 + P, 1 + P)``.
        """
        check_image_batch(x, (self.config.in_channels, *self.config.image_size))
        tokens = self.patches(x)  # (B, P, D)
        cls = self.cls_token.expand(len(x), -1, -1)  # (B, 1, D)
        hidden = self.dropout(torch.cat([cls, tokens], dim=1) + self.position)
        maps = []
        for block in self.blocks:
            hidden, weights = block(hidden)
            maps.append(weights)
        return self.norm(hidden), maps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The class token's final state. Shape: ``(B, C, H, W)`` → ``(B, d_model)``."""
        return self.encode(x)[0][:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Attention weights of every block. Shape: ``layers × (B, h, 1 + P, 1 + P)``."""
        return self.encode(x)[1]


def default_patch_size(image_size: tuple[int, ...]) -> int:
    """The largest patch of at most 7 pixels that divides both sides into at least 4 patches.

    28×28 → 7 (16 patches), 8×8 → 2 (16 patches), 32×32 → 4 (64 patches); 1 if none fits.
    """
    fits = [p for p in range(2, 8) if all(side % p == 0 and side // p >= 4 for side in image_size)]
    return max(fits, default=1)


def _data_fields(bundle: Any) -> dict[str, Any]:
    shape = tuple(bundle.input_shape)
    if len(shape) != 3:
        raise ProfondError(
            f"model 'vit' needs images of shape (C, H, W); dataset {bundle.name!r} has samples "
            f"of shape {shape}"
        )
    return {"in_channels": shape[0], "image_size": shape[1:], "num_classes": bundle.num_classes}


FAMILY = ModelFamily(
    name="vit",
    config_class=ViTConfig,
    module_class=VisionTransformer,
    task="classification",
    data_fields=_data_fields,
    default_data="fashion-mnist",
    data_tasks=("classification",),
    # Transformers like a warm-up then a decay; standard inputs as the MLP
    train_defaults={"schedule": "warmup_cosine", "epochs": 10},
    data_defaults={"normalization": "standard"},
)
