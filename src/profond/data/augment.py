"""Data augmentation of image batches with plain tensor ops: random shifts (crops) and flips.

Each sample of a batch gets its own random shift and flip, drawn from ``generator`` (or from
torch's global generator, which the trainer seeds), so a seeded run augments identically. The
shift is a random crop of the image padded with zeros: the object moves by up to ``max_shift``
pixels, which teaches the translation invariance that convolution only approximates.

Augmentation is a training option: ``TrainConfig.augment`` names one of :data:`AUGMENTATIONS`
and the trainer applies it to every training batch of images, whatever the model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from profond.errors import ProfondError


def augment_batch(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    max_shift: int = 2,
    flip: bool = True,
) -> torch.Tensor:
    """Randomly shift and horizontally flip each image of a batch.

    Args:
        x: the images.
        generator: a CPU generator for the random draws; ``None`` uses torch's global one.
        max_shift: largest shift in pixels along each axis (0: no shift).
        flip: flip each image left-right with probability 1/2.

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, C, H, W)``, same dtype and device.

    Returns:
        A new tensor; ``x`` is left untouched.
    """
    if x.dim() != 4:
        raise ValueError(f"expected a batch of images (B, C, H, W). Received: {tuple(x.shape)}")
    if max_shift < 0:
        raise ValueError(f"expected max_shift >= 0. Received: max_shift={max_shift}")
    batch, _, height, width = x.shape
    if flip:
        flipped = torch.rand(batch, generator=generator) < 0.5
        x = torch.where(flipped.to(x.device)[:, None, None, None], x.flip(-1), x)
    if max_shift == 0:
        return x
    shifts = torch.randint(0, 2 * max_shift + 1, (2, batch), generator=generator).to(x.device)
    padded = nn.functional.pad(x, (max_shift,) * 4)  # (B, C, H + 2s, W + 2s), zeros outside
    rows = torch.arange(height, device=x.device)[None, :] + shifts[0][:, None]  # (B, H)
    cols = torch.arange(width, device=x.device)[None, :] + shifts[1][:, None]  # (B, W)
    index = torch.arange(batch, device=x.device)[:, None, None]
    # Advanced indexing over (batch, row, col) with the channel slice in between puts the
    # channel axis last: (B, H, W, C).
    cropped = padded[index, :, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()  # (B, C, H, W)


# name → a batch transform ``(x, generator) -> x`` of image batches ``(B, C, H, W)``.
AUGMENTATIONS: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "shift_flip": lambda x, generator: augment_batch(x, generator),
    "shift": lambda x, generator: augment_batch(x, generator, flip=False),
}


def get_augmentation(
    name: str,
) -> Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]:
    """The augmentation called ``name`` (a training option, ``TrainConfig.augment``)."""
    if name not in AUGMENTATIONS:
        raise ProfondError(
            f"unknown augmentation {name!r}; choose one of: {', '.join(AUGMENTATIONS)}"
        )
    return AUGMENTATIONS[name]
