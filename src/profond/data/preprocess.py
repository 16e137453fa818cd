"""How raw inputs become model inputs: the one transform shared by training, predict and serve."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

NORMALIZATIONS = ("minmax", "standard", "none")


@dataclass(frozen=True)
class Preprocessing:
    """Maps raw values (e.g. pixel intensities 0..255) to what the model was trained on.

    Args:
        raw_max: the largest raw value of the data (255 for IDX images, 16 for sklearn digits,
            1 when the data is already scaled).
        normalization: ``"minmax"`` divides by ``raw_max`` (to [0, 1]); ``"standard"`` does that
            then subtracts ``mean`` and divides by ``std`` (train-split statistics); ``"none"``
            leaves values as they are.
        mean: train-split mean after scaling to [0, 1] (used by ``"standard"``).
        std: train-split standard deviation after scaling (used by ``"standard"``).
    """

    raw_max: float = 1.0
    normalization: str = "minmax"
    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self) -> None:
        from profond.validation import check_choice, check_float

        check_choice("normalization", self.normalization, NORMALIZATIONS)
        check_float("raw_max", self.raw_max, positive=True)
        check_float("mean", self.mean)
        check_float("std", self.std, positive=True)

    def apply(self, x_raw: torch.Tensor) -> torch.Tensor:
        """Shape: any; returns float32 of the same shape."""
        x = x_raw.to(torch.float32)
        if self.normalization == "none":
            return x
        x = x / self.raw_max
        if self.normalization == "standard":
            x = (x - self.mean) / self.std
        return x

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`apply`: model inputs back to raw units."""
        if self.normalization == "none":
            return x
        if self.normalization == "standard":
            x = x * self.std + self.mean
        return x * self.raw_max

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        return cls(**d)
