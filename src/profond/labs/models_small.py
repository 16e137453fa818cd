"""Small model variants the families do not offer, for labs: a residual MLP.

Each factory has the ``factory(data, seed) -> nn.Module`` signature of
:func:`profond.labs.small_train.train`'s ``model`` argument.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class ResidualMLP(nn.Module):
    """A stem, ``depth − 1`` residual blocks ``h ← h + W·act(h)`` and a head.

    The blocks' weights start at zero, so that at initialization every block is the identity
    and the signal neither explodes nor vanishes with depth (the point of the skips). With
    ``skip=False`` the same layers form a plain stack ``h ← act(W·h)`` with He init.

    Args:
        in_features: flattened input size.
        num_classes: outputs.
        width: every hidden layer's width.
        depth: hidden layers in all (stem included).
        skip: residual connections on or off.
        batch_norm: BatchNorm1d before each activation.

    Shape:
        - Input: ``(B, *)`` with ``prod(*) == in_features``.
        - Output: ``(B, num_classes)`` logits.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        width: int,
        depth: int,
        skip: bool = True,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.skip = skip
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1))
        norm = (lambda: nn.BatchNorm1d(width)) if batch_norm else nn.Identity
        self.norms = nn.ModuleList(norm() for _ in range(depth))
        self.head = nn.Linear(width, num_classes)
        for layer in [self.stem, *self.blocks, self.head]:
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(0.0), nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        if skip:
            for block in self.blocks:
                assert isinstance(block, nn.Linear)  # the blocks built above
                nn.init.zeros_(block.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.flatten(1))
        if not self.skip:
            h = torch.relu(self.norms[0](h))
        for block, norm in zip(self.blocks, self.norms[1:], strict=True):
            if self.skip:
                h = h + block(torch.relu(norm(h)))  # pre-activation residual block
            else:
                h = torch.relu(norm(block(h)))
        return self.head(torch.relu(h) if self.skip else h)


def residual_mlp(width: int, depth: int, skip: bool = True, batch_norm: bool = False) -> Any:
    """A factory ``(data, seed) -> ResidualMLP`` sized from the data."""

    def build(data: Any, seed: int) -> ResidualMLP:
        torch.manual_seed(seed)
        return ResidualMLP(
            math.prod(data.input_shape), data.num_classes, width, depth, skip, batch_norm
        )

    return build
